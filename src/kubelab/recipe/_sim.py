"""Simulate a recipe over a load profile: replicas as queues, the HPA deciding every sync period.

One loop step is one HPA sync period (15 s). At its start the controller (``_hpa``) sees each pod's CPU
usage over an earlier period (the metrics delay) relative to its request, and sets the replica count;
new pods are scheduled, start, and take traffic once ready (scheduling + the profile's time to ready);
removed pods stop taking traffic at once and finish what they hold. Then the period's requests are
served (``_queue``): open-loop arrivals round-robin in a few numpy operations, least-connection balancing
and closed-loop users (siege) request by request. Each pod's CPU use follows from its busy time: busy at
the rate one request burns CPU (capped by the limit, so throttling shows as longer service from the
profile), idle at the profile's idle use.

Results are per window (one minute): p50/p99 latency (refused requests count as infinitely slow),
throughput, ready and existing replicas, reserved and used CPU and memory, and whether the p99 missed
the objective.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from kubelab.recipe._hpa import HorizontalPodAutoscaler, PodSample
from kubelab.recipe._queue import Pool, Served, Users, serve_events, serve_round_robin
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


@dataclass
class _Pods:
    created: list[float] = field(default_factory=list)
    started: list[float] = field(default_factory=list)
    ready_at: list[float] = field(default_factory=list)
    alive: list[bool] = field(default_factory=list)
    usage: list[dict[int, float]] = field(default_factory=list)
    free_at: list[float] = field(default_factory=list)
    outstanding: list[deque[float]] = field(default_factory=list)

    def add(self, created: float, started: float, ready_at: float) -> None:
        self.created.append(created)
        self.started.append(started)
        self.ready_at.append(ready_at)
        self.alive.append(True)
        self.usage.append({})
        self.free_at.append(-math.inf)
        self.outstanding.append(deque())

    def living(self) -> list[int]:
        return [i for i, a in enumerate(self.alive) if a]


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
    h = config.sync_period
    duration = float(schedule.duration)
    n_chunks = math.ceil(duration / h)
    delay_chunks = max(0, round(config.metrics_delay / h))
    cpu = recipe.cpu_limit
    k = profile.concurrency(cpu)
    busy_cores = min(cpu, profile.cpu_per_request(cpu) * k / profile.service_mean(cpu))
    crashes = recipe.memory_limit < profile.memory_mib  # OOM-killed at start: never ready
    startup = config.scheduling_seconds + profile.startup_seconds

    arrivals = schedule.open_arrivals(rng)
    occupancy = profile.sample_service(cpu, rng.random(arrivals.size)) / k
    bounds = np.searchsorted(arrivals, np.arange(n_chunks + 1) * h)
    event_mode = schedule.closed or config.balancing == "least-connection"
    pool = Pool((profile.sample_service(cpu, rng.random(1 << 16)) / k).tolist(), rng.random(1 << 16).tolist())
    delays = schedule.delay.tolist()
    users = Users(rng) if schedule.closed else None

    hpa = None
    if config.replicas is None:
        hpa = HorizontalPodAutoscaler(
            recipe.hpa, tolerance=config.tolerance, downscale_stabilization=config.downscale_stabilization
        )
    pods = _Pods()
    for _ in range(config.replicas or recipe.min_replicas):
        pods.add(-1e9, -1e9, math.inf if crashes else -1e9)

    request_m = round(recipe.cpu_request * 1000)
    served_parts: list[Served] = []
    chunk_alive = np.zeros(n_chunks)
    chunk_ready = np.zeros(n_chunks)
    chunk_used = np.zeros(n_chunks)
    counter = 0
    for c in range(n_chunks):
        t0, t1 = c * h, min((c + 1) * h, duration)
        living = pods.living()
        if hpa is not None:
            metric_chunk = c - delay_chunks - 1
            metric_end = (metric_chunk + 1) * h
            samples = []
            for i in living:
                running = t0 >= pods.started[i]
                ready = t0 >= pods.ready_at[i]
                usage = pods.usage[i].get(metric_chunk) if metric_chunk >= 0 else None
                samples.append(
                    PodSample(
                        request=request_m,
                        usage=None if usage is None else round(usage * 1000),
                        phase="Running" if running else "Pending",
                        ready=ready,
                        start_time=pods.started[i] if running else None,
                        ready_transition=pods.ready_at[i] if ready else pods.started[i],
                        metric_time=metric_end,
                        metric_window=h,
                    )
                )
            desired = hpa.reconcile(t0, len(living), samples).replicas
            for _ in range(desired - len(living)):
                pods.add(t0, t0 + config.scheduling_seconds, math.inf if crashes else t0 + startup)
            if desired < len(living):
                # the ReplicaSet removes unready pods first, then the newest
                doomed = sorted(living, key=lambda i: (t0 >= pods.ready_at[i], -pods.created[i]))
                for i in doomed[: len(living) - desired]:
                    pods.alive[i] = False
            living = pods.living()

        serving = sorted((i for i in living if pods.ready_at[i] < t1), key=pods.ready_at.__getitem__)
        ready_at = np.array([pods.ready_at[i] for i in serving])
        free_at = np.array([pods.free_at[i] for i in serving])
        free_before = free_at.copy()
        lo, hi = bounds[c], bounds[c + 1]
        if users is not None:
            for sec in range(int(t0), int(math.ceil(t1))):
                if sec == 0 or schedule.users[sec] != schedule.users[sec - 1]:
                    users.resize(float(sec), int(schedule.users[sec]), float(schedule.delay[sec]))
        if event_mode:
            outstanding = [pods.outstanding[i] for i in serving]
            part, counter = serve_events(
                t1,
                arrivals[lo:hi],
                pool,
                ready_at,
                free_at,
                counter,
                least_connection=config.balancing == "least-connection",
                users=users,
                delay=delays,
                outstanding=outstanding,
            )
        else:
            part, counter = serve_round_robin(arrivals[lo:hi], occupancy[lo:hi], ready_at, free_at, counter)
        served_parts.append(part)
        for i, f in zip(serving, free_at.tolist(), strict=True):
            pods.free_at[i] = f

        # CPU: work conservation per replica: backlog at t0 + work arrived - backlog left at t1
        span = t1 - t0
        used = dict.fromkeys(living, profile.idle_cpu)
        if serving:
            busy = np.maximum(free_before - t0, 0.0) + part.work - np.maximum(free_at - t1, 0.0)
            frac = np.minimum(busy / span, 1.0)
            cores = (frac * busy_cores + (1 - frac) * profile.idle_cpu).tolist()
            used.update(zip(serving, cores, strict=True))
        for i, u in used.items():
            if t0 >= pods.started[i]:
                pods.usage[i][c] = u
        chunk_alive[c] = len(living)
        chunk_ready[c] = len(serving)
        chunk_used[c] = sum(used.values())

    return _windows(recipe, config, schedule, served_parts, chunk_alive, chunk_ready, chunk_used, k)


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
    if arrival.size > 1 and not np.all(arrival[1:] >= arrival[:-1]):
        order = np.argsort(arrival, kind="stable")
        arrival, depart, occ, pod = arrival[order], depart[order], occ[order], pod[order]
    failed = pod < 0
    latency = depart - arrival
    if k != 1:
        latency += occ * (k - 1)
    latency[failed] = np.inf
    edges = np.searchsorted(arrival, np.arange(n_windows + 1) * w)
    edges[-1] = arrival.size
    p50, p99, mean = _percentiles(edges, latency)
    done = np.minimum((depart[~failed] // w).astype(np.int64), n_windows - 1)
    throughput = np.bincount(done, minlength=n_windows)[:n_windows] / w
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
