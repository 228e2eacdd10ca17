"""The price catalog (``prices.yaml``): list prices with their source and date, user overrides, unit prices.

``load_prices(path)`` reads the shipped catalog and, given a path, lays the user's file over it (only the
keys it has). ``unit_prices(catalog, provider, size)`` splits a node's hourly price into a price per
CPU-core hour and per GiB hour, the way OpenCost does: in proportion to reference prices of a core and a
GiB (OpenCost's defaults, $0.031611 per core hour and $0.004237 per GiB hour).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kubelab._yamlfile import load
from kubelab.errors import KubelabError, SpecError
from kubelab.lab._capacity import GI, load_sizes
from kubelab.lab._loader import translate
from kubelab.lab._types import FieldError

__all__ = ["Price", "PriceCatalog", "ProviderPrices", "load_prices", "unit_prices"]

REFERENCE_CPU_HOUR = 0.031611
"""OpenCost's default price of a CPU core hour, used only for the CPU/memory split of a node's price."""
REFERENCE_GIB_HOUR = 0.004237
"""OpenCost's default price of a GiB hour, used only for the CPU/memory split of a node's price."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Price(_Model):
    """A list price, ``hourly`` or ``monthly`` (USD)."""

    hourly: float | None = Field(default=None, ge=0)
    monthly: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one(self) -> Price:
        if (self.hourly is None) == (self.monthly is None):
            raise FieldError("give hourly or monthly (one of them)", "e.g. {monthly: 18} or {hourly: 0.134}")
        return self

    def per_month(self, hours: float) -> float:
        """USD for a month of ``hours`` hours."""
        return self.monthly if self.monthly is not None else (self.hourly or 0.0) * hours

    def per_hour(self, hours: float) -> float:
        """USD per hour (a monthly price spread over ``hours``)."""
        return self.hourly if self.hourly is not None else (self.monthly or 0.0) / hours


class _Group(_Model):
    source: str = Field(min_length=1)
    date: dt.date


class SizePrices(_Group):
    """Prices of machine types, from one source on one date."""

    prices: dict[str, Price]


class Fees(_Group):
    """Cluster fees: control plane (and its HA variant), a load balancer, a GiB of volume."""

    control_plane: Price
    ha_control_plane: Price
    load_balancer: Price
    volume_gib: Price


class Spot(_Group):
    """The typical spot discount (fraction off on-demand), and spot prices of sizes where known."""

    discount: float = Field(ge=0, lt=1)
    prices: dict[str, Price] = Field(default_factory=dict)


class ProviderPrices(_Model):
    """Everything priced for one provider."""

    sizes: SizePrices
    gpu_sizes: SizePrices | None = None
    fees: Fees
    spot: Spot

    def size(self, name: str) -> tuple[Price, SizePrices] | None:
        """The on-demand price of a size and the group (source, date) it comes from."""
        for group in (self.sizes, self.gpu_sizes):
            if group is not None and name in group.prices:
                return group.prices[name], group
        return None


class PriceCatalog(_Model):
    """The whole catalog: ``hours_per_month`` and prices per provider."""

    hours_per_month: float = Field(default=730, gt=0)
    providers: dict[str, ProviderPrices]

    def node_month(self, provider: str, size: str, spot: bool = False) -> float | None:
        """USD for one node of ``size`` for a month (spot: the size's spot price or the discount)."""
        prices = self.providers.get(provider)
        found = prices.size(size) if prices else None
        if prices is None or found is None:
            return None
        if spot:
            if size in prices.spot.prices:
                return prices.spot.prices[size].per_month(self.hours_per_month)
            return found[0].per_month(self.hours_per_month) * (1 - prices.spot.discount)
        return found[0].per_month(self.hours_per_month)


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in over.items()}}
    return over


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Any]:
    text = resources.files("kubelab.lab").joinpath("prices.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return data


def load_prices(path: str | Path | None = None) -> PriceCatalog:
    """The shipped catalog, with the file at ``path`` (same layout, any subset of keys) laid over it.

    Raises:
        SpecError: the override file is missing, not YAML, or has wrong keys or values (with positions).
    """
    if path is None:
        return _shipped_catalog()
    data, loc = load(path)
    if not isinstance(data, dict):
        raise SpecError([loc.problem((), "expected a price catalog (a mapping)",
                                     "same layout as kubelab/lab/prices.yaml: providers: {gke: {sizes: …}}")])
    try:
        return PriceCatalog.model_validate(_merge(_shipped(), data))
    except ValidationError as exc:
        raise SpecError(translate(exc, loc, PriceCatalog)) from None


@lru_cache(maxsize=1)
def _shipped_catalog() -> PriceCatalog:
    return PriceCatalog.model_validate(_shipped())


def unit_prices(catalog: PriceCatalog, provider: str, size: str, *, spot: bool = False) -> tuple[float, float]:
    """USD per CPU-core hour and per GiB hour of a ``size`` node, for pricing reserved CPU and memory.

    The node's hourly price is split between its cores and its GiB in proportion to OpenCost's reference
    prices (``REFERENCE_CPU_HOUR``, ``REFERENCE_GIB_HOUR``), so ``cores × cpu + GiB × gib`` is the node's
    price. GPU nodes are split the same way (the GPU is priced into its cores and memory).

    Raises:
        KubelabError: the size is unknown to the size catalog, or has no price.
    """
    node = load_sizes().size(provider, size)
    month = catalog.node_month(provider, size, spot)
    if node is None or month is None:
        raise KubelabError(f"no price for {provider} size '{size}'; add it with --prices FILE")
    hourly = month / catalog.hours_per_month
    gib = node.memory / GI
    weight = node.cpu * REFERENCE_CPU_HOUR + gib * REFERENCE_GIB_HOUR
    return hourly * REFERENCE_CPU_HOUR / weight, hourly * REFERENCE_GIB_HOUR / weight
