"""The CFS model's vectorised paths against the request-by-request ``cfs_finish`` they replace.

``cfs_depart`` serves many replicas' requests at once; ``serve_cfs_round_robin`` and the batched periods of
``Cluster`` use it for open-loop round-robin traffic. Each is checked against ``cfs_finish`` (the event
loop) on random inputs: periods, budgets, phases, back-to-back bursts, idle gaps, overloads, several calls
in a row carrying the replicas' state.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from kubelab.recipe import _cluster
from kubelab.recipe._cfs import Cfs, cfs_depart, cfs_finish
from kubelab.recipe._queue import Pool, serve_cfs_round_robin, serve_events, settle
from kubelab.recipe._recipe import Recipe
from kubelab.recipe._schedule import Schedule
from kubelab.recipe._server import QUANTILES, AllowancePoint, ServerProfile, synthetic_profile
from kubelab.recipe._sim import SimConfig, simulate

TOL = 1e-9


def _replicas(rng: np.random.Generator, n: int) -> list[Cfs]:
    """``n`` replicas' quota states, one period and budget for all (as the simulator has) or one each."""
    period = float(rng.choice([0.1, 0.05, rng.uniform(0.01, 0.3)]))
    run = period * float(rng.uniform(0.05, 0.95))
    if rng.random() < 0.3:
        periods = rng.uniform(0.5, 2.0, n) * period
        return [Cfs(float(p), float(p * rng.uniform(0.05, 0.95)), float(rng.uniform(0.0, p))) for p in periods]
    return [Cfs(period, run, float(rng.uniform(0.0, period))) for _ in range(n)]


def _arrivals(rng: np.random.Generator, t: float, m: int, mean_gap: float, period: float) -> np.ndarray:
    """``m`` arrivals from ``t``: exponential gaps, some bursts (same instant), some idle gaps of periods."""
    gaps = rng.exponential(mean_gap, m)
    gaps[rng.random(m) < rng.uniform(0.0, 0.5)] = 0.0
    idle = rng.random(m) < 0.05
    gaps[idle] += rng.uniform(0.0, 5 * period, int(idle.sum()))
    return t + np.cumsum(gaps)


def _one_by_one(arrival: np.ndarray, work: np.ndarray, pod: np.ndarray, free: np.ndarray, cfs: list[Cfs]) -> np.ndarray:
    depart = np.empty(arrival.size)
    for i in range(arrival.size):
        p = int(pod[i])
        depart[i] = free[p] = cfs_finish(max(float(arrival[i]), float(free[p])), float(work[i]), cfs[p])
    return depart


def _assert_same_state(a: list[Cfs], b: list[Cfs]) -> None:
    assert [c.index for c in a] == [c.index for c in b]
    assert [c.used for c in a] == pytest.approx([c.used for c in b], abs=TOL)


@pytest.mark.parametrize("seed", range(400))
def test_cfs_depart_equals_cfs_finish(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    slow = _replicas(rng, n)
    fast = [replace(c) for c in slow]
    period, run = slow[0].period, slow[0].run
    free_slow, free_fast = np.full(n, -np.inf), np.full(n, -np.inf)
    t = float(rng.uniform(0.0, 1000.0))
    for _ in range(int(rng.integers(1, 6))):  # calls in a row: the state carries over
        m = int(rng.integers(1, 300))
        mean_work = float(rng.uniform(0.1, 3.0)) * run  # from hardly throttled to far overloaded
        arrival = _arrivals(rng, t, m, float(rng.uniform(0.2, 3.0)) * mean_work * n, period)
        t = float(arrival[-1]) + float(rng.uniform(0.0, 2 * period))
        work = rng.exponential(mean_work, m) + 1e-6
        pod = rng.integers(0, n, m)
        order = np.argsort(pod, kind="stable")
        arrival, work, pod = arrival[order], work[order], pod[order]

        expected = _one_by_one(arrival, work, pod, free_slow, slow)
        depart, leave, used = cfs_depart(arrival, work, pod, free_fast, fast)
        last = np.flatnonzero(np.concatenate((pod[1:] != pod[:-1], [True])))
        free_fast[pod[last]] = depart[last]
        settle([fast[p] for p in pod[last].tolist()], leave[last], used[last])

        assert np.max(np.abs(depart - expected)) <= TOL
        np.testing.assert_allclose(free_fast, free_slow, rtol=0, atol=TOL)  # -inf: no request yet
        _assert_same_state(slow, fast)


def test_cfs_depart_exact_pattern() -> None:
    # 10 ms requests back to back under a 50 ms budget per 100 ms: five a period, the sixth waits for the next
    one = np.zeros(7, dtype=np.int64)
    depart, leave, used = cfs_depart(np.zeros(7), np.full(7, 0.01), one, np.full(1, -np.inf), [Cfs(0.1, 0.05, 0.0)])
    assert depart == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.05, 0.11, 0.12], abs=TOL)
    assert leave.tolist() == [0, 0, 0, 0, 0, 1, 1]
    assert used == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.05, 0.01, 0.02], abs=TOL)


@pytest.mark.parametrize("seed", range(60))
def test_serve_cfs_round_robin_equals_the_event_loop(seed: int) -> None:
    # replicas becoming ready during the period (and none ready at first: refused requests)
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(1, 5))
    slow = _replicas(rng, n)
    fast = [replace(c) for c in slow]
    ready = np.sort(rng.uniform(-10.0, 10.0, n))
    draws = (rng.exponential(float(rng.uniform(0.2, 2.0)) * slow[0].run, 512) + 1e-6).tolist()
    pool_slow, pool_fast = Pool(draws, [0.5] * 512), Pool(draws, [0.5] * 512)
    free_slow, free_fast = np.full(n, -np.inf), np.full(n, -np.inf)
    counter_slow = counter_fast = int(rng.integers(0, 10))
    for c in range(4):
        t0, t1 = c * 5.0, (c + 1) * 5.0
        arrival = np.sort(rng.uniform(t0, t1, int(rng.integers(0, 200))))
        expected, counter_slow = serve_events(
            t1, arrival, pool_slow, ready, free_slow, counter_slow,
            least_connection=False, users=None, delay=[], outstanding=[], cfs=slow,
        )  # fmt: skip
        got, counter_fast = serve_cfs_round_robin(arrival, pool_fast, ready, free_fast, counter_fast, fast)
        assert counter_fast == counter_slow and pool_fast.k == pool_slow.k
        assert np.array_equal(got.pod, expected.pod) and np.array_equal(got.occupancy, expected.occupancy)
        assert np.max(np.abs(got.depart - expected.depart), initial=0.0) <= TOL
        assert got.work == pytest.approx(expected.work, abs=TOL)
        np.testing.assert_allclose(free_fast, free_slow, rtol=0, atol=TOL)  # -inf: no request yet
        _assert_same_state(slow, fast)


def test_a_simulated_day_under_a_quota_equals_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # three hours of sine load with the HPA scaling 1..8 replicas: batched periods (cut where the HPA scales)
    # and single periods with pods starting, against every request through cfs_finish
    t = np.arange(3 * 3600)
    rate = 30 * (1 + 2 / 3 * np.sin(2 * np.pi * t / 3600))
    schedule = Schedule(rate, np.zeros(t.size, dtype=np.int64), np.zeros(t.size))
    single = synthetic_profile(serial_s=0.020, parallel_cpu_s=0.0, max_threads=1)
    free = next(p for p in single.points if p.cpu >= 1.0).service_quantiles
    profile = replace(single, free_quantiles=free, cfs_period=0.1)
    plan = Recipe(0.5, 0.5, 2048.0, 2048.0, 1, 8, 60)
    assert profile.cfs(0.5) is not None
    fast = simulate(plan, profile, schedule, SimConfig(slo_p99=0.25))

    post_init = _cluster.Cluster.__post_init__

    def event_loop(self: _cluster.Cluster) -> None:
        post_init(self)
        self.event_mode = True  # request by request, period by period, as before the vectorised model

    monkeypatch.setattr(_cluster.Cluster, "__post_init__", event_loop)
    slow = simulate(plan, profile, schedule, SimConfig(slo_p99=0.25))
    assert slow.replicas[0] < slow.replicas.max() > 3 and slow.replicas[-1] < slow.replicas.max()  # HPA: up, down
    assert np.array_equal(fast.arrival, slow.arrival) and np.array_equal(fast.replicas, slow.replicas)
    assert np.max(np.abs(fast.latency - slow.latency)) <= TOL
    assert fast.cpu_used == pytest.approx(slow.cpu_used, abs=TOL)


def test_measured_phases_set_where_each_replica_s_periods_start() -> None:
    # one user, 10 ms a request back to back, 50 ms of budget per 100 ms from t = 0: with periods starting
    # at 0 the sixth request (index 5) is the first throttled; starting at 35 ms, the first period ends
    # halfway through the fourth request, the next period's budget lasts to halfway through the ninth
    at_quota = np.quantile([0.01] * 4 + [0.06], QUANTILES)
    point = AllowancePoint(0.5, tuple(float(v) for v in at_quota), 0.01, 50.0)
    free = tuple(0.01 + 1e-12 * i for i in range(len(QUANTILES)))
    profile = ServerProfile((point,), 100.0, 1.0, method="cgroup v1 cfs quota", free_quantiles=free, cfs_period=0.1)
    plan = Recipe(0.5, 0.5, 512.0, 512.0, 1, 1, 80)
    load = Schedule.constant(5, users=1)
    for phases, first in (((), 5), ((0.0,), 5), ((0.035,), 8), ((0.135,), 8)):  # taken modulo the period
        lat = simulate(plan, profile, load, SimConfig(replicas=1, cfs_phases=phases)).latency
        assert np.flatnonzero(lat > 0.03)[0] == first, phases
