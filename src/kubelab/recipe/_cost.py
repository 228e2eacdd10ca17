"""What reserved CPU and memory cost, priced like OpenCost: a price per core-hour and per GiB-hour.

A recipe pays for what its pods *request* while they exist (the scheduler sets that much aside on a
node), whatever they use. The default unit prices are derived from DigitalOcean's Basic Droplet list
prices (s-2vcpu-2gb $18/month, s-2vcpu-4gb $24/month, s-4vcpu-8gb $48/month; a month bills at most
672 hours): 2 GB more for $6 gives $3 per GB-month, leaving $6 per vCPU-month; that is
$0.00893/core-hour and $0.00446/GiB-hour (GB taken as GiB). They were written down from the public price
page as known when this was built; pass ``--price-catalog`` with your own prices.

A price catalog file (YAML or JSON)::

    currency: USD
    cpu_core_hour: 0.031611     # price of one requested core for one hour
    memory_gib_hour: 0.004237   # price of one requested GiB for one hour
    source: OpenCost default custom pricing
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kubelab import _yamlfile
from kubelab.errors import Problem, SpecError

__all__ = ["DEFAULT_PRICES", "UnitPrices", "load_prices"]


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


DEFAULT_PRICES = UnitPrices(
    cpu_core_hour=6.0 / 672,
    memory_gib_hour=3.0 / 672,
    currency="USD",
    source="derived from DigitalOcean Basic Droplet list prices (s-2vcpu-2gb $18/mo, s-2vcpu-4gb $24/mo, 672 h/mo)",
)


def load_prices(path: str | Path) -> UnitPrices:
    """Read a price catalog file (module docstring); every problem is reported with its location.

    Raises:
        SpecError: missing file, not YAML/JSON, unknown keys, missing or non-positive prices.
    """
    data, loc = _yamlfile.load(path)
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
