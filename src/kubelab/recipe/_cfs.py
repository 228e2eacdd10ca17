"""Replicas under a CFS quota: full speed until a period's budget is spent, then a wait for the next period.

``cfs_finish`` serves one request at a time (the event loop's closed-loop users and least-connection).
``cfs_depart`` serves every replica's requests of a sync period (or several) at once, in numpy. For one replica, let
``W(t)`` be the work it has done and ``S_n`` the work of its first ``n`` requests (``a_n`` their start
times, at the earliest when the replica is free). Within period ``j`` (from ``P_j``), the greedy server is
the rate-1 FCFS queue (Lindley) capped by the budget::

    W(t) = min(W_j + run,  min_{k: P_j <= a_k <= t} (S_{k-1} + t - a_k),  W_j + t - P_j,  S_{N(t)})

so request ``n`` leaves in the period ``j`` where ``W`` first reaches ``S_n``, at ``S_n + max(P_j - W_j,
max_{k <= n} (a_k - S_{k-1}))`` (the terms of earlier periods are bounds that hold anyway, lower ones of
the departure and upper ones of ``W``, so taking them in changes nothing). Across periods, ``W_{j+1} =
min(W_j + run, b_j)`` is min-plus linear: ``W_j - j run`` is a cumulative minimum. Only periods with
arrivals need it: in between, ``W`` grows by ``run`` a period up to the work arrived. Ties (a request
done just as the budget runs out) go to the earlier period, as ``cfs_finish``'s ``work <= can`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Cfs", "cfs_depart", "cfs_finish"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

TIE_S = 1e-10
"""Work (s) within which a request counts as done by a period's end (float rounding of the sums)."""

_NO_LIMIT = np.iinfo(np.int64).max


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


def _changes(key: I64) -> npt.NDArray[np.bool_]:
    """Where a run of equal ``key`` values starts."""
    change = np.empty(key.size, dtype=bool)
    change[:1] = True
    np.not_equal(key[1:], key[:-1], out=change[1:])
    return change


def cfs_depart(arrival: F64, work: F64, pod: I64, free_at: F64, cfs: list[Cfs]) -> tuple[F64, I64, F64]:
    """Requests served FCFS by replicas under a quota, as ``cfs_finish`` one by one would serve them: for
    each, its departure, the period it leaves in, and the budget its replica has used in that period then
    (the replica's ``Cfs.index`` and ``Cfs.used`` after it). Changes neither ``free_at`` nor ``cfs``.

    ``pod`` (each request's replica, an index into ``free_at`` and ``cfs``) must be sorted, and each
    replica's requests in arrival order.
    """
    starts = np.flatnonzero(_changes(pod))
    pods = pod[starts]
    period = np.array([c.period for c in cfs])[pod]
    run = np.array([c.run for c in cfs])[pod]
    phase = np.array([c.phase for c in cfs])[pod]
    index = np.array([c.index for c in cfs], dtype=np.int64)
    used = np.array([c.used for c in cfs])
    a = np.maximum(arrival, free_at[pod])  # when each could start at the earliest
    cell = np.maximum(np.floor((a - phase) / period).astype(np.int64), index[pod])
    # one work axis for all replicas: a gap of more than a budget between them keeps their W apart
    gap = np.zeros(pod.size)
    gap[starts] = run[starts] + 1.0
    total = np.cumsum(work + gap)  # S_n
    before = total - work  # S_{n-1}
    own = np.zeros(len(cfs))  # W at each replica's first period
    own[pods] = before[starts] - np.where(cell[starts] == index[pods], used[pods], 0.0)
    first_cell = np.zeros(len(cfs), dtype=np.int64)
    first_cell[pods] = cell[starts]

    # periods with arrivals ("groups"): the first and last request of each, and the next such period
    change = _changes(cell + pod * (1 << 40))
    g0, grp = np.flatnonzero(change), np.cumsum(change) - 1
    g1 = np.concatenate((g0[1:], [pod.size])) - 1
    gpod = pod[g0]
    j = cell[g0]
    first = _changes(gpod)
    last = np.concatenate((first[1:], [True]))
    j_next = np.concatenate((j[1:], [0]))
    jl = j - first_cell[gpod]  # periods since the replica's first
    r = run[g0]
    s_last = total[g1]
    x = a - before
    span = float(x.max() - x.min()) + 1.0
    lindley = np.maximum.accumulate(x + pod * span) - pod * span  # max_{k<=n} (a_k - S_{k-1}), per replica
    # W at the period's end is at most the rate-1 queue's from any earlier arrival: P_{j+1} - lindley
    queue_end = (phase + (cell + 1) * period - lindley)[g1]
    # V = W - jl * run at each group's period start: a cumulative minimum, segmented by replica
    step = np.minimum(queue_end - (jl + 1) * r, s_last - (jl + np.where(last, 1, j_next - j)) * r)
    z = np.where(first, own[gpod], np.concatenate(([0.0], step[:-1])))
    span = float(z.max() - z.min()) + 1.0
    w_start = np.minimum.accumulate(z - gpod * span) + gpod * span + jl * r
    w_end = np.minimum(np.minimum(w_start + r, s_last), queue_end)

    # each request leaves in the period where W first reaches its S_n (less a rounding margin): most in
    # the one they arrived in, the others in a later arrival's period or in a gap between (W += run a period)
    leave, w_leave = cell.copy(), w_start[grp]
    later = np.flatnonzero(w_end[grp] < total - TIE_S)
    if later.size:
        key = total[later] - TIE_S
        checkpoints = np.maximum.accumulate(np.column_stack((w_start, w_end)).ravel())
        q = np.maximum(np.searchsorted(checkpoints, key) - 1, 2 * grp[later])
        g, in_gap = q >> 1, (q & 1).astype(bool)
        steps = np.ceil((key - w_end[g]) / run[later]).astype(np.int64) - 1
        room = np.where(last[g], _NO_LIMIT, j_next[g] - j[g] - 2)
        steps = np.where(in_gap, np.clip(steps, 0, np.maximum(room, 0)), 0)
        leave[later] = j[g] + in_gap + steps
        w_leave[later] = np.where(in_gap, w_end[g] + steps * run[later], w_start[g])
    depart = total + np.maximum(phase + leave * period - w_leave, lindley)
    return depart, leave, total - w_leave
