"""Kubernetes resource quantities (``500m``, ``1.5``, ``1Gi``, ``1.4G``, ``2e3``) read exactly.

The grammar is the one of ``k8s.io/apimachinery/pkg/api/resource`` (``quantity.go``)::

    <quantity>        ::= <signedNumber><suffix>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
    <signedNumber>    ::= <sign><number> | <number>
    <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>

As in Kubernetes, ``1E`` is 10^18 (exa), not an exponent, and YAML numbers (``cpu: 2``, ``cpu: 0.5``) are
quantities too. Beyond the grammar, kubelab refuses what the API server rejects or warns about for pod
resources: negative values, CPU finer than ``1m``, and memory that is not a whole number of bytes
(``memory: 500m`` is half a byte, almost always a typo for ``500M`` or ``500Mi``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["Quantity", "QuantityError", "format_bytes", "parse_cpu", "parse_memory", "parse_quantity"]

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"m": Decimal("0.001"), "": Decimal(1), "k": Decimal(10**3), "M": Decimal(10**6),
            "G": Decimal(10**9), "T": Decimal(10**12), "P": Decimal(10**15), "E": Decimal(10**18)}
_MAX = Decimal(2**63 - 1)
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)"
_RE = re.compile(rf"^(?P<num>{_NUMBER})(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE]|[eE][+-]?\d+)?$")
_COMMON_MISTAKES = {"K": "k", "KB": "k", "kb": "k", "MB": "M", "mb": "M", "GB": "G", "gb": "G", "TB": "T",
                    "KiB": "Ki", "MiB": "Mi", "GiB": "Gi", "TiB": "Ti", "mi": "Mi", "gi": "Gi", "g": "G"}


class QuantityError(ValueError):
    """A value Kubernetes would reject as a quantity; ``hint`` says what to write instead."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Quantity:
    """A parsed quantity: ``text`` as written, ``value`` exactly (cores for CPU, bytes for memory)."""

    text: str
    value: Decimal

    def __str__(self) -> str:
        return self.text

    def __float__(self) -> float:
        return float(self.value)


def parse_quantity(raw: Any) -> Quantity:
    """Parse a Kubernetes quantity (string, int or float) into its exact value.

    Raises:
        QuantityError: the text does not follow the Kubernetes grammar or is negative.
    """
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise QuantityError(f"expected a quantity such as 500m, 2 or 1Gi, got {type(raw).__name__}")
    text = raw if isinstance(raw, str) else repr(raw)
    match = _RE.match(text.strip())
    if match is None or text != text.strip():
        raise QuantityError(f"'{text}' is not a Kubernetes quantity", _mistake_hint(text))
    number, suffix = match["num"], match["suffix"] or ""
    try:
        value = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        raise QuantityError(f"'{text}' is not a Kubernetes quantity") from None
    if suffix in _BINARY:
        value *= _BINARY[suffix]
    elif suffix in _DECIMAL:
        value *= _DECIMAL[suffix]
    else:
        value = value.scaleb(int(suffix[1:]))
    if value < 0:
        raise QuantityError(f"'{text}' is negative", "resources must be zero or more")
    if value > _MAX:
        raise QuantityError(f"'{text}' is too large for Kubernetes", "quantities are at most 2^63-1")
    return Quantity(text, value)


def _mistake_hint(text: str) -> str:
    m = re.match(rf"^\s*({_NUMBER})\s*([A-Za-z]+)\s*$", text)
    if m and m[2] in _COMMON_MISTAKES:
        return f"write {m[1]}{_COMMON_MISTAKES[m[2]]} (Kubernetes suffixes: m, k, M, G, T, Ki, Mi, Gi, Ti)"
    return "a number with an optional suffix: m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exponent>"


def parse_cpu(raw: Any) -> Quantity:
    """A CPU quantity in cores (``500m`` = 0.5); finer than ``1m`` is refused as Kubernetes does."""
    q = parse_quantity(raw)
    if q.value != 0 and (q.value * 1000) % 1 != 0:
        raise QuantityError(f"'{q.text}' is finer than 1m (a thousandth of a core)",
                            "Kubernetes CPU precision is 1m; round it, e.g. 100m")
    return q


def parse_memory(raw: Any) -> Quantity:
    """A memory quantity in bytes; it must be a whole number of bytes (``500m`` is half a byte)."""
    q = parse_quantity(raw)
    if q.value % 1 != 0:
        guess = q.text[:-1] if q.text.endswith("m") else q.text
        raise QuantityError(f"'{q.text}' is a fractional number of bytes",
                            f"did you mean {guess}M or {guess}Mi? ('m' means milli, a thousandth of a byte)"
                            if q.text.endswith("m") else "memory must be a whole number of bytes")
    return q


def format_bytes(value: float | Decimal) -> str:
    """Bytes as a short binary quantity a user can paste back, rounded down: ``1436Mi``, ``2.41Gi``."""
    v = float(value)
    for suffix, scale in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if v >= scale:
            if suffix in ("Mi", "Ki"):
                return f"{int(v // scale)}{suffix}"
            hundredths = int(v * 100 // scale)
            return f"{hundredths / 100:.2f}".rstrip("0").rstrip(".") + suffix
    return str(int(v))
