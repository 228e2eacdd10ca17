"""Replicas as FCFS queues: who serves each request and when it leaves, one sync period at a time.

Each replica serves one request at a time (a model server running one inference over all its cores);
a replica measured to serve ``k`` requests at once is approximated by one server ``k`` times as fast
for queueing, the request still taking its full service time (``extra``). Departures follow Lindley's
recursion ``d_n = max(a_n, d_{n-1}) + s_n``, which for a replica's requests in arrival order is

    d_n = S_n + max(F, max_{k<=n}(a_k - S_{k-1}))      with S the running sum of service times,

so a whole period of round-robin traffic is a handful of numpy operations (a cumulative maximum made
segmented by offsetting each replica's values). Least-connection balancing and closed-loop users (whose
next request depends on the last response) take the event loop, ``serve_events``. So does a replica under
a CFS quota (``cfs_finish``): it serves at full speed until its period's budget is spent, then waits for
the next period, so a request's departure depends on the period's earlier requests, not on its own alone.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = [
    "Batch",
    "Cfs",
    "Pool",
    "Served",
    "Users",
    "cfs_finish",
    "round_robin_batch",
    "serve_events",
    "serve_round_robin",
]

REFUSED_RETRY_S = 1.0
"""A closed-loop user whose request was refused (no ready replica) tries again this much later."""

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass
class Served:
    """Requests of one period: arrival, departure, occupancy, replica (-1: refused, no ready replica).

    ``work`` is the occupancy each replica received (seconds), indexed like the replicas passed in.
    """

    arrival: F64
    depart: F64
    occupancy: F64
    pod: I64
    work: F64

    @staticmethod
    def empty(n_pods: int) -> Served:
        """No requests."""
        z = np.zeros(0)
        return Served(z, z, z, np.zeros(0, dtype=np.int64), np.zeros(n_pods))

    def head(self, n: int) -> Served:
        """The first ``n`` requests."""
        pod, occ = self.pod[:n], self.occupancy[:n]
        ok = pod >= 0
        work = np.bincount(pod[ok], weights=occ[ok], minlength=self.work.size).astype(np.float64)
        return Served(self.arrival[:n], self.depart[:n], occ, pod, work)


@dataclass
class Batch:
    """Several periods served at once: the requests, each replica's ``free`` time at every period boundary
    (``free[0]`` as given, ``free[-1]`` at the end) and the ``work`` (s) each received in each period."""

    served: Served
    free: F64
    work: F64


def serve_round_robin(
    arrival: F64,
    occupancy: F64,
    ready_at: F64,
    free_at: F64,
    counter: int,
) -> tuple[Served, int]:
    """Round-robin over the replicas ready at each arrival (``ready_at`` sorted); updates ``free_at``.

    Returns the period's requests and the round-robin counter to carry on with.
    """
    m, n = arrival.size, ready_at.size
    if m and n and ready_at[-1] <= arrival[0]:  # the same replicas all period: the matrix form
        batch = round_robin_batch(arrival, occupancy, free_at, counter, np.array([0, m]))
        free_at[:] = batch.free[-1]
        return batch.served, counter + m
    n_ready = np.searchsorted(ready_at, arrival, side="right")
    ok = n_ready > 0
    pod = np.full(m, -1, dtype=np.int64)
    served = np.flatnonzero(ok)
    pod[served] = (counter + np.arange(served.size)) % n_ready[served]
    depart = arrival.copy()
    if served.size:
        p = pod[served]
        order = np.argsort(p, kind="stable")
        idx = served[order]
        seg = p[order]
        a = arrival[idx]
        s = occupancy[idx]
        csum = np.cumsum(s)
        change = np.concatenate(([True], seg[1:] != seg[:-1]))
        starts = np.flatnonzero(change)
        seg_rank = np.cumsum(change) - 1
        base = (csum[starts] - s[starts])[seg_rank]
        big_s = csum - base  # S_n within the replica
        x = a - (big_s - s)  # a_k - S_{k-1}
        span = float(x.max() - x.min()) + 1.0
        run = np.maximum.accumulate(x + seg_rank * span) - seg_rank * span
        d = big_s + np.maximum(free_at[seg], run)
        depart[idx] = d
        last = np.concatenate((starts[1:] - 1, [seg.size - 1]))
        free_at[seg[last]] = d[last]
        counter += served.size
    work = np.bincount(pod[served], weights=occupancy[served], minlength=n).astype(np.float64)
    return Served(arrival, depart, occupancy, pod, work), counter


def round_robin_batch(arrival: F64, occupancy: F64, free_at: F64, counter: int, edges: I64) -> Batch:
    """Round-robin over the same replicas for several periods; ``edges`` index ``arrival`` at period bounds.

    Request ``i`` goes to replica ``(counter + i) % n``: laid out as a (rounds, n) matrix, one replica per
    column, Lindley's recursion runs down the columns (padding: arrival -inf, no work, departures
    unchanged). Then it reads each replica's last departure before every boundary: with the flat position
    ``p = offset + edges[b]``, column ``j`` last received a request in row ``p // n`` if ``j < p % n``, else
    in the row above (the first row's padding holds ``free_at``).
    """
    m, n = arrival.size, free_at.size
    off = counter % n
    rows = max(1, -(-(off + m) // n))
    a = np.full(rows * n, -np.inf)
    s = np.zeros(rows * n)
    a[off : off + m] = arrival
    s[off : off + m] = occupancy
    a2, s2 = a.reshape(rows, n), s.reshape(rows, n)
    csum = np.cumsum(s2, axis=0)
    d = csum + np.maximum(free_at, np.maximum.accumulate(a2 - (csum - s2), axis=0))
    pos = off + edges
    cols = np.arange(n)
    row = np.where(cols < (pos % n)[:, None], (pos // n)[:, None], (pos // n)[:, None] - 1)
    at = np.clip(row, 0, rows - 1), cols
    before = row >= 0
    free = np.where(before, d[at], free_at)
    work = np.diff(np.where(before, csum[at], 0.0), axis=0)  # each replica's running work at each boundary
    pod = (off + np.arange(m)) % n
    served = Served(arrival, d.ravel()[off : off + m], occupancy, pod, work.sum(axis=0))
    return Batch(served, free, work)


@dataclass
class Cfs:
    """One replica's CFS bandwidth state: periods start at ``phase + j * period`` (``_cluster.Pods.add``
    spreads the phases); in period ``index`` it
    has run ``used`` seconds of the ``run`` it may (the quota over the rate it burns CPU while serving)."""

    period: float
    run: float
    phase: float
    index: int = -(2**62)
    used: float = 0.0


def cfs_finish(start: float, work: float, cfs: Cfs) -> float:
    """When a request that starts at ``start`` and needs ``work`` seconds at full speed is done: it runs
    while the period's budget lasts, waits for the next period when it is spent (updates ``cfs``)."""
    period, run = cfs.period, cfs.run
    t = start
    j = math.floor((t - cfs.phase) / period)
    if j > cfs.index:
        cfs.index, cfs.used = j, 0.0
    while True:
        end = cfs.phase + (cfs.index + 1) * period
        can = min(run - cfs.used, end - t)
        if work <= can:
            cfs.used += work
            return t + work
        if run - cfs.used <= end - t:  # the budget runs out before the period ends: throttled to its end
            work -= run - cfs.used
        else:  # the period ends first (the replica started late in it)
            work -= end - t
        cfs.index, cfs.used, t = cfs.index + 1, 0.0, end


@dataclass
class Pool:
    """Random draws made in advance and used in turn: service occupancies and think-time fractions."""

    occupancy: list[float]
    think: list[float]
    k: int = 0


@dataclass
class Users:
    """Closed-loop users (siege ``-c``/``-d``): who sends next, and when."""

    rng: np.random.Generator
    heap: list[tuple[float, int]] = field(default_factory=list)
    active: list[int] = field(default_factory=list)
    retired: set[int] = field(default_factory=set)
    next_uid: int = 0

    def resize(self, t: float, users: int, delay: float) -> None:
        """Set the number of users from time ``t``: new users send after a first think time."""
        while len(self.active) < users:
            uid = self.next_uid
            self.next_uid += 1
            self.active.append(uid)
            heapq.heappush(self.heap, (t + float(self.rng.random()) * delay, uid))
        while len(self.active) > users:
            self.retired.add(self.active.pop())


def serve_events(
    t1: float,
    arrival: F64,
    pool: Pool,
    ready_at: F64,
    free_at: F64,
    counter: int,
    *,
    least_connection: bool,
    users: Users | None,
    delay: list[float],
    outstanding: list[deque[float]],
    cfs: list[Cfs] | None = None,
) -> tuple[Served, int]:
    """Serve requests arriving before ``t1`` one by one: open arrivals (``arrival``) and closed-loop users.

    ``outstanding`` holds each replica's departure times (for least-connection); ``free_at`` is updated.
    A user's next request leaves a uniform ``[0, delay]`` think time after its response. With ``cfs``
    (one per replica), occupancies are full-speed service times and each replica is throttled by its quota.
    """
    arr: list[float] = []
    dep: list[float] = []
    occ: list[float] = []
    pods: list[int] = []
    ready = ready_at.tolist()
    free = free_at.tolist()
    n_pods = len(ready)
    heap = users.heap if users is not None else []
    retired = users.retired if users is not None else set()
    occupancy, think = pool.occupancy, pool.think
    size = len(occupancy)
    k = pool.k
    i = 0
    opened = arrival.tolist()
    n_open = len(opened)
    horizon = len(delay)
    inf = float("inf")
    while True:
        t_open = opened[i] if i < n_open else inf
        t_user = heap[0][0] if heap else inf
        if t_open <= t_user:
            a, uid = t_open, -1
            if a >= t1:
                break
            i += 1
        else:
            a = t_user
            if a >= t1:
                break
            _, uid = heapq.heappop(heap)
            if uid in retired:
                retired.discard(uid)
                continue
        n = bisect.bisect_right(ready, a) if n_pods else 0
        s = occupancy[k % size]
        if n == 0:
            p, d = -1, a
        else:
            if least_connection:
                best, p = -1, 0
                for j in range(n):
                    q = outstanding[j]
                    while q and q[0] <= a:
                        q.popleft()
                    if best < 0 or len(q) < best:
                        best, p = len(q), j
            else:
                p = counter % n
            counter += 1
            d = (a if a > free[p] else free[p]) + s if cfs is None else cfs_finish(max(a, free[p]), s, cfs[p])
            free[p] = d
            if least_connection:
                outstanding[p].append(d)
        arr.append(a)
        dep.append(d)
        occ.append(s)
        pods.append(p)
        if uid >= 0:
            back = d if p >= 0 else a + REFUSED_RETRY_S
            if back < horizon:
                heapq.heappush(heap, (back + think[k % size] * delay[int(back)], uid))
        k += 1
    pool.k = k
    free_at[:] = free
    if not arr:
        return Served.empty(n_pods), counter
    pod_arr = np.asarray(pods, dtype=np.int64)
    occ_arr = np.asarray(occ)
    ok = pod_arr >= 0
    work = np.bincount(pod_arr[ok], weights=occ_arr[ok], minlength=n_pods).astype(np.float64)
    return Served(np.asarray(arr), np.asarray(dep), occ_arr, pod_arr, work), counter
