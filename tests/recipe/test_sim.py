"""The simulator end to end: the HPA's reaction times, steady state, stabilisation, costs, failures."""

from __future__ import annotations

import numpy as np
import pytest

from kubelab.recipe._recipe import Recipe
from kubelab.recipe._schedule import Schedule
from kubelab.recipe._sim import SimConfig, simulate
from tests.recipe.conftest import ExponentialServer


def _steps(*parts: tuple[int, float]) -> Schedule:
    rate = np.concatenate([np.full(seconds, r) for seconds, r in parts])
    return Schedule(rate, np.zeros(rate.size, dtype=np.int64), np.zeros(rate.size))


SERVER = ExponentialServer(0.001, startup_seconds=10.0)  # 1 ms of one core per request
RECIPE = Recipe(0.5, 1.0, 256.0, 256.0, 1, 10, 50)


def test_step_up_and_down() -> None:
    # 100 req/s for 5 min, 2000 req/s for 10 min, 100 req/s for 10 min; request 500m, target 50 %.
    result = simulate(RECIPE, SERVER, _steps((300, 100.0), (600, 2000.0), (600, 100.0)), SimConfig(slo_p99=1.0))
    pods = result.pods
    # 100 req/s x 1 ms = 0.1 core = 20 % of the request: one replica is enough
    assert np.all(pods[:5] == 1)
    # the step lands at 300 s; the sync at 315 s reads [285, 300) (15 s metrics delay): no change; the sync
    # at 330 s reads [300, 315): the replica at 100 % busy = 1 core = 200 % -> ratio 4 -> 4 pods (legacy cap
    # max(2 x 1, 4) = 4). Minute 5 = 1, 1, 4, 4 pods over its four sync periods.
    assert pods[5] == pytest.approx(2.5)
    # steady state: each pod uses (2000 / n) x 1 ms cores = 400 / n % of its request -> n = 8 at 50 %.
    # It overshoots to 10 while the first replica's backlog (built up alone during the first 42 s) drains;
    # the last recommendation of 10 ages out of the 300 s window during minute 12.
    assert pods[7:12].max() == 10
    assert np.all(pods[13:15] == 8)
    # load drops at 900 s; the sync at 915 s still reads [885, 900) -> the last high recommendation is at
    # 915 s; the legacy path keeps the highest recommendation of the last 300 s: down at the sync where
    # 915 < t - 300, t = 1230 s, straight to 1 (no scale-down rate limit without behavior).
    # Minute 20 = 8, 8, 1, 1 pods.
    assert np.all(pods[15:20] == 8)
    assert pods[20] == pytest.approx(4.5)
    assert np.all(pods[21:] == 1)
    # reserved CPU is pods x request
    assert np.allclose(result.cpu_reserved, pods * 0.5)
    assert result.cpu_core_hours == pytest.approx(float(pods.sum()) * 0.5 / 60)
    # new pods take traffic only once ready: 2 s scheduling + 10 s start-up after the 330 s decision
    assert result.replicas[5] == pytest.approx(2.5)  # the 345 s period counts pods ready within it (342 s)


def test_behavior_rate_limits_scale_up() -> None:
    from kubelab.recipe._hpa import Behavior, ScalingPolicy, ScalingRules

    slow = Recipe(
        0.5, 1.0, 256.0, 256.0, 1, 10, 50, Behavior(ScalingRules(None, None, (ScalingPolicy("Pods", 1, 60),)))
    )
    result = simulate(slow, SERVER, _steps((60, 100.0), (600, 2000.0)), SimConfig(slo_p99=1.0))
    # one pod more per 60 s: from 1 at 90 s (first sync that sees the step) to 8 takes 7 minutes
    growth = np.diff(result.pods[1:9])
    assert np.all(growth <= 1.0)
    assert result.pods[-1] == 8


def test_memory_limit_below_footprint_fails_every_request() -> None:
    tight = Recipe(0.5, 1.0, 64.0, 64.0, 2, 4, 50)  # the fake server needs 100 MiB
    result = simulate(tight, SERVER, Schedule.constant(300, rate=10), SimConfig())
    assert result.failed.sum() == result.requests.sum() > 0
    assert result.violation_fraction == 1.0


def test_closed_loop_course_like_profile() -> None:
    # 20 users with no think time against one 50 ms replica: 20 requests in the system, X = 20 req/s,
    # R = N / X = 1 s (response time law with Z = 0), far above a 100 ms objective; the HPA adds replicas.
    users = Schedule.constant(900, users=20, delay=0.0)
    server = ExponentialServer(0.05)
    fixed = simulate(RECIPE, server, users, SimConfig(replicas=1))
    assert fixed.throughput[2:].mean() == pytest.approx(20.0, rel=0.05)
    assert fixed.mean[2:].mean() == pytest.approx(1.0, rel=0.05)
    scaled = simulate(RECIPE, server, users, SimConfig(slo_p99=0.1))
    assert scaled.pods[-1] > 1
    assert scaled.throughput[-1] > fixed.throughput[-1]


def test_least_connection_avoids_the_busy_replica() -> None:
    schedule = _steps((60, 100.0), (600, 2000.0))
    rr = simulate(RECIPE, SERVER, schedule, SimConfig(slo_p99=0.05))
    lc = simulate(RECIPE, SERVER, schedule, SimConfig(slo_p99=0.05, balancing="least-connection"))
    # round-robin keeps feeding the first replica its share while it drains the backlog of the step
    assert lc.p99[2:5].mean() < rr.p99[2:5].mean()


def test_batched_periods_give_the_same_run() -> None:
    # serving several sync periods at once (and cutting the batch where the HPA scales) is an optimisation:
    # every scaling decision and every latency must match serving period by period
    schedule = Schedule(
        1000 + 800 * np.sin(np.arange(3600) / 900 * np.pi), np.zeros(3600, dtype=np.int64), np.zeros(3600)
    )
    one = simulate(RECIPE, SERVER, schedule, SimConfig(batch_periods=1))
    many = simulate(RECIPE, SERVER, schedule, SimConfig(batch_periods=8))
    assert np.array_equal(one.pods, many.pods)
    assert one.pods.max() > one.pods.min()  # it did scale, so batches were cut
    assert np.allclose(one.latency, many.latency, rtol=0, atol=1e-9)
    assert np.allclose(one.cpu_used, many.cpu_used, rtol=1e-9)
