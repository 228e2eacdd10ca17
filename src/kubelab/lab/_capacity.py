"""What a node can give to pods: size catalog, provider reserve, eviction threshold and system pods.

The model (docs/lab.md, "The capacity model")::

    capacity      = the machine's vCPUs and memory (sizes.yaml)
    allocatable   = capacity - kube-reserved (provider formula) - eviction threshold (memory only)
    free for pods = allocatable - requests of the provider's per-node system pods (DaemonSets)

A pod fits a node when its requests fit ``free``; a limit above ``allocatable`` can never be used (the pod is
evicted or OOM-killed first). With the GKE tiers a 2 GiB node keeps 2048 - 512 - 100 = 1436Mi allocatable
(about 1.4 GiB), and after DigitalOcean's system pods (500Mi) 936Mi for user pods: JupyterHub's default 1G
guarantee (10^9 bytes = 954Mi) does not fit, as seed 000 found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from kubelab.lab._quantity import format_bytes, parse_cpu, parse_memory

__all__ = [
    "NodeCapacity",
    "NodeSize",
    "ProviderModel",
    "SizeCatalog",
    "load_sizes",
    "tiered_cpu_reserve",
    "tiered_memory_reserve",
]

MI = 2**20
GI = 2**30
_GENERIC = re.compile(
    r"^(?P<cpu>\d+(?:\.\d+)?)cpu-(?P<mem>\d+(?:\.\d+)?(?:Gi|Mi))(?:-(?P<n>\d+)x(?P<gpu>[a-z0-9-]+))?$")


def tiered_memory_reserve(memory: int) -> int:
    """kube-reserved memory in bytes by GKE's tiers (255Mi below 1Gi, then 25/20/10/6/2 %)."""
    if memory < GI:
        return 255 * MI
    tiers = ((0, 4 * GI, 0.25), (4 * GI, 8 * GI, 0.20), (8 * GI, 16 * GI, 0.10), (16 * GI, 128 * GI, 0.06),
             (128 * GI, None, 0.02))
    reserved = 0.0
    for lower, upper, share in tiers:
        if memory > lower:
            reserved += ((memory if upper is None else min(memory, upper)) - lower) * share
    return int(reserved)


def tiered_cpu_reserve(cores: float) -> float:
    """kube-reserved CPU in cores by GKE's tiers (6 % of the first core, 1 %, 0.5 % of the next 2, 0.25 %)."""
    reserved = 0.0
    for lower, upper, share in ((0, 1, 0.06), (1, 2, 0.01), (2, 4, 0.005), (4, float("inf"), 0.0025)):
        if cores > lower:
            reserved += (min(cores, upper) - lower) * share
    return reserved


@dataclass(frozen=True)
class ProviderModel:
    """How a provider turns capacity into room for pods."""

    reserve: str
    eviction_memory: int
    system_cpu: float
    system_memory: int
    scale_up_seconds: int
    image_pull_seconds: int


@dataclass(frozen=True)
class NodeSize:
    """One machine type."""

    name: str
    cpu: float
    memory: int
    gpus: int = 0
    gpu_type: str | None = None
    max_pods: int = 110


@dataclass(frozen=True)
class NodeCapacity:
    """A node of one size on one provider, and what is left for pods."""

    size: NodeSize
    reserved_cpu: float
    reserved_memory: int
    eviction_memory: int
    system_cpu: float
    system_memory: int

    @property
    def allocatable_cpu(self) -> float:
        """Cores the kubelet offers to pods."""
        return self.size.cpu - self.reserved_cpu

    @property
    def allocatable_memory(self) -> int:
        """Bytes the kubelet offers to pods."""
        return self.size.memory - self.reserved_memory - self.eviction_memory

    @property
    def free_cpu(self) -> float:
        """Cores left for workload pods after the provider's system pods."""
        return self.allocatable_cpu - self.system_cpu

    @property
    def free_memory(self) -> int:
        """Bytes left for workload pods after the provider's system pods."""
        return self.allocatable_memory - self.system_memory

    def explain_memory(self) -> str:
        """``each s-2vcpu-2gb node has 2Gi, minus 512Mi kube-reserved, … : 936Mi left for pods``."""
        return (f"each {self.size.name} node has {format_bytes(self.size.memory)}, minus "
                f"{format_bytes(self.reserved_memory)} kube-reserved, {format_bytes(self.eviction_memory)} "
                f"eviction threshold and {format_bytes(self.system_memory)} of system pods: "
                f"{format_bytes(self.free_memory)} left for pods")

    def explain_cpu(self) -> str:
        """``each s-2vcpu-2gb node has 2 cores, minus 0.07 kube-reserved and 0.3 of system pods: 1.63 left``."""
        return (f"each {self.size.name} node has {_cores(self.size.cpu)} cores, minus {_cores(self.reserved_cpu)} "
                f"kube-reserved and {_cores(self.system_cpu)} of system pods: {_cores(self.free_cpu)} left for pods")


def _cores(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class SizeCatalog:
    """Machine types by provider and each provider's allocatable model."""

    providers: dict[str, ProviderModel]
    sizes: dict[str, dict[str, NodeSize]]

    def size(self, provider: str, name: str) -> NodeSize | None:
        """The machine type ``name`` of ``provider``; generic sizes are read from their name."""
        found = self.sizes.get(provider, {}).get(name)
        if found is None and provider == "generic":
            m = _GENERIC.match(name)
            if m:
                return NodeSize(name, float(m["cpu"]), int(parse_memory(m["mem"]).value),
                                int(m["n"] or 0), m["gpu"])
        return found

    def names(self, provider: str) -> list[str]:
        """Known machine types of ``provider``."""
        return list(self.sizes.get(provider, {}))

    def smallest_fitting(self, provider: str, cpu: float, memory: int, like: str = "") -> str | None:
        """The smallest known size whose nodes leave ``cpu`` cores and ``memory`` bytes for a pod.

        Among sizes of equal memory, one of the same family as ``like`` (same prefix and suffix, e.g.
        ``s-…-amd``) is preferred, then the fewest cores.
        """
        def family(name: str) -> tuple[str, str]:
            last = name.rsplit("-", 1)[-1]
            return name.split("-")[0], last if last.isalpha() else ""

        def key(name: str) -> tuple[int, int, float, str]:
            size = self.sizes[provider][name]
            return (size.memory, 0 if family(name) == family(like) else 1, size.cpu, name)

        for name in sorted(self.names(provider), key=key):
            cap = self.capacity(provider, name)
            if cap is not None and cap.free_cpu >= cpu and cap.free_memory >= memory:
                return name
        return None

    def capacity(self, provider: str, name: str) -> NodeCapacity | None:
        """The allocatable model of a ``name`` node on ``provider``, or None for an unknown size."""
        size = self.size(provider, name)
        model = self.providers.get(provider)
        if size is None or model is None:
            return None
        if model.reserve == "eks":
            reserved_memory = 255 * MI + 11 * MI * size.max_pods
        else:
            reserved_memory = tiered_memory_reserve(size.memory)
        return NodeCapacity(size, tiered_cpu_reserve(size.cpu), reserved_memory, model.eviction_memory,
                            model.system_cpu, model.system_memory)


def _size(name: str, raw: dict[str, Any]) -> NodeSize:
    gpu = raw.get("gpu") or {}
    return NodeSize(name, float(parse_cpu(raw["cpu"]).value), int(parse_memory(raw["memory"]).value),
                    int(gpu.get("count", 0)), gpu.get("type"), int(raw.get("max_pods", 110)))


@lru_cache(maxsize=1)
def load_sizes() -> SizeCatalog:
    """The size catalog shipped with kubelab (``kubelab/lab/sizes.yaml``)."""
    text = resources.files("kubelab.lab").joinpath("sizes.yaml").read_text(encoding="utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    providers = {
        name: ProviderModel(p["reserve"], int(parse_memory(p["eviction_memory"]).value),
                            float(parse_cpu(p["system_pods"]["cpu"]).value),
                            int(parse_memory(p["system_pods"]["memory"]).value),
                            int(p["scale_up_seconds"]), int(p["image_pull_seconds"]))
        for name, p in data["providers"].items()
    }
    sizes = {prov: {n: _size(n, raw) for n, raw in table.items()} for prov, table in data["sizes"].items()}
    return SizeCatalog(providers, sizes)
