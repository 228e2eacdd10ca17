"""Requests and limits of a process from its cgroup (v1 or v2), as Kubernetes and Docker set them.

- limits: v1 ``cpu.cfs_quota_us``/``cpu.cfs_period_us`` and ``memory.limit_in_bytes``; v2 ``cpu.max`` and
  ``memory.max``. The tightest limit on the path from the process's group up to the root counts.
- requests: v1 ``cpu.shares`` and ``memory.soft_limit_in_bytes``; v2 ``cpu.weight`` and ``memory.min`` (or
  ``memory.low``), of the process's own group. The default weight (1024 shares, weight 100) reads as no
  request: it is what every group has unless someone set it (so a 1-core Kubernetes request is invisible).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["CgroupResources", "cgroup_resources"]

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


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _chain(root: Path, rel: str) -> list[Path]:
    """The group's directory and its ancestors up to (and including) the hierarchy root, deepest first."""
    parts = [p for p in rel.split("/") if p]
    return [root.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]


def _min(values: list[float]) -> float | None:
    return min(values) if values else None


def cgroup_resources(pid: int, *, proc: Path = Path("/proc"), root: Path = Path("/sys/fs/cgroup")
                     ) -> CgroupResources:
    """The cgroup requests and limits of ``pid`` (None where not set, or where cgroups are not readable)."""
    text = _read(proc / str(pid) / "cgroup")
    if text is None:
        return CgroupResources(None, None)
    v1: dict[str, str] = {}
    v2: str | None = None
    for line in text.splitlines():
        _, controllers, rel = line.split(":", 2)
        if controllers == "":
            v2 = rel
        for c in controllers.split(","):
            v1[c] = rel
    unified = root if (root / "cgroup.controllers").exists() else root / "unified"
    cpu_lim: float | None
    if "cpu" in v1 and (root / "cpu").is_dir():
        chain = _chain(root / "cpu", v1["cpu"])
        limits = []
        for d in chain:
            quota, period = _int(_read(d / "cpu.cfs_quota_us")), _int(_read(d / "cpu.cfs_period_us"))
            if quota is not None and quota > 0 and period:
                limits.append(quota / period)
        cpu_lim = _min(limits)
        shares = _int(_read(chain[0] / "cpu.shares"))
        cpu_req = shares / 1024 if shares and shares != 1024 and len(chain) > 1 else None
        cpu_group: str | None = str(chain[0])
    elif v2 is not None and (unified / "cgroup.controllers").exists():
        chain = _chain(unified, v2)
        limits = []
        for d in chain:
            quota_text = _read(d / "cpu.max")
            if quota_text and not quota_text.startswith("max"):
                quota_s, _, period_s = quota_text.partition(" ")
                limits.append(int(quota_s) / int(period_s or 100000))
        cpu_lim = _min(limits)
        weight = _int(_read(chain[0] / "cpu.weight"))
        # Kubernetes: weight = 1 + (shares - 2) * 9999 / 262142, shares = request in millicores * 1.024
        cpu_req = (2 + (weight - 1) * 262142 / 9999) / 1024 if weight and weight != 100 else None
        cpu_group = str(chain[0])
    else:
        cpu_lim = cpu_req = None
        cpu_group = None
    mem_lim: float | None
    if "memory" in v1 and (root / "memory").is_dir():
        chain = _chain(root / "memory", v1["memory"])
        mem_lim = _min([float(v) for d in chain if (v := _int(_read(d / "memory.limit_in_bytes"))) is not None
                        and v < _UNLIMITED])
        soft = _int(_read(chain[0] / "memory.soft_limit_in_bytes"))
        mem_req = soft if soft is not None and soft < _UNLIMITED and len(chain) > 1 else None
        memory_group: str | None = str(chain[0])
    elif v2 is not None and (unified / "cgroup.controllers").exists():
        chain = _chain(unified, v2)
        mem_lim = _min([float(v) for d in chain if (v := _int(_read(d / "memory.max"))) is not None])
        low = _int(_read(chain[0] / "memory.min")) or _int(_read(chain[0] / "memory.low"))
        mem_req = low or None
        memory_group = str(chain[0])
    else:
        mem_lim = mem_req = None
        memory_group = None
    return CgroupResources(cpu_group, memory_group, cpu_req, cpu_lim, mem_req,
                           int(mem_lim) if mem_lim is not None else None)
