"""Replicas as FCFS queues: who serves each request and when it leaves, one sync period at a time.

Each replica serves one request at a time (a model server running one inference over all its cores);
a replica measured to serve ``k`` requests at once is approximated by one server ``k`` times as fast
for queueing, the request still taking its full service time (``extra``). Departures follow Lindley's
recursion ``d_n = max(a_n, d_{n-1}) + s_n``, which for a replica's requests in arrival order is

    d_n = S_n + max(F, max_{k<=n}(a_k - S_{k-1}))      with S the running sum of service times,

so a whole period of round-robin traffic is a handful of numpy operations (a cumulative maximum made
segmented by offsetting each replica's values). Least-connection balancing and closed-loop users (whose
next request depends on the last response) take the event loop, ``serve_events``. A replica under a CFS
quota serves at full speed until its period's budget is spent, then waits for the next period
(``_cfs``): request by request in the event loop (``cfs_finish``), and for round-robin open arrivals a
period or a batch of periods at once (``serve_cfs_round_robin``, ``cfs_round_robin_batch``).
"""

from __future__ import annotations

import bisect
import heapq
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from kubelab.recipe._cfs import Cfs, cfs_depart, cfs_finish

__all__ = [
    "Batch",
    "Pool",
    "Served",
    "Users",
    "cfs_round_robin_batch",
    "round_robin_batch",
    "serve_cfs_round_robin",
    "serve_events",
    "serve_round_robin",
    "settle",
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
    (``free[0]`` as given, ``free[-1]`` at the end) and the ``work`` (s) each received in each period;
    under a CFS quota each replica's ``Cfs.index`` and ``Cfs.used`` at every boundary (``quota``)."""

    served: Served
    free: F64
    work: F64
    quota: tuple[I64, F64] | None = None


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


def serve_cfs_round_robin(
    arrival: F64, pool: Pool, ready_at: F64, free_at: F64, counter: int, cfs: list[Cfs]
) -> tuple[Served, int]:
    """Round-robin over the replicas ready at each arrival, each under a CFS quota (``_cfs.cfs_depart``):
    what ``serve_events`` gives for open arrivals, occupancies taken from ``pool`` in turn. Updates
    ``free_at`` and ``cfs``."""
    m, n = arrival.size, ready_at.size
    occupancy = pool.take(m)
    n_ready = np.searchsorted(ready_at, arrival, side="right")
    pod = np.full(m, -1, dtype=np.int64)
    served = np.flatnonzero(n_ready > 0)
    pod[served] = (counter + np.arange(served.size)) % n_ready[served]
    depart = arrival.copy()
    if served.size:
        idx = served[np.argsort(pod[served], kind="stable")]
        p = pod[idx]
        depart[idx], leave, used = cfs_depart(arrival[idx], occupancy[idx], p, free_at, cfs)
        last = np.flatnonzero(np.concatenate((p[1:] != p[:-1], [True])))
        free_at[p[last]] = depart[idx[last]]
        settle([cfs[i] for i in p[last].tolist()], leave[last], used[last])
    work = np.bincount(pod[served], weights=occupancy[served], minlength=n).astype(np.float64)
    return Served(arrival, depart, occupancy, pod, work), counter + served.size


def settle(cfs: list[Cfs], index: I64, used: F64) -> None:
    """Set each replica's quota state (``Cfs.index``, ``Cfs.used``)."""
    for c, i, u in zip(cfs, index.tolist(), used.tolist(), strict=True):
        c.index, c.used = i, u


def cfs_round_robin_batch(arrival: F64, pool: Pool, free_at: F64, cfs: list[Cfs], counter: int, edges: I64) -> Batch:
    """``round_robin_batch`` for replicas under a CFS quota, occupancies taken from ``pool`` in turn; the
    batch also holds each replica's quota state at every boundary. Changes neither ``free_at`` nor ``cfs``
    (``settle`` applies a boundary's state)."""
    m, n = arrival.size, free_at.size
    occupancy = pool.take(m)
    pod = (counter + np.arange(m)) % n
    idx = np.concatenate([np.arange((j - counter) % n, m, n) for j in range(n)])  # by replica, in order
    depart, leave, used = np.empty(m), np.empty(m, dtype=np.int64), np.empty(m)
    depart[idx], leave[idx], used[idx] = cfs_depart(arrival[idx], occupancy[idx], pod[idx], free_at, cfs)
    # replica j's last request before boundary b: the last i < edges[b] with (counter + i) % n == j
    e = edges[:, None] - 1
    last = e - (counter + e - np.arange(n)) % n
    before = last >= 0
    at = np.maximum(last, 0)
    free = np.where(before, depart[at], free_at)
    index = np.where(before, leave[at], np.array([c.index for c in cfs], dtype=np.int64))
    spent = np.where(before, used[at], np.array([c.used for c in cfs]))
    period = np.repeat(np.arange(edges.size - 1), np.diff(edges))
    work = np.bincount(period * n + pod, weights=occupancy, minlength=(edges.size - 1) * n).astype(np.float64)
    work = work.reshape(-1, n)
    return Batch(Served(arrival, depart, occupancy, pod, work.sum(axis=0)), free, work, (index, spent))


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
class Pool:
    """Random draws made in advance and used in turn: service occupancies and think-time fractions."""

    occupancy: list[float]
    think: list[float]
    k: int = 0
    drawn: F64 = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.drawn = np.asarray(self.occupancy, dtype=np.float64)

    def take(self, m: int) -> F64:
        """The next ``m`` occupancies (as ``m`` turns of the event loop would use them)."""
        k, self.k = self.k, self.k + m
        return self.drawn[(k + np.arange(m)) % self.drawn.size]


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
