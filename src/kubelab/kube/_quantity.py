"""Quantities read from a cluster as plain numbers: ``cpu_cores("250000n")``, ``memory_bytes("512Mi")``.

The parsing is ``kubelab._quantity``'s; these wrappers return a ``Decimal``, ``float`` cores or ``int`` bytes
and accept what the API server and the metrics API write, nanocores (``250000n``) included.
"""

from __future__ import annotations

from decimal import Decimal

from kubelab import _quantity

__all__ = ["cpu_cores", "memory_bytes", "parse_quantity"]


def parse_quantity(value: str | int | float) -> Decimal:
    """The exact value of a Kubernetes quantity.

    Raises:
        ValueError: a ``QuantityError`` saying what is wrong, for anything Kubernetes would reject.
    """
    return _quantity.parse_quantity(value).value


def cpu_cores(value: str | int | float) -> float:
    """CPU quantity in cores (``500m`` → 0.5, ``250000n`` → 0.00025)."""
    return float(parse_quantity(value))


def memory_bytes(value: str | int | float) -> int:
    """Memory quantity in bytes (``512Mi`` → 536870912, ``1G`` → 10**9)."""
    return int(parse_quantity(value))
