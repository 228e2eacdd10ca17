from __future__ import annotations

import pytest

from kubelab.kube import cpu_cores, memory_bytes


@pytest.mark.parametrize(("text", "cores"), [("500m", 0.5), ("2", 2.0), ("250000n", 0.00025), ("1.5", 1.5),
                                             ("100u", 0.0001), (3, 3.0)])
def test_cpu(text: str, cores: float) -> None:
    assert cpu_cores(text) == pytest.approx(cores)


@pytest.mark.parametrize(("text", "size"), [("512Mi", 512 << 20), ("1Gi", 1 << 30), ("1G", 10**9),
                                            ("64Ki", 65536), ("1e3", 1000), ("128974848", 128974848)])
def test_memory(text: str, size: int) -> None:
    assert memory_bytes(text) == size


@pytest.mark.parametrize("text", ["12GB", "1 Gi x", "", "Mi"])
def test_invalid(text: str) -> None:
    with pytest.raises(ValueError, match="is not a Kubernetes quantity \\(examples: 500m, 2, 512Mi, 1Gi\\)"):
        memory_bytes(text)
