"""The simulator's queues against queueing theory, at fixed replica counts (no HPA).

* one replica, Poisson arrivals, exponential service: M/M/1, response time exponential with rate mu - lambda;
* c replicas behind round-robin: each replica sees every c-th arrival, Erlang-c inter-arrival times, so
  E_c/M/1: response time exponential with rate mu (1 - sigma), sigma the root of
  sigma = (lambda / (lambda + mu (1 - sigma)))^c (GI/M/1, Kleinrock vol. 1 §6.4);
* least-connection: between the central-queue M/M/c (Erlang C) and round-robin;
* closed loop (siege users with think time): mean-value analysis of one FCFS exponential server and a
  delay station (exact; the delay station is insensitive to the think-time distribution), and the
  interactive response time law X = N / (R + Z);
* a replica under a CFS quota (100 ms period): the exact per-period pattern of a deterministic server.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from kubelab.recipe._recipe import Recipe
from kubelab.recipe._schedule import Schedule
from kubelab.recipe._server import QUANTILES, AllowancePoint, ServerProfile
from kubelab.recipe._sim import SimConfig, simulate
from tests.recipe.conftest import ExponentialServer

RECIPE = Recipe(1.0, 1.0, 512.0, 512.0, 1, 10, 80)


def _run(replicas: int, schedule: Schedule, mean_s: float, balancing: str = "round-robin", seed: int = 1):  # type: ignore[no-untyped-def]
    config = SimConfig(replicas=replicas, balancing=balancing, seed=seed)  # type: ignore[arg-type]
    result = simulate(RECIPE, ExponentialServer(mean_s), schedule, config)
    warm = result.arrival > 300  # drop the first five minutes
    return result, result.latency[warm]


def test_mm1_mean_and_percentiles() -> None:
    lam, mu = 7.0, 10.0
    _, lat = _run(1, Schedule.constant(20000, rate=lam), 1 / mu)
    rate = mu - lam
    assert lat.mean() == pytest.approx(1 / rate, rel=0.04)
    assert np.percentile(lat, 50) == pytest.approx(math.log(2) / rate, rel=0.04)
    assert np.percentile(lat, 99) == pytest.approx(math.log(100) / rate, rel=0.06)


def _sigma(lam: float, mu: float, c: int) -> float:
    sigma = 0.5
    for _ in range(500):
        sigma = (lam / (lam + mu * (1 - sigma))) ** c
    return sigma


@pytest.mark.parametrize("c", [2, 4])
def test_round_robin_is_erlang_c_over_m_1(c: int) -> None:
    lam_per, mu = 7.0, 10.0  # each replica receives lambda/c... here lambda_total = c * 7
    _, lat = _run(c, Schedule.constant(12000, rate=lam_per * c), 1 / mu)
    # every c-th of a Poisson(c*7) stream: Erlang-c inter-arrival with phase rate c*7
    sigma = _sigma(lam_per * c, mu, c)
    rate = mu * (1 - sigma)
    assert lat.mean() == pytest.approx(1 / rate, rel=0.04)
    assert np.percentile(lat, 99) == pytest.approx(math.log(100) / rate, rel=0.08)


def _erlang_c_response(lam: float, mu: float, c: int) -> float:
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam) + 1 / mu


def test_least_connection_between_mmc_and_round_robin() -> None:
    c, lam, mu = 4, 28.0, 10.0
    _, lc = _run(c, Schedule.constant(8000, rate=lam), 1 / mu, "least-connection")
    mmc = _erlang_c_response(lam, mu, c)
    rr = 1 / (mu * (1 - _sigma(lam, mu, c)))
    assert mmc * 0.97 < lc.mean() < rr
    assert lc.mean() == pytest.approx(mmc, rel=0.15)


def _mva(n: int, s: float, z: float) -> tuple[float, float]:
    q = 0.0
    r = x = 0.0
    for k in range(1, n + 1):
        r = s * (1 + q)
        x = k / (r + z)
        q = x * r
    return x, r


@pytest.mark.parametrize(("users", "delay"), [(5, 1.0), (20, 2.0), (10, 0.2)])
def test_closed_loop_matches_mva_and_the_response_time_law(users: int, delay: float) -> None:
    s = 0.05
    result, lat = _run(1, Schedule.constant(6000, users=users, delay=delay), s)
    warm = result.start >= 300
    x_measured = result.throughput[warm].mean()
    r_measured = lat.mean()
    x_mva, r_mva = _mva(users, s, delay / 2)
    assert x_measured == pytest.approx(x_mva, rel=0.03)
    assert r_measured == pytest.approx(r_mva, rel=0.05)
    assert x_measured == pytest.approx(users / (r_measured + delay / 2), rel=0.03)


def test_common_random_numbers_make_runs_repeatable() -> None:
    a, _ = _run(2, Schedule.constant(900, rate=10), 0.1, seed=5)
    b, _ = _run(2, Schedule.constant(900, rate=10), 0.1, seed=5)
    assert np.array_equal(a.latency, b.latency)


def _quota_server(cpu_s: float = 0.010) -> ServerProfile:
    """One request at a time burns ``cpu_s`` of one core; measured under a 0.5-core quota (100 ms period)
    back to back: four requests of ``cpu_s`` and one throttled to the next period, as CFS does."""
    at_quota = np.quantile([cpu_s] * 4 + [cpu_s + 0.05], QUANTILES)
    point = AllowancePoint(0.5, tuple(float(v) for v in at_quota), cpu_s, 0.5 / cpu_s)
    free = tuple(cpu_s + 1e-9 * i for i in range(len(QUANTILES)))
    return ServerProfile((point,), 100.0, 1.0, method="cgroup v1 cfs quota", free_quantiles=free, cfs_period=0.1)


QUOTA = Recipe(0.5, 0.5, 512.0, 512.0, 1, 1, 80)


def test_cfs_quota_throttles_per_period() -> None:
    # one user, no think time: 50 ms of budget a period = five 10 ms requests, the fifth's successor waits
    # out the period's last 50 ms; so 50 req/s, 4 of 5 latencies 10 ms, 1 of 5 60 ms (exact, deterministic)
    profile = _quota_server()
    assert profile.cfs(0.5) == pytest.approx((0.1, 0.05))
    result = simulate(QUOTA, profile, Schedule.constant(120, users=1), SimConfig(replicas=1))
    lat = result.latency[result.arrival > 10]
    assert result.throughput[1:].mean() == pytest.approx(50.0, rel=0.01)
    assert np.mean(np.isclose(lat, 0.010)) == pytest.approx(0.8, abs=0.01)
    assert np.mean(np.isclose(lat, 0.060)) == pytest.approx(0.2, abs=0.01)


def test_cfs_quota_hardly_throttles_a_lightly_loaded_replica() -> None:
    # one request per ~200 ms never spends a period's 50 ms: every request takes its 10 ms; the older model
    # (service times drawn from the distribution measured back to back) has a fifth of them throttled
    profile = _quota_server()
    load = Schedule.constant(300, users=1, delay=0.4)
    lat = simulate(QUOTA, profile, load, SimConfig(replicas=1)).latency
    assert np.allclose(lat, 0.010)
    older = simulate(QUOTA, profile, load, SimConfig(replicas=1, cfs_throttling=False)).latency
    assert 0.1 < np.mean(older > 0.03) < 0.25 and np.percentile(older, 99) > 0.05


def test_cfs_not_modelled_where_the_quota_is_never_reached() -> None:
    assert _quota_server().cfs(1.0) is None  # one core: a one-threaded server never spends the quota
    assert ExponentialServer(0.1).cfs(0.5) is None  # nothing measured without the quota
