"""The simulation loop: pods, the HPA's syncs, and serving each sync period (``_sim`` is the front).

Serving several sync periods at once is the fast path. When no pod is starting and the traffic is open
loop and round-robin (with or without a CFS quota), the loop serves a batch of periods in one go,
assuming the HPA will change nothing; it then runs the HPA's syncs inside the batch in order (each reads
CPU samples of periods already served, as the metrics delay is at least one period). At the first sync
that changes the replica count, the batch is cut there: requests that arrived before the cut keep their
departures (FCFS: later arrivals cannot change them), the replicas' state (free time, quota state) is
rewound to the cut, and the loop goes on from it with the new replica set. Results equal serving period
by period (to float rounding).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from kubelab.recipe._cfs import Cfs
from kubelab.recipe._hpa import HorizontalPodAutoscaler, PodSample
from kubelab.recipe._queue import (
    Pool,
    Served,
    Users,
    cfs_round_robin_batch,
    round_robin_batch,
    serve_cfs_round_robin,
    serve_events,
    serve_round_robin,
    settle,
)

__all__ = ["Cluster", "Pods"]

F64 = npt.NDArray[np.float64]


@dataclass
class Pods:
    """Every pod ever created, by index: timings, liveness, per-period CPU use, queue state."""

    created: list[float] = field(default_factory=list)
    started: list[float] = field(default_factory=list)
    ready_at: list[float] = field(default_factory=list)
    alive: list[bool] = field(default_factory=list)
    usage: list[dict[int, float]] = field(default_factory=list)
    free_at: list[float] = field(default_factory=list)
    outstanding: list[deque[float]] = field(default_factory=list)
    cfs: list[Cfs] = field(default_factory=list)
    quota: tuple[float, float] | None = None
    phases: tuple[float, ...] = ()

    def add(self, created: float, started: float, ready_at: float) -> None:
        """A new pod. Under a CFS quota its periods start at a phase of its own: ``phases[i]`` where given
        (measured), else pod ``i`` at ``i x 0.618`` of a period (spread evenly). The relative phase of two
        cgroups' periods varies from run to run on one machine, and with two replicas at 4 users the p50
        moves with it (measured 13.7-19.8 ms; the model 13.8 ms at offset 0, 17.5-17.7 ms from 25 ms)."""
        self.created.append(created)
        self.started.append(started)
        self.ready_at.append(ready_at)
        self.alive.append(True)
        self.usage.append({})
        self.free_at.append(-math.inf)
        self.outstanding.append(deque())
        if self.quota is not None:
            period, run = self.quota
            i = len(self.cfs)
            phase = self.phases[i] % period if i < len(self.phases) else (i * 0.6180339887498949) % 1.0 * period
            self.cfs.append(Cfs(period, run, phase))

    def living(self) -> list[int]:
        """Indices of pods not deleted."""
        return [i for i, a in enumerate(self.alive) if a]


@dataclass
class Cluster:
    """State and loop of one simulation; ``run()`` fills ``parts`` and the per-period arrays."""

    hpa: HorizontalPodAutoscaler | None
    h: float
    duration: float
    delay_chunks: int
    request_m: int
    busy_cores: float
    idle_cpu: float
    scheduling_s: float
    startup_s: float
    crashes: bool
    arrivals: F64
    occupancy: F64
    pool: Pool
    users: Users | None
    user_counts: npt.NDArray[np.int64]
    delays: list[float]
    least_connection: bool
    batch: int = 8
    cfs: tuple[float, float] | None = None
    cpu_limit: float = math.inf
    phases: tuple[float, ...] = ()
    pods: Pods = field(default_factory=Pods)
    parts: list[Served] = field(default_factory=list)
    counter: int = 0

    def __post_init__(self) -> None:
        self.n_chunks = math.ceil(self.duration / self.h)
        self.bounds = np.searchsorted(self.arrivals, np.arange(self.n_chunks + 1) * self.h)
        self.alive_n = np.zeros(self.n_chunks)
        self.ready_n = np.zeros(self.n_chunks)
        self.used = np.zeros(self.n_chunks)
        self.event_mode = self.users is not None or self.least_connection
        self.pods.quota, self.pods.phases = self.cfs, self.phases

    # -- the HPA -----------------------------------------------------------------------------------------

    def sync(self, c: int) -> bool:
        """The HPA's sync at the start of period ``c``; applies its decision. Returns whether it scaled."""
        if self.hpa is None:
            return False
        pods, t0, h = self.pods, c * self.h, self.h
        living = pods.living()
        metric_chunk = c - self.delay_chunks - 1
        samples = []
        for i in living:
            running = t0 >= pods.started[i]
            ready = t0 >= pods.ready_at[i]
            usage = pods.usage[i].get(metric_chunk) if metric_chunk >= 0 else None
            samples.append(
                PodSample(
                    request=self.request_m,
                    usage=None if usage is None else round(usage * 1000),
                    phase="Running" if running else "Pending",
                    ready=ready,
                    start_time=pods.started[i] if running else None,
                    ready_transition=pods.ready_at[i] if ready else pods.started[i],
                    metric_time=(metric_chunk + 1) * h,
                    metric_window=h,
                )
            )
        desired = self.hpa.reconcile(t0, len(living), samples).replicas
        for _ in range(desired - len(living)):
            ready_at = math.inf if self.crashes else t0 + self.scheduling_s + self.startup_s
            pods.add(t0, t0 + self.scheduling_s, ready_at)
        if desired < len(living):
            # the ReplicaSet removes unready pods first, then the newest
            doomed = sorted(living, key=lambda i: (t0 >= pods.ready_at[i], -pods.created[i]))
            for i in doomed[: len(living) - desired]:
                pods.alive[i] = False
        return desired != len(living)

    # -- serving -----------------------------------------------------------------------------------------

    def _record(self, c: int, living: list[int], serving: list[int], busy: F64) -> None:
        """CPU use of every living pod over period ``c`` (``busy``: seconds, for the serving ones)."""
        t0 = c * self.h
        span = min((c + 1) * self.h, self.duration) - t0
        used = dict.fromkeys(living, self.idle_cpu)
        if serving:
            frac = np.minimum(busy / span, 1.0)
            cores = np.minimum(frac * self.busy_cores + (1 - frac) * self.idle_cpu, self.cpu_limit)
            used.update(zip(serving, cores.tolist(), strict=True))
        for i, u in used.items():
            if t0 >= self.pods.started[i]:
                self.pods.usage[i][c] = u
        self.alive_n[c] = len(living)
        self.ready_n[c] = len(serving)
        self.used[c] = sum(used.values())

    def serve_one(self, c: int) -> None:
        """Serve period ``c`` on its own."""
        pods = self.pods
        t0, t1 = c * self.h, min((c + 1) * self.h, self.duration)
        living = pods.living()
        serving = sorted((i for i in living if pods.ready_at[i] < t1), key=pods.ready_at.__getitem__)
        ready_at = np.array([pods.ready_at[i] for i in serving])
        free_at = np.array([pods.free_at[i] for i in serving])
        free_before = free_at.copy()
        lo, hi = self.bounds[c], self.bounds[c + 1]
        if self.users is not None:
            for sec in range(int(t0), int(math.ceil(t1))):
                if sec == 0 or self.user_counts[sec] != self.user_counts[sec - 1]:
                    self.users.resize(float(sec), int(self.user_counts[sec]), self.delays[sec])
        if self.event_mode:
            part, self.counter = serve_events(
                t1,
                self.arrivals[lo:hi],
                self.pool,
                ready_at,
                free_at,
                self.counter,
                least_connection=self.least_connection,
                users=self.users,
                delay=self.delays,
                outstanding=[pods.outstanding[i] for i in serving],
                cfs=[pods.cfs[i] for i in serving] if self.cfs is not None else None,
            )
        elif self.cfs is not None:
            part, self.counter = serve_cfs_round_robin(
                self.arrivals[lo:hi], self.pool, ready_at, free_at, self.counter, [pods.cfs[i] for i in serving]
            )
        else:
            part, self.counter = serve_round_robin(
                self.arrivals[lo:hi], self.occupancy[lo:hi], ready_at, free_at, self.counter
            )
        self.parts.append(part)
        for i, f in zip(serving, free_at.tolist(), strict=True):
            pods.free_at[i] = f
        # work conservation per replica: backlog at t0 + work arrived - backlog left at t1
        busy = np.maximum(free_before - t0, 0.0) + part.work - np.maximum(free_at - t1, 0.0)
        self._record(c, living, serving, busy)

    def serve_batch(self, c: int, n: int) -> int:
        """Serve periods ``c .. c+n-1`` at once, then run the syncs inside; returns the periods kept."""
        pods, h = self.pods, self.h
        living = pods.living()
        serving = sorted(living, key=pods.ready_at.__getitem__)
        lo, hi = self.bounds[c], self.bounds[c + n]
        free0 = np.array([pods.free_at[i] for i in serving])
        at = self.bounds[c : c + n + 1] - lo
        cfs = [pods.cfs[i] for i in serving] if self.cfs is not None else []
        if cfs:
            batch = cfs_round_robin_batch(self.arrivals[lo:hi], self.pool, free0, cfs, self.counter, at)
        else:
            batch = round_robin_batch(self.arrivals[lo:hi], self.occupancy[lo:hi], free0, self.counter, at)
        edges = np.minimum(np.arange(c, c + n + 1) * h, self.duration)
        backlog = np.maximum(batch.free - edges[:, None], 0.0)
        busy = backlog[:-1] + batch.work - backlog[1:]  # work conservation, every period and replica at once
        frac = np.minimum(busy / np.diff(edges)[:, None], 1.0)
        cores = np.minimum(frac * self.busy_cores + (1 - frac) * self.idle_cpu, self.cpu_limit)
        periods = range(c, c + n)
        for i, column in zip(serving, cores.T.tolist(), strict=True):  # all living pods serve: none is starting
            pods.usage[i].update(zip(periods, column, strict=True))
        self.alive_n[c : c + n] = len(living)
        self.ready_n[c : c + n] = len(serving)
        self.used[c : c + n] = cores.sum(axis=1)
        kept = n
        for j in range(1, n):
            if self.sync(c + j):
                kept = j
                for i in living:  # CPU samples of periods not kept are void
                    for k in range(c + j, c + n):
                        pods.usage[i].pop(k, None)
                break
        cut = int(self.bounds[c + kept] - lo)
        self.parts.append(batch.served.head(cut))
        self.counter += cut
        for i, f in zip(serving, batch.free[kept].tolist(), strict=True):
            pods.free_at[i] = f
        if batch.quota is not None:  # under a quota: the replicas' state at the cut, the draws not used
            settle(cfs, batch.quota[0][kept], batch.quota[1][kept])
            self.pool.k -= hi - lo - cut
        return kept

    def run(self) -> None:
        """Sync, serve, repeat to the end of the load."""
        c = 0
        synced = False
        while c < self.n_chunks:
            if not synced:
                self.sync(c)
            synced = False
            t0 = c * self.h
            living = self.pods.living()
            steady = bool(living) and all(self.pods.ready_at[i] <= t0 for i in living)
            n = min(self.batch, self.n_chunks - c)
            if not self.event_mode and steady and n > 1:
                kept = self.serve_batch(c, n)
                synced = kept < n  # the sync at c + kept already ran (and scaled)
                c += kept
            else:
                self.serve_one(c)
                c += 1
