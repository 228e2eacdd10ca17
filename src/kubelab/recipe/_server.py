"""What a model server does with a CPU allowance: the measured profile the simulator runs on.

A ``ServerProfile`` holds, for each CPU allowance measured (cores of cgroup quota, or pinned cores),
the service-time distribution of one request served alone, the CPU it burns, and the saturated
throughput; plus the server's memory footprint and its time from start to ready. Between measured
allowances the mean service time is interpolated linearly in ``1 / cores`` (Amdahl: a serial part plus
a part that shrinks with cores); the distribution's shape is that of the nearest measured allowance.

Where a cgroup CFS quota enforced the allowances, the profile also holds the service-time distribution of
a request served alone with the quota lifted (``free_quantiles``) and the quota's period (``cfs_period``).
The simulator then runs a replica the way CFS bandwidth control does (``cfs``): it serves at full speed,
burning ``cpu_per_request / free mean`` cores, until the period's quota is spent, then waits for the next
period. Throttling is a property of the period, not of a request: the requests in one period share its
budget, and a lightly loaded replica is hardly throttled at all, while the distribution measured under
the quota (one request after another, never idle) is that of a saturated one.

Stored as JSON or YAML (``save``/``load``) so ``kubelab recipe --profile-file`` reuses a profile.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kubelab.errors import Problem, SpecError

__all__ = ["QUANTILES", "AllowancePoint", "ServerProfile", "load_profile", "synthetic_profile"]

QUANTILES: tuple[float, ...] = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
"""The probabilities at which service-time quantiles are stored (0 and 1: the observed min and max)."""
_TABLE = 4096


@dataclass(frozen=True)
class AllowancePoint:
    """The server measured under one CPU allowance.

    Attributes:
        cpu: the allowance in cores.
        service_quantiles: service time (s) of a request served alone, at ``QUANTILES``.
        cpu_per_request: CPU seconds one request burns.
        capacity: saturated throughput (requests/s) with the allowance.
    """

    cpu: float
    service_quantiles: tuple[float, ...]
    cpu_per_request: float
    capacity: float

    @property
    def service_mean(self) -> float:
        """Mean service time, integrated from the stored quantiles (trapezoids)."""
        q = np.asarray(QUANTILES)
        v = np.asarray(self.service_quantiles)
        return float(np.sum((v[1:] + v[:-1]) / 2 * np.diff(q)))

    @property
    def concurrency(self) -> float:
        """Requests served at once at saturation (``capacity * mean service``, at least 1)."""
        return max(1.0, self.capacity * self.service_mean)


@dataclass(frozen=True)
class ServerProfile:
    """A model server's measured behaviour (see the module docstring).

    Attributes:
        points: one per CPU allowance, sorted by cores.
        memory_mib: resident memory of one replica under load (MiB).
        startup_seconds: time from process start to ready.
        idle_cpu: cores the server uses when idle.
        method: how the allowance was enforced (``cgroup-v1 cfs quota``, ``cpu affinity``, ``synthetic``).
        source: what was profiled (command, model), free text.
    """

    points: tuple[AllowancePoint, ...]
    memory_mib: float
    startup_seconds: float
    idle_cpu: float = 0.0
    method: str = "synthetic"
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    free_quantiles: tuple[float, ...] | None = None
    cfs_period: float | None = None

    @property
    def free_mean(self) -> float | None:
        """Mean service time (s) of a request served alone with no quota, if measured."""
        if self.free_quantiles is None:
            return None
        v = np.asarray(self.free_quantiles)
        return float(np.sum((v[1:] + v[:-1]) / 2 * np.diff(np.asarray(QUANTILES))))

    def cfs(self, cpu: float) -> tuple[float, float] | None:
        """``(period, running seconds per period)`` of a replica limited to ``cpu`` cores by a CFS quota, or
        None when that is not modelled: no free service time or period measured, or a replica serving
        several requests at once, or a quota the server never reaches while serving (running at full speed
        it burns ``cpu_per_request / free mean`` cores; the quota allows ``cpu x period`` CPU seconds)."""
        free = self.free_mean
        if free is None or self.cfs_period is None or free <= 0 or self.concurrency(cpu) > 1.5:
            return None
        burn = self.cpu_per_request(cpu) / free
        run = cpu * self.cfs_period / burn if burn > 0 else math.inf
        return None if run >= self.cfs_period else (self.cfs_period, run)

    def sample_free(self, u: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Unthrottled service times for uniforms ``u`` (as ``sample_service``); requires ``free_quantiles``."""
        if self.free_quantiles is None:
            raise ValueError("this profile has no unthrottled service times (free_quantiles)")
        table = np.interp((np.arange(_TABLE) + 0.5) / _TABLE, QUANTILES, np.asarray(self.free_quantiles))
        return np.asarray(table[np.minimum((u * _TABLE).astype(np.int64), _TABLE - 1)])

    def _bracket(self, cpu: float) -> tuple[AllowancePoint, AllowancePoint, float]:
        pts = self.points
        if cpu <= pts[0].cpu or len(pts) == 1:
            return pts[0], pts[0], 0.0
        if cpu >= pts[-1].cpu:
            return pts[-1], pts[-1], 0.0
        for lo, hi in zip(pts, pts[1:], strict=False):
            if lo.cpu <= cpu <= hi.cpu:
                w = (1 / lo.cpu - 1 / cpu) / (1 / lo.cpu - 1 / hi.cpu)
                return lo, hi, w
        raise AssertionError("unreachable")

    def service_mean(self, cpu: float) -> float:
        """Mean service time (s) with ``cpu`` cores; below the smallest allowance it grows as ``1/cpu``."""
        lo, hi, w = self._bracket(cpu)
        mean = (1 - w) * lo.service_mean + w * hi.service_mean
        if cpu < self.points[0].cpu:
            mean *= self.points[0].cpu / cpu  # throttled harder than measured: CPU-bound work stretches
        return mean

    def cpu_per_request(self, cpu: float) -> float:
        """CPU seconds one request burns with ``cpu`` cores."""
        lo, hi, w = self._bracket(cpu)
        return (1 - w) * lo.cpu_per_request + w * hi.cpu_per_request

    def concurrency(self, cpu: float) -> float:
        """Requests one replica serves at once with ``cpu`` cores."""
        lo, hi, w = self._bracket(cpu)
        return (1 - w) * lo.concurrency + w * hi.concurrency

    def capacity(self, cpu: float) -> float:
        """Saturated throughput (requests/s) of one replica with ``cpu`` cores."""
        return self.concurrency(cpu) / self.service_mean(cpu)

    def sample_service(self, cpu: float, u: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Service times for uniforms ``u`` (inverse CDF, so common random numbers compare recipes fairly).

        The inverse CDF is tabulated at 4,096 points (linear between the stored quantiles), so a day of
        requests costs one table look-up each.
        """
        lo, hi, w = self._bracket(cpu)
        shape_point = lo if w < 0.5 else hi
        shape = np.asarray(shape_point.service_quantiles) / shape_point.service_mean
        table = np.interp((np.arange(_TABLE) + 0.5) / _TABLE, QUANTILES, shape) * self.service_mean(cpu)
        return np.asarray(table[np.minimum((u * _TABLE).astype(np.int64), _TABLE - 1)])

    def to_dict(self) -> dict[str, Any]:
        """A plain mapping for JSON/YAML."""
        data = asdict(self)
        data["points"] = [asdict(p) | {"service_quantiles": list(p.service_quantiles)} for p in self.points]
        data["quantiles"] = list(QUANTILES)
        if self.free_quantiles is None:
            del data["free_quantiles"], data["cfs_period"]
        else:
            data["free_quantiles"] = list(self.free_quantiles)
        return data

    def save(self, path: str | Path) -> None:
        """Write the profile as JSON (``.json``) or YAML (anything else)."""
        p = Path(path)
        if p.suffix == ".json":
            p.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        else:
            import yaml

            p.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False), encoding="utf-8")


def load_profile(path: str | Path) -> ServerProfile:
    """Read a profile written by ``ServerProfile.save``; every problem is reported with its location.

    Raises:
        SpecError: the file is missing, not YAML/JSON, or a field is missing or wrong.
    """
    from kubelab import _yamlfile

    data, loc = _yamlfile.load(path)  # JSON is YAML
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise SpecError([loc.problem((), "expected a mapping with 'points', 'memory_mib', 'startup_seconds'")])

    def number(d: dict[str, Any], key: str, at: tuple[str | int, ...], *, positive: bool = True) -> float:
        value = d.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            what = "is missing" if key not in d else f"must be a number, not {value!r}"
            problems.append(loc.problem((*at, key), what, key=key not in d))
            return 1.0
        if value < 0 or (positive and value == 0):
            problems.append(loc.problem((*at, key), f"must be {'> 0' if positive else '>= 0'}, not {value}"))
        return float(value)

    points: list[AllowancePoint] = []
    raw_points = data.get("points")
    if not isinstance(raw_points, list) or not raw_points:
        problems.append(loc.problem(("points",), "must be a non-empty list of measured CPU allowances"))
        raw_points = []
    quantiles = data.get("quantiles", list(QUANTILES))
    if list(quantiles) != list(QUANTILES):
        problems.append(loc.problem(("quantiles",), f"must be {list(QUANTILES)}", "re-run kubelab recipe profile"))
    for i, raw in enumerate(raw_points):
        at: tuple[str | int, ...] = ("points", i)
        if not isinstance(raw, dict):
            problems.append(loc.problem(at, "must be a mapping"))
            continue
        sq = raw.get("service_quantiles")
        if not (isinstance(sq, list) and len(sq) == len(QUANTILES) and all(isinstance(v, int | float) for v in sq)):
            problems.append(loc.problem((*at, "service_quantiles"), f"must be {len(QUANTILES)} numbers"))
            sq = [1.0] * len(QUANTILES)
        elif any(b < a for a, b in zip(sq, sq[1:], strict=False)) or sq[0] <= 0:
            problems.append(loc.problem((*at, "service_quantiles"), "must be positive and non-decreasing"))
        points.append(
            AllowancePoint(
                number(raw, "cpu", at),
                tuple(float(v) for v in sq),
                number(raw, "cpu_per_request", at),
                number(raw, "capacity", at),
            )
        )
    free: tuple[float, ...] | None = None
    period: float | None = None
    if "free_quantiles" in data or "cfs_period" in data:
        fq = data.get("free_quantiles")
        if not (isinstance(fq, list) and len(fq) == len(QUANTILES) and all(_is_number(v) for v in fq)):
            problems.append(
                loc.problem(("free_quantiles",), f"must be {len(QUANTILES)} numbers", key="free_quantiles" not in data)
            )
        elif any(b < a for a, b in zip(fq, fq[1:], strict=False)) or fq[0] <= 0:
            problems.append(loc.problem(("free_quantiles",), "must be positive and non-decreasing"))
        else:
            free = tuple(float(v) for v in fq)
        period = number(data, "cfs_period", ())
    memory = number(data, "memory_mib", ())
    startup = number(data, "startup_seconds", (), positive=False)
    idle = float(data.get("idle_cpu", 0.0)) if isinstance(data.get("idle_cpu", 0.0), int | float) else 0.0
    if problems:
        raise SpecError(problems)
    return ServerProfile(
        tuple(sorted(points, key=lambda p: p.cpu)),
        memory,
        startup,
        idle,
        str(data.get("method", "unknown")),
        str(data.get("source", "")),
        free_quantiles=free,
        cfs_period=period if free is not None else None,
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def synthetic_profile(
    *,
    serial_s: float = 0.010,
    parallel_cpu_s: float = 0.060,
    max_threads: int = 4,
    cv: float = 0.3,
    memory_mib: float = 600.0,
    startup_seconds: float = 20.0,
    allowances: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0),
) -> ServerProfile:
    """A clearly labelled synthetic profile: Amdahl service time, lognormal spread.

    A request needs ``serial_s`` seconds of one core plus ``parallel_cpu_s`` CPU seconds spread over up to
    ``max_threads`` threads, one request at a time; the CPU quota stretches both when it is below the
    threads' demand.
    """
    points = []
    sigma = float(np.sqrt(np.log(1 + cv**2)))
    from statistics import NormalDist

    z = [NormalDist().inv_cdf(min(max(q, 1e-4), 1 - 1e-4)) for q in QUANTILES]
    for cpu in allowances:
        threads = min(max_threads, max(cpu, 1e-9))
        mean = serial_s / min(cpu, 1.0) + parallel_cpu_s / threads
        mu = np.log(mean) - sigma**2 / 2
        quantiles = tuple(float(np.exp(mu + sigma * zi)) for zi in z)
        point = AllowancePoint(cpu, quantiles, serial_s + parallel_cpu_s, 0.0)
        points.append(AllowancePoint(cpu, quantiles, serial_s + parallel_cpu_s, 1.0 / point.service_mean))
    return ServerProfile(
        tuple(points), memory_mib, startup_seconds, 0.01, "synthetic", "synthetic Amdahl profile (not measured)"
    )
