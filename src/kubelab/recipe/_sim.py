"""Simulate a recipe over a load profile: replicas as queues, the HPA deciding every sync period.

One loop step is one HPA sync period (15 s). At its start the controller (``_hpa``) sees each pod's CPU
usage over an earlier period (the metrics delay) relative to its request, and sets the replica count;
new pods are scheduled, start, and take traffic once ready (scheduling + the profile's time to ready);
removed pods stop taking traffic at once and finish what they hold. Then the period's requests are
served (``_queue``): open-loop arrivals round-robin in a few numpy operations, least-connection balancing
and closed-loop users (siege) request by request. Where the profile measured the server without its quota
too, replicas run under a CFS quota (``_cfs``: each serves at full speed until its period's quota is
spent), open-loop round-robin still in numpy.
Each pod's CPU use follows from its busy time: busy at the rate one request burns CPU (capped by the
limit; without the CFS model throttling shows as the longer service measured under the quota), idle at
the profile's idle use.

Results are per window (one minute): p50/p99 latency (refused requests count as infinitely slow),
throughput, ready and existing replicas, reserved and used CPU and memory, and whether the p99 missed
the objective.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from kubelab.recipe._cluster import Cluster
from kubelab.recipe._hpa import HorizontalPodAutoscaler
from kubelab.recipe._queue import Pool, Served, Users
from kubelab.recipe._recipe import Recipe
from kubelab.recipe._schedule import Schedule
from kubelab.recipe._server import ServerProfile

__all__ = ["SimConfig", "SimResult", "simulate"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SimConfig:
    """How the cluster behaves around the recipe.

    Attributes:
        slo_p99: the latency objective (seconds) for each window's p99.
        sync_period: HPA sync period (``--horizontal-pod-autoscaler-sync-period``).
        metrics_delay: age of the CPU sample the HPA reads (rounded to whole sync periods).
        scheduling_seconds: from the HPA's decision to the container starting (scheduling, image present).
        balancing: ``round-robin`` (kube-proxy IPVS rr; iptables is random, statistically alike) or
            ``least-connection``.
        window: length of a result window (s).
        seed: random seed (arrivals, service times, think times).
        replicas: fixed replica count, no HPA (None: the HPA runs from ``min_replicas``).
        tolerance: HPA tolerance.
        downscale_stabilization: HPA scale-down stabilisation window (s) when the recipe sets no behavior.
        batch_periods: sync periods served at once when nothing is starting (speed only: same results).
        cfs_throttling: where the profile measured the server without its quota too (``free_quantiles``),
            run each replica the way a CFS quota throttles it (``ServerProfile.cfs``); False: draw service
            times from the distribution measured under the quota, independently (the older model).
        cfs_phases: where each of the first pods' CFS periods starts (s, taken modulo the period), e.g. as
            measured on real replicas (``_local``); pods beyond them, and all by default, spread evenly.
    """

    slo_p99: float = 0.1
    sync_period: float = 15.0
    metrics_delay: float = 15.0
    scheduling_seconds: float = 2.0
    balancing: Literal["round-robin", "least-connection"] = "round-robin"
    window: float = 60.0
    seed: int = 0
    replicas: int | None = None
    tolerance: float = 0.1
    downscale_stabilization: float = 300.0
    batch_periods: int = 8
    cfs_throttling: bool = True
    cfs_phases: tuple[float, ...] = ()


@dataclass(frozen=True)
class SimResult:
    """Per-window results of one simulation (arrays share the window index)."""

    recipe: Recipe
    config: SimConfig
    start: F64
    requests: I64
    failed: I64
    p50: F64
    p99: F64
    mean: F64
    throughput: F64
    replicas: F64
    pods: F64
    cpu_reserved: F64
    memory_reserved: F64
    cpu_used: F64
    latency: F64 = field(repr=False)
    arrival: F64 = field(repr=False)

    @property
    def violated(self) -> npt.NDArray[np.bool_]:
        """Windows whose p99 missed the objective (windows without requests never do)."""
        return np.nan_to_num(self.p99, nan=0.0) > self.config.slo_p99

    @property
    def violation_fraction(self) -> float:
        """Share of windows that missed the objective."""
        return float(self.violated.mean()) if self.start.size else 0.0

    @property
    def cpu_core_hours(self) -> float:
        """Reserved (requested) CPU over the run, core-hours."""
        return float(self.cpu_reserved.sum() * self.config.window / 3600)

    @property
    def burst_cores(self) -> float:
        """The most CPU used above the pods' requests in any window (cores, all pods): what the nodes must
        have free beyond the requests for the simulated CPU (each pod up to its limit) to be there."""
        return float(np.max(self.cpu_used - self.cpu_reserved, initial=0.0))

    @property
    def memory_gib_hours(self) -> float:
        """Reserved (requested) memory over the run, GiB-hours."""
        return float(self.memory_reserved.sum() * self.config.window / 3600 / 1024)

    def rows(self) -> list[dict[str, Any]]:
        """One mapping per window (latencies in ms)."""
        out = []
        for i in range(self.start.size):
            out.append(
                {
                    "minute": int(self.start[i] // 60),
                    "requests": int(self.requests[i]),
                    "failed": int(self.failed[i]),
                    "p50_ms": float(self.p50[i] * 1000),
                    "p99_ms": float(self.p99[i] * 1000),
                    "throughput": float(self.throughput[i]),
                    "replicas": float(self.replicas[i]),
                    "cpu_reserved": float(self.cpu_reserved[i]),
                    "cpu_used": float(self.cpu_used[i]),
                    "memory_reserved_mib": float(self.memory_reserved[i]),
                    "violated": bool(self.violated[i]),
                }
            )
        return out


def _percentiles(edges: I64, lat: F64) -> tuple[F64, F64, F64]:
    """Nearest-rank p50 and p99 and the mean (of finite latencies) per window ``lat[edges[w]:edges[w+1]]``."""
    n_windows = edges.size - 1
    p50 = np.full(n_windows, np.nan)
    p99 = np.full(n_windows, np.nan)
    mean = np.full(n_windows, np.nan)
    for w in range(n_windows):
        chunk = lat[edges[w] : edges[w + 1]]
        n = chunk.size
        if n == 0:
            continue
        r50, r99 = max(math.ceil(0.5 * n) - 1, 0), max(math.ceil(0.99 * n) - 1, 0)
        part = np.partition(chunk, (r50, r99))
        p50[w], p99[w] = part[r50], part[r99]
        total = chunk.sum()
        if math.isfinite(total):
            mean[w] = total / n
        else:
            finite = chunk[np.isfinite(chunk)]
            mean[w] = finite.mean() if finite.size else np.nan
    return p50, p99, mean


def simulate(
    recipe: Recipe,
    profile: ServerProfile,
    schedule: Schedule,
    config: SimConfig | None = None,
) -> SimResult:
    """Run ``recipe`` over ``schedule`` and return its per-window results."""
    config = config or SimConfig()
    rng = np.random.default_rng(config.seed)
    duration = float(schedule.duration)
    cpu = recipe.cpu_limit
    cfs = profile.cfs(cpu) if config.cfs_throttling else None
    crashes = recipe.memory_limit < profile.memory_mib  # OOM-killed at start: never ready
    arrivals = schedule.open_arrivals(rng)
    if cfs is None:
        k = profile.concurrency(cpu)
        busy_cores = min(cpu, profile.cpu_per_request(cpu) * k / profile.service_mean(cpu))
        occupancy = profile.sample_service(cpu, rng.random(arrivals.size)) / k
        pool = Pool((profile.sample_service(cpu, rng.random(1 << 16)) / k).tolist(), rng.random(1 << 16).tolist())
    else:  # full-speed service, throttled per period by the quota (``_cfs``)
        k = 1.0
        busy_cores = profile.cpu_per_request(cpu) / float(profile.free_mean or 1.0)  # capped at the limit
        occupancy = profile.sample_free(rng.random(arrivals.size))
        pool = Pool(profile.sample_free(rng.random(1 << 16)).tolist(), rng.random(1 << 16).tolist())

    hpa = None
    if config.replicas is None:
        hpa = HorizontalPodAutoscaler(
            recipe.hpa, tolerance=config.tolerance, downscale_stabilization=config.downscale_stabilization
        )
    cluster = Cluster(
        hpa=hpa,
        h=config.sync_period,
        duration=duration,
        delay_chunks=max(0, round(config.metrics_delay / config.sync_period)),
        request_m=round(recipe.cpu_request * 1000),
        busy_cores=busy_cores,
        idle_cpu=profile.idle_cpu,
        scheduling_s=config.scheduling_seconds,
        startup_s=profile.startup_seconds,
        crashes=crashes,
        arrivals=arrivals,
        occupancy=occupancy,
        pool=pool,
        users=Users(rng) if schedule.closed else None,
        user_counts=schedule.users,
        delays=schedule.delay.tolist(),
        least_connection=config.balancing == "least-connection",
        batch=config.batch_periods,
        cfs=cfs,
        cpu_limit=cpu,
        phases=config.cfs_phases,
    )
    for _ in range(config.replicas or recipe.min_replicas):
        cluster.pods.add(-1e9, -1e9, math.inf if crashes else -1e9)
    cluster.run()
    return _windows(recipe, config, schedule, cluster.parts, cluster.alive_n, cluster.ready_n, cluster.used, k)


def _windows(
    recipe: Recipe,
    config: SimConfig,
    schedule: Schedule,
    parts: list[Served],
    alive: F64,
    ready: F64,
    used: F64,
    k: float,
) -> SimResult:
    w = config.window
    n_windows = math.ceil(schedule.duration / w)
    arrival = np.concatenate([p.arrival for p in parts]) if parts else np.zeros(0)
    depart = np.concatenate([p.depart for p in parts]) if parts else np.zeros(0)
    occ = np.concatenate([p.occupancy for p in parts]) if parts else np.zeros(0)
    pod = np.concatenate([p.pod for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    # every engine serves requests in arrival order, so ``arrival`` is sorted
    failed = pod < 0
    any_failed = bool(failed.any())
    latency = depart - arrival
    if k != 1:
        latency += occ * (k - 1)
    if any_failed:
        latency[failed] = np.inf
    edges = np.searchsorted(arrival, np.arange(n_windows + 1) * w)
    edges[-1] = arrival.size
    p50, p99, mean = _percentiles(edges, latency)
    done = depart[~failed] if any_failed else depart
    done_win = np.minimum((done * (1 / w)).astype(np.int64), n_windows - 1)  # multiply: floor-divide is slow
    throughput = np.bincount(done_win, minlength=n_windows) / w
    fail_win = np.minimum((arrival[failed] // w).astype(np.int64), n_windows - 1)
    per = max(1, round(w / config.sync_period))
    pad = n_windows * per - alive.size

    def by_window(x: F64) -> F64:
        return np.asarray(np.pad(x, (0, max(pad, 0)), mode="edge")[: n_windows * per].reshape(n_windows, per).mean(1))

    pods = by_window(alive)
    return SimResult(
        recipe=recipe,
        config=config,
        start=np.arange(n_windows, dtype=np.float64) * w,
        requests=np.diff(edges),
        failed=np.bincount(fail_win, minlength=n_windows),
        p50=p50,
        p99=p99,
        mean=mean,
        throughput=throughput,
        replicas=by_window(ready),
        pods=pods,
        cpu_reserved=pods * recipe.cpu_request,
        memory_reserved=pods * recipe.memory_request,
        cpu_used=by_window(used),
        latency=latency,
        arrival=arrival,
    )
