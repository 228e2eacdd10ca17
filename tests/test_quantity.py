"""The one quantity parser (kubelab._quantity) and the names kube and lab give it."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from kubelab import kube, lab
from kubelab._quantity import PATTERN, QuantityError, format_bytes, parse_cpu, parse_memory, parse_quantity


@pytest.mark.parametrize(("text", "value"), [
    ("1", Decimal(1)), (2, Decimal(2)), (0.5, Decimal("0.5")), ("500m", Decimal("0.5")), (".5", Decimal("0.5")),
    ("5.", Decimal(5)), ("+1", Decimal(1)), ("1k", Decimal(1000)), ("1Ki", Decimal(1024)),
    ("1.5Gi", Decimal(1610612736)), ("1.4G", Decimal(1400000000)), ("1e3", Decimal(1000)),
    ("1E3", Decimal(1000)), ("1e-3", Decimal("0.001")), ("1E", Decimal(10**18)), ("2Ei", Decimal(2 * 2**60)),
    ("0", Decimal(0)), ("250000n", Decimal("0.00025")), ("100u", Decimal("0.0001")), ("64Ki", Decimal(65536)),
    ("128974848", Decimal(128974848)),
])
def test_kubernetes_grammar(text: object, value: Decimal) -> None:
    assert parse_quantity(text).value == value


@pytest.mark.parametrize(("text", "message", "hint"), [
    ("1GB", "'1GB' is not a Kubernetes quantity", "write 1G (Kubernetes suffixes"),
    ("2gi", "'2gi' is not a Kubernetes quantity", "write 2Gi"),
    ("512MiB", "'512MiB' is not a Kubernetes quantity", "write 512Mi"),
    ("12GB", "'12GB' is not a Kubernetes quantity", "write 12G"),
    ("1 Gi", "'1 Gi' is not a Kubernetes quantity", None),
    ("1 Gi x", "'1 Gi x' is not a Kubernetes quantity", None),
    ("1e", "'1e' is not a Kubernetes quantity", None),
    ("1.2.3", "'1.2.3' is not a Kubernetes quantity", None),
    ("", "'' is not a Kubernetes quantity", None),
    ("Gi", "'Gi' is not a Kubernetes quantity", None),
    ("Mi", "'Mi' is not a Kubernetes quantity", None),
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


@pytest.mark.parametrize(("text", "accepted"), [
    ("1", True), ("+.5", True), ("5.", True), ("250000n", True), ("100u", True), ("1.5Gi", True), ("2e-3", True),
    ("1E", True), ("-1", False), ("1GB", False), ("2gi", False), ("1 Gi", False), ("1e", False), ("", False),
    ("Gi", False), ("1.2.3", False), ("1Gi1", False),
])
def test_schema_pattern_is_the_grammar(text: str, accepted: bool) -> None:
    assert (re.fullmatch(PATTERN, text) is not None) is accepted
    if accepted:
        parse_quantity(text)
    else:
        with pytest.raises(QuantityError):
            parse_quantity(text)


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
    with pytest.raises(QuantityError, match=r"'250000n' is finer than 1m"):  # metrics usage, not a request
        parse_cpu("250000n")
    assert parse_cpu("1000000n").value == Decimal("0.001")


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


@pytest.mark.parametrize(("text", "cores"), [("500m", 0.5), ("2", 2.0), ("250000n", 0.00025), ("1.5", 1.5),
                                             ("100u", 0.0001), (3, 3.0)])
def test_kube_cpu_cores(text: str | int, cores: float) -> None:
    assert kube.cpu_cores(text) == pytest.approx(cores)


@pytest.mark.parametrize(("text", "size"), [("512Mi", 512 << 20), ("1Gi", 1 << 30), ("1G", 10**9), ("1e3", 1000)])
def test_kube_memory_bytes(text: str, size: int) -> None:
    assert kube.memory_bytes(text) == size


def test_kube_parse_quantity_is_exact_and_refuses_as_a_value_error() -> None:
    assert kube.parse_quantity("1.5Gi") == Decimal(1610612736)
    with pytest.raises(ValueError, match="'12GB' is not a Kubernetes quantity"):
        kube.memory_bytes("12GB")


def test_lab_exports_the_shared_parser() -> None:
    from kubelab.lab import _quantity as lab_quantity

    assert (lab.parse_quantity, lab.parse_cpu, lab.QuantityError) == (parse_quantity, parse_cpu, QuantityError)
    assert lab_quantity.parse_memory is parse_memory
