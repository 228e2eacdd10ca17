"""Requests and limits of a process from its cgroup (v1 or v2), as Kubernetes and Docker set them.

- limits: v1 ``cpu.cfs_quota_us``/``cpu.cfs_period_us`` and ``memory.limit_in_bytes``; v2 ``cpu.max`` and
  ``memory.max``. The tightest limit on the path from the process's group up to the root counts.
- requests: v1 ``cpu.shares`` and ``memory.soft_limit_in_bytes``; v2 ``cpu.weight`` and ``memory.min`` (or
  ``memory.low``), of the process's own group. The default weight (1024 shares, weight 100) reads as no
  request: it is what every group has unless someone set it (so a 1-core Kubernetes request is invisible).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CgroupResources", "cgroup_membership", "cgroup_resources", "group_resources"]

_UNLIMITED = 1 << 62  # v1 writes 9223372036854771712 for "no limit"


@dataclass(frozen=True)
class CgroupResources:
    """What one process's cgroups say; ``cpu_group``/``memory_group`` identify the groups (for summing)."""

    cpu_group: str | None
    memory_group: str | None
    cpu_req_core: float | None = None
    cpu_lim_core: float | None = None
    mem_req_bytes: int | None = None
    mem_lim_bytes: int | None = None


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _chain(root: str, rel: str) -> list[str]:
    """The group's directory and its ancestors up to (and including) the hierarchy root, deepest first."""
    parts = [p for p in rel.split("/") if p]
    return [os.path.join(root, *parts[:i]) for i in range(len(parts), -1, -1)]


def _min(values: list[float]) -> float | None:
    return min(values) if values else None


def cgroup_membership(pid: int, *, proc: Path = Path("/proc")) -> tuple[tuple[str, str], ...] | None:
    """The (controllers, path) pairs of ``/proc/PID/cgroup`` (``("", path)`` for v2), or None if unreadable."""
    text = _read(f"{proc}/{pid}/cgroup")
    if text is None:
        return None
    pairs = []
    for line in text.splitlines():
        _, controllers, rel = line.split(":", 2)
        pairs.append((controllers, rel))
    return tuple(pairs)


def cgroup_resources(pid: int, *, proc: Path = Path("/proc"), root: Path = Path("/sys/fs/cgroup")
                     ) -> CgroupResources:
    """The cgroup requests and limits of ``pid`` (None where not set, or where cgroups are not readable)."""
    return group_resources(cgroup_membership(pid, proc=proc), root=root)


def group_resources(membership: tuple[tuple[str, str], ...] | None, *, root: Path = Path("/sys/fs/cgroup")
                    ) -> CgroupResources:
    """The requests and limits of the groups in ``membership`` (what ``cgroup_membership`` returns)."""
    if membership is None:
        return CgroupResources(None, None)
    v1: dict[str, str] = {}
    v2: str | None = None
    for controllers, rel in membership:
        if controllers == "":
            v2 = rel
        for c in controllers.split(","):
            v1[c] = rel
    base = str(root)
    unified = base if os.path.exists(f"{base}/cgroup.controllers") else f"{base}/unified"
    has_v2 = v2 is not None and os.path.exists(f"{unified}/cgroup.controllers")
    cpu_lim: float | None
    if "cpu" in v1 and os.path.isdir(f"{base}/cpu"):
        chain = _chain(f"{base}/cpu", v1["cpu"])
        limits = []
        for d in chain:
            quota, period = _int(_read(f"{d}/cpu.cfs_quota_us")), _int(_read(f"{d}/cpu.cfs_period_us"))
            if quota is not None and quota > 0 and period:
                limits.append(quota / period)
        cpu_lim = _min(limits)
        shares = _int(_read(f"{chain[0]}/cpu.shares"))
        cpu_req = shares / 1024 if shares and shares != 1024 and len(chain) > 1 else None
        cpu_group: str | None = chain[0]
    elif has_v2 and v2 is not None:
        chain = _chain(unified, v2)
        limits = []
        for d in chain:
            quota_text = _read(f"{d}/cpu.max")
            if quota_text and not quota_text.startswith("max"):
                quota_s, _, period_s = quota_text.partition(" ")
                limits.append(int(quota_s) / int(period_s or 100000))
        cpu_lim = _min(limits)
        weight = _int(_read(f"{chain[0]}/cpu.weight"))
        # Kubernetes: weight = 1 + (shares - 2) * 9999 / 262142, shares = request in millicores * 1.024
        cpu_req = (2 + (weight - 1) * 262142 / 9999) / 1024 if weight and weight != 100 else None
        cpu_group = chain[0]
    else:
        cpu_lim = cpu_req = None
        cpu_group = None
    mem_lim: float | None
    if "memory" in v1 and os.path.isdir(f"{base}/memory"):
        chain = _chain(f"{base}/memory", v1["memory"])
        mem_lim = _min([float(v) for d in chain if (v := _int(_read(f"{d}/memory.limit_in_bytes"))) is not None
                        and v < _UNLIMITED])
        soft = _int(_read(f"{chain[0]}/memory.soft_limit_in_bytes"))
        mem_req = soft if soft is not None and soft < _UNLIMITED and len(chain) > 1 else None
        memory_group: str | None = chain[0]
    elif has_v2 and v2 is not None:
        chain = _chain(unified, v2)
        mem_lim = _min([float(v) for d in chain if (v := _int(_read(f"{d}/memory.max"))) is not None])
        low = _int(_read(f"{chain[0]}/memory.min")) or _int(_read(f"{chain[0]}/memory.low"))
        mem_req = low or None
        memory_group = chain[0]
    else:
        mem_lim = mem_req = None
        memory_group = None
    return CgroupResources(cpu_group, memory_group, cpu_req, cpu_lim, mem_req,
                           int(mem_lim) if mem_lim is not None else None)
