from __future__ import annotations

from decimal import Decimal

import pytest

from kubelab.lab import QuantityError, format_bytes, parse_cpu, parse_memory, parse_quantity


@pytest.mark.parametrize(("text", "value"), [
    ("1", Decimal(1)), (2, Decimal(2)), (0.5, Decimal("0.5")), ("500m", Decimal("0.5")), (".5", Decimal("0.5")),
    ("5.", Decimal(5)), ("+1", Decimal(1)), ("1k", Decimal(1000)), ("1Ki", Decimal(1024)),
    ("1.5Gi", Decimal(1610612736)), ("1.4G", Decimal(1400000000)), ("1e3", Decimal(1000)),
    ("1E3", Decimal(1000)), ("1e-3", Decimal("0.001")), ("1E", Decimal(10**18)), ("2Ei", Decimal(2 * 2**60)),
    ("0", Decimal(0)),
])
def test_kubernetes_grammar(text: object, value: Decimal) -> None:
    assert parse_quantity(text).value == value


@pytest.mark.parametrize(("text", "message", "hint"), [
    ("1GB", "'1GB' is not a Kubernetes quantity", "write 1G (Kubernetes suffixes"),
    ("2gi", "'2gi' is not a Kubernetes quantity", "write 2Gi"),
    ("512MiB", "'512MiB' is not a Kubernetes quantity", "write 512Mi"),
    ("1 Gi", "'1 Gi' is not a Kubernetes quantity", None),
    ("1e", "'1e' is not a Kubernetes quantity", None),
    ("1.2.3", "'1.2.3' is not a Kubernetes quantity", None),
    ("", "'' is not a Kubernetes quantity", None),
    ("Gi", "'Gi' is not a Kubernetes quantity", None),
    (" 1", "' 1' is not a Kubernetes quantity", None),
    ("-1", "'-1' is negative", "resources must be zero or more"),
    ("1e400", "'1e400' is too large for Kubernetes", "quantities are at most 2^63-1"),
    ("10Ei", "'10Ei' is too large for Kubernetes", "quantities are at most 2^63-1"),
])
def test_rejects_what_kubernetes_rejects(text: str, message: str, hint: str | None) -> None:
    with pytest.raises(QuantityError) as info:
        parse_quantity(text)
    assert str(info.value) == message
    if hint:
        assert info.value.hint is not None and info.value.hint.startswith(hint)


def test_not_a_scalar() -> None:
    for raw in (True, [1], {"a": 1}, None):
        with pytest.raises(QuantityError, match="expected a quantity such as 500m, 2 or 1Gi"):
            parse_quantity(raw)


def test_cpu_precision_is_one_millicore() -> None:
    assert parse_cpu("1m").value == Decimal("0.001")
    with pytest.raises(QuantityError, match=r"'0.5m' is finer than 1m"):
        parse_cpu("0.5m")
    with pytest.raises(QuantityError, match=r"'0.0001' is finer than 1m"):
        parse_cpu(0.0001)


def test_memory_is_whole_bytes() -> None:
    assert parse_memory("2000m").value == 2  # legal, if odd: two bytes
    with pytest.raises(QuantityError) as info:
        parse_memory("500m")
    assert str(info.value) == "'500m' is a fractional number of bytes"
    assert info.value.hint == "did you mean 500M or 500Mi? ('m' means milli, a thousandth of a byte)"


def test_format_bytes_rounds_down() -> None:
    assert format_bytes(936 * 2**20) == "936Mi"
    assert format_bytes(1436 * 2**20) == "1.4Gi"    # 1.40234375 Gi
    assert format_bytes(2 * 2**30) == "2Gi"
    assert format_bytes(2472 * 2**20) == "2.41Gi"   # 2.4140625 Gi
    assert format_bytes(2.419 * 2**30) == "2.41Gi"  # not rounded up past the real value
    assert format_bytes(512) == "512"
