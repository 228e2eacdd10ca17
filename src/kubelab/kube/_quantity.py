"""Kubernetes resource quantities (``500m``, ``1.5``, ``250n``, ``512Mi``, ``1G``, ``1e3``) as numbers."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["cpu_cores", "memory_bytes", "parse_quantity"]

_SUFFIX = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9, "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


def parse_quantity(value: str | int | float) -> Decimal:
    """The value of a Kubernetes quantity; raises ValueError for anything Kubernetes would reject."""
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _QUANTITY.match(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 500m, 2, 512Mi, 1Gi)")
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2) or ""]
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
        raise ValueError(f"{value!r} is not a Kubernetes quantity") from exc


def cpu_cores(value: str | int | float) -> float:
    """CPU quantity in cores (``500m`` → 0.5, ``250000n`` → 0.00025)."""
    return float(parse_quantity(value))


def memory_bytes(value: str | int | float) -> int:
    """Memory quantity in bytes (``512Mi`` → 536870912, ``1G`` → 10**9)."""
    return int(parse_quantity(value))
