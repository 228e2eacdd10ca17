"""The allocatable model against hand computation from the documented formulas (docs/lab.md)."""

from __future__ import annotations

import pytest

import kubelab.lab
from kubelab.lab import load_sizes
from kubelab.lab._capacity import tiered_cpu_reserve, tiered_memory_reserve

MI, GI = 2**20, 2**30


@pytest.mark.parametrize(("memory", "reserved"), [
    (512 * MI, 255 * MI),                                  # below 1Gi: 255Mi flat
    (2 * GI, 512 * MI),                                    # 25 % of 2Gi
    (4 * GI, 1 * GI),                                      # 25 % of 4Gi
    (8 * GI, int(1 * GI + 0.2 * 4 * GI)),                  # + 20 % of the next 4Gi = 1843.2Mi
    (16 * GI, int(1 * GI + 0.8 * GI + 0.8 * GI)),          # + 10 % of the next 8Gi
    (256 * GI, int(1 * GI + 0.8 * GI + 0.8 * GI + 0.06 * 112 * GI + 0.02 * 128 * GI)),
])
def test_tiered_memory_reserve(memory: int, reserved: int) -> None:
    assert tiered_memory_reserve(memory) == reserved


@pytest.mark.parametrize(("cores", "reserved"), [
    (1, 0.06), (2, 0.07), (4, 0.08), (8, 0.09), (0.5, 0.03),
])
def test_tiered_cpu_reserve(cores: float, reserved: float) -> None:
    assert tiered_cpu_reserve(cores) == pytest.approx(reserved)


def test_a_2gb_node_leaves_about_1_4_gib() -> None:
    cap = load_sizes().capacity("digitalocean", "s-2vcpu-2gb")
    assert cap is not None
    assert cap.allocatable_memory == (2048 - 512 - 100) * MI   # 1436Mi = 1.40Gi
    assert cap.free_memory == 936 * MI                        # after 500Mi of DigitalOcean system pods
    assert cap.free_cpu == pytest.approx(2 - 0.07 - 0.3)
    assert cap.explain_memory() == ("each s-2vcpu-2gb node has 2Gi, minus 512Mi kube-reserved, 100Mi eviction "
                                    "threshold and 500Mi of system pods: 936Mi left for pods")


def test_eks_reserve_counts_max_pods() -> None:
    cap = load_sizes().capacity("eks", "m5.large")   # 29 pods: 255 + 11 x 29 = 574Mi
    assert cap is not None and cap.reserved_memory == 574 * MI
    assert cap.allocatable_memory == (8192 - 574 - 100) * MI


def test_generic_sizes_are_read_from_their_name() -> None:
    sizes = load_sizes()
    size = sizes.size("generic", "8cpu-32Gi-2xnvidia-l4")
    assert size is not None and (size.cpu, size.memory, size.gpus, size.gpu_type) == (8, 32 * GI, 2, "nvidia-l4")
    assert sizes.size("generic", "big") is None
    assert sizes.size("digitalocean", "8cpu-32Gi") is None


def test_smallest_fitting_prefers_the_same_family() -> None:
    sizes = load_sizes()
    assert sizes.smallest_fitting("digitalocean", 0.5, GI, "s-2vcpu-2gb-amd") == "s-2vcpu-4gb-amd"
    assert sizes.smallest_fitting("digitalocean", 4, GI, "c-4") == "c-8"
    assert sizes.smallest_fitting("digitalocean", 64, GI, "c-4") is None


def test_every_catalog_size_leaves_room_or_is_tiny() -> None:
    sizes = load_sizes()
    for provider, table in sizes.sizes.items():
        for name, size in table.items():
            cap = sizes.capacity(provider, name)
            assert cap is not None
            assert cap.free_memory > 0 or size.memory <= GI, (provider, name)


def test_public_names_resolve() -> None:
    for name in kubelab.lab.__all__:
        assert getattr(kubelab.lab, name) is not None, name
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        kubelab.lab.nope  # noqa: B018
