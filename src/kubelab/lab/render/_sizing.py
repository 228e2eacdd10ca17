"""Derived user-server sizes and the spawn timeout: the settings seed 000 tuned by hand, computed instead.

Rules (each value the definition sets is kept as written; ``kubelab lab check`` has made sure it fits):

- **memory guarantee** = the smaller of JupyterHub's default (1G = 10^9 bytes) and the memory a node of the
  pool has left for pods after kube-reserved, the eviction threshold and the provider's system pods
  (``free_memory`` of the capacity model). On a DigitalOcean 2 GB node that is 936Mi: the default 1G
  (954Mi) never fits, which is what seed 000 hit.
- **memory limit** = twice the guarantee, capped at the node's allocatable memory: above allocatable the
  kubelet evicts the pod before the limit is ever reached. On the 2 GB node: min(1872Mi, 1436Mi) = 1436Mi,
  the seed's hand-tuned "1.4G".
- **CPU guarantee** = the smaller of half a core and the CPU left for pods; **CPU limit** = the node's
  allocatable CPU (a user may use the whole node when it is idle).
- **start timeout** = when the pool autoscales: the provider's node scale-up time plus an image pull plus
  a minute for the server itself, at least JupyterHub's default 300 s (DigitalOcean: 300 + 180 + 60 = 540 s);
  when it does not: the default 300 s.

Values go to JupyterHub as whole bytes and cores: KubeSpawner reads ``M``/``G`` as powers of 1024, unlike
Kubernetes, so a quantity such as ``1.4G`` would change meaning on the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from kubelab.lab._model import CpuSpec, MemorySpec, Pool

__all__ = ["DEFAULT_GUARANTEE", "DEFAULT_START_TIMEOUT", "NodeRoom", "UserSize", "start_timeout", "user_size"]

DEFAULT_GUARANTEE = 10**9
"""JupyterHub's default ``singleuser.memory.guarantee`` (1G, read by Kubernetes as 10^9 bytes)."""
DEFAULT_START_TIMEOUT = 300
"""JupyterHub's default ``singleuser.startTimeout`` in seconds."""
_SERVER_START_SECONDS = 60
_MI = 2**20


class NodeRoom(Protocol):
    """What a node of a pool offers pods (``kubelab.lab``'s ``NodeCapacity`` is one)."""

    @property
    def allocatable_cpu(self) -> float: ...
    @property
    def allocatable_memory(self) -> int: ...
    @property
    def free_cpu(self) -> float: ...
    @property
    def free_memory(self) -> int: ...


@dataclass(frozen=True)
class UserSize:
    """A user server's resources as JupyterHub takes them: cores and whole bytes (None: not set)."""

    cpu_guarantee: float | None
    cpu_limit: float | None
    mem_guarantee: int | None
    mem_limit: int | None


def _bytes(value: Decimal | None) -> int | None:
    return None if value is None else int(value)


def _cores(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _floor_mi(value: int) -> int:
    return value // _MI * _MI


def _floor_milli(value: float) -> float:
    return int(value * 1000) / 1000


def user_size(cpu: CpuSpec, memory: MemorySpec, room: NodeRoom | None) -> UserSize:
    """The resources of a user server: what the definition sets, the rest derived from ``room``.

    Without ``room`` (a node size kubelab does not know) only the values written in the definition are given.
    """
    cpu_g, cpu_l = _cores(cpu.guarantee.value if cpu.guarantee else None), _cores(cpu.limit.value if cpu.limit
                                                                                   else None)
    mem_g = _bytes(memory.guarantee.value if memory.guarantee else None)
    mem_l = _bytes(memory.limit.value if memory.limit else None)
    if room is None:
        return UserSize(cpu_g, cpu_l, mem_g, mem_l)
    if mem_g is None:
        mem_g = _floor_mi(min(DEFAULT_GUARANTEE, room.free_memory))
        if mem_l is not None:
            mem_g = min(mem_g, mem_l)
    if mem_l is None:
        mem_l = max(mem_g, _floor_mi(min(2 * mem_g, room.allocatable_memory)))
    if cpu_g is None:
        cpu_g = _floor_milli(min(0.5, room.free_cpu))
        if cpu_l is not None:
            cpu_g = min(cpu_g, cpu_l)
    if cpu_l is None:
        cpu_l = max(cpu_g, _floor_milli(room.allocatable_cpu))
    return UserSize(cpu_g, cpu_l, mem_g, mem_l)


def start_timeout(written: int | None, pool: Pool | None, scale_up_seconds: int, image_pull_seconds: int) -> int:
    """``singleuser.startTimeout``: as written, else long enough to cover adding a node to an autoscaled pool."""
    if written is not None:
        return written
    if pool is not None and pool.autoscales:
        return max(DEFAULT_START_TIMEOUT, scale_up_seconds + image_pull_seconds + _SERVER_START_SECONDS)
    return DEFAULT_START_TIMEOUT
