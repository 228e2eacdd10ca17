"""Run a process under a CPU allowance: a cgroup CPU quota where the machine allows, else CPU affinity.

``CpuLimit(cores)`` gives an argv prefix that puts the child into the limit before it runs anything,
so every thread and subprocess it starts inherits it:

* cgroup v2 (``cpu.max = quota period``) or v1 (``cpu.cfs_quota_us``/``cpu.cfs_period_us``): exact
  fractional cores, as Kubernetes limits are enforced (CFS bandwidth control, 100 ms period);
* otherwise CPU affinity (``taskset``-like, via ``os.sched_setaffinity``) to ``ceil(cores)`` CPUs plus
  thread-count environment variables: whole cores only, so 0.25 and 0.5 both become one core — the
  ``method`` says so, and the profile records it.

``shares`` (optional) also sets the cgroup's CPU weight — v1 ``cpu.shares`` (1024 = one nice-0 process),
v2 ``cpu.weight`` (100 = one) — the way Kubernetes sets it from a container's CPU request: how much of a
contended CPU the child gets against other processes, up to its quota. Affinity has no such knob.
"""

from __future__ import annotations

import math
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CpuLimit"]

_PERIOD_US = 100_000
_V1 = Path("/sys/fs/cgroup/cpu")
_V2 = Path("/sys/fs/cgroup")


@dataclass
class CpuLimit:
    """A CPU allowance for one child process; ``close()`` removes the cgroup it made."""

    cores: float
    shares: int | None = None
    name: str = field(default_factory=lambda: f"kubelab-recipe-{os.getpid()}-{os.urandom(3).hex()}")
    method: str = ""
    _dir: Path | None = None

    def __post_init__(self) -> None:
        quota = max(1000, round(self.cores * _PERIOD_US))
        for attempt in (self._try_v2, self._try_v1):
            try:
                if attempt(quota):
                    return
            except OSError:
                self._cleanup()
        threads = max(1, math.ceil(self.cores))
        self.method = f"cpu affinity ({threads} of {os.cpu_count()} cpus; fractions rounded up)"

    def _try_v2(self, quota: int) -> bool:
        if not (_V2 / "cgroup.controllers").exists() or "cpu" not in (_V2 / "cgroup.subtree_control").read_text():
            return False
        self._dir = _V2 / self.name
        self._dir.mkdir()
        (self._dir / "cpu.max").write_text(f"{quota} {_PERIOD_US}")
        if self.shares is not None:
            (self._dir / "cpu.weight").write_text(str(max(1, min(10_000, round(self.shares * 100 / 1024)))))
        self.method = f"cgroup v2 cpu.max {quota}/{_PERIOD_US}"
        return True

    def _try_v1(self, quota: int) -> bool:
        if not (_V1 / "cpu.cfs_quota_us").exists():
            return False
        self._dir = _V1 / self.name
        self._dir.mkdir()
        (self._dir / "cpu.cfs_period_us").write_text(str(_PERIOD_US))
        (self._dir / "cpu.cfs_quota_us").write_text(str(quota))
        if self.shares is not None:
            (self._dir / "cpu.shares").write_text(str(max(2, self.shares)))
        self.method = f"cgroup v1 cfs quota {quota}/{_PERIOD_US} us"
        return True

    @property
    def kind(self) -> str:
        """``cgroup v2 cpu.max``, ``cgroup v1 cfs quota`` or ``cpu affinity (whole cores)``."""
        if self._dir is None:
            return "cpu affinity (whole cores)"
        return "cgroup v2 cpu.max" if self.method.startswith("cgroup v2") else "cgroup v1 cfs quota"

    @property
    def cgroup(self) -> Path | None:
        """The cgroup directory, when a cgroup enforces the limit."""
        return self._dir

    @property
    def period(self) -> float | None:
        """The CFS period (s) when a cgroup quota enforces the limit, else None."""
        return _PERIOD_US / 1e6 if self._dir is not None else None

    def lift(self, lifted: bool) -> None:
        """Remove the quota for a while (``True``: the child runs at full speed) or restore it (``False``).

        Raises:
            ValueError: no cgroup enforces the limit (affinity cannot be lifted from outside).
        """
        if self._dir is None:
            raise ValueError(f"{self.method}: only a cgroup quota can be lifted")
        quota = max(1000, round(self.cores * _PERIOD_US))
        if self.kind == "cgroup v2 cpu.max":
            (self._dir / "cpu.max").write_text(f"{'max' if lifted else quota} {_PERIOD_US}")
        else:
            (self._dir / "cpu.cfs_quota_us").write_text(str(-1 if lifted else quota))

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` run inside the allowance (a shell that joins the cgroup, or pins itself, then execs)."""
        if self._dir is not None:
            join = f"echo $$ > {shlex.quote(str(self._dir / 'cgroup.procs'))}"
        else:
            cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0))[: max(1, math.ceil(self.cores))])
            py = shlex.quote(sys.executable)
            join = f"{py} -c 'import os; os.sched_setaffinity(os.getppid(), {{{cpus}}})'"
        return ["sh", "-c", f'{join} && exec "$@"', "sh", *argv]

    def environment(self) -> dict[str, str]:
        """Thread-count variables for numeric libraries, sized to the allowance."""
        threads = str(max(1, math.ceil(self.cores)))
        names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")
        return dict.fromkeys(names, threads)

    def _cleanup(self) -> None:
        if self._dir is not None:
            try:
                self._dir.rmdir()
            except OSError:
                pass
            self._dir = None

    def close(self) -> None:
        """Remove the cgroup (its processes must have exited)."""
        self._cleanup()
