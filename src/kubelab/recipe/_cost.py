"""What reserved CPU and memory cost, priced like OpenCost: a price per core-hour and per GiB-hour.

A recipe pays for what its pods *request* while they exist (the scheduler sets that much aside on a
node), whatever they use. By default the unit prices are those of a DigitalOcean ``s-2vcpu-2gb-amd``
node (2 vCPU, 2 GiB; the node pool of field report 000) in kubelab's price catalog
(``kubelab/lab/prices.yaml``: list prices with their source and date), its price split between its cores
and GiB the way OpenCost does (``kubelab.lab.unit_prices``). ``--price-catalog FILE`` sets your own prices,
in either of two layouts (YAML or JSON). Unit prices::

    currency: USD
    cpu_core_hour: 0.031611     # price of one requested core for one hour
    memory_gib_hour: 0.004237   # price of one requested GiB for one hour
    source: OpenCost default custom pricing

or kubelab's price catalog, as ``kubelab lab cost --prices`` reads it: laid over the shipped catalog, whose
default node it prices (``providers: {digitalocean: {sizes: {prices: {s-2vcpu-2gb-amd: {monthly: 19}}}}}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kubelab import _yamlfile
from kubelab.errors import Problem, SpecError

__all__ = ["DEFAULT_PROVIDER", "DEFAULT_SIZE", "UnitPrices", "catalog_prices", "load_prices"]


@dataclass(frozen=True)
class UnitPrices:
    """Prices of reserved resources."""

    cpu_core_hour: float
    memory_gib_hour: float
    currency: str = "USD"
    source: str = ""

    def cost(self, cpu_core_hours: float, memory_gib_hours: float) -> float:
        """Price of the given reserved core-hours and GiB-hours."""
        return cpu_core_hours * self.cpu_core_hour + memory_gib_hours * self.memory_gib_hour


DEFAULT_PROVIDER = "digitalocean"
"""The provider whose node prices the default unit prices."""
DEFAULT_SIZE = "s-2vcpu-2gb-amd"
"""The node size whose price the default unit prices come from (seed 000's node pool)."""
_CATALOG_KEYS = ("providers", "hours_per_month")


def catalog_prices(path: str | Path | None = None) -> UnitPrices:
    """Unit prices of a ``DEFAULT_SIZE`` node in kubelab's price catalog (with the file at ``path`` over it).

    Raises:
        SpecError: the catalog file is missing, not YAML/JSON or has wrong keys or values (with positions).
    """
    from kubelab.lab import load_prices as load_catalog
    from kubelab.lab import unit_prices

    catalog = load_catalog(path)
    cpu, gib = unit_prices(catalog, DEFAULT_PROVIDER, DEFAULT_SIZE)
    found = catalog.providers[DEFAULT_PROVIDER].size(DEFAULT_SIZE)
    listed = f" ({found[1].source}, {found[1].date})" if found else ""
    source = f"kubelab price catalog: {DEFAULT_PROVIDER} {DEFAULT_SIZE} list price{listed}, split the OpenCost way"
    return UnitPrices(cpu, gib, "USD", source)


def load_prices(path: str | Path | None = None) -> UnitPrices:
    """Read a price file in either layout (module docstring); without one, the default unit prices.

    Every problem is reported with its location.

    Raises:
        SpecError: missing file, not YAML/JSON, unknown keys, missing or non-positive prices.
    """
    if path is None:
        return catalog_prices()
    data, loc = _yamlfile.load(path)
    if isinstance(data, dict) and any(key in data for key in _CATALOG_KEYS):
        return catalog_prices(path)
    if not isinstance(data, dict):
        raise SpecError([loc.problem((), "expected a mapping with cpu_core_hour and memory_gib_hour")])
    allowed = ("cpu_core_hour", "memory_gib_hour", "currency", "source")
    problems: list[Problem] = []
    for key in data:
        if key not in allowed:
            problems.append(
                loc.problem((str(key),), "unknown key", _yamlfile.did_you_mean(str(key), allowed), key=True)
            )
    prices: dict[str, float] = {}
    for key in ("cpu_core_hour", "memory_gib_hour"):
        value = data.get(key)
        if key not in data:
            problems.append(loc.problem((key,), "is missing", "a price per unit-hour, e.g. 0.0089", key=True))
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            problems.append(loc.problem((key,), f"must be a number >= 0, not {value!r}"))
        else:
            prices[key] = float(value)
    if problems:
        raise SpecError(problems)
    return UnitPrices(
        prices["cpu_core_hour"],
        prices["memory_gib_hour"],
        str(data.get("currency", "USD")),
        str(data.get("source", path)),
    )
