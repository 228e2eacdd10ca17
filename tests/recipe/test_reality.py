"""The queueing model against reality: local servers behind a round-robin proxy, fixed replica counts.

Each server (tests/recipe/burn_server.py: every request burns 5 ms of one core, one request at a time)
runs under a 0.5-core cgroup CFS quota (100 ms period, as Kubernetes enforces a CPU limit), so 1 and 2
replicas use at most one of the machine's two cores, and with a CPU weight of eight ordinary processes
(``_local.SHARES``), so other work on the machine cannot take their quota. The proxy (round-robin per
connection, its own process) and the load generator (closed-loop users, a new connection per request,
its own process) run in a cgroup of the same weight with no quota.

Right before measuring, the profiler measures one such server in the same conditions (same weight, same
load generator, through a proxy): unthrottled and under the quota. The simulator then predicts 1 and 2
fixed replicas under 2 and 4 users with no think time (two per replica: busy, so each replica is
throttled every period), and throughput, p50 and p99 are measured and predicted. Each case
measures at least 2,000 requests after a 1 s warm-up (the p99 then rests on 20 or more requests).

With 2 replicas the latencies depend on the relative phase of the two cgroups' 100 ms CFS periods, which
differs from run to run: the measurement polls each replica's ``cpu.stat`` for it (``Measured.phases``)
and the model starts each replica's periods there.

Throughput is asserted (the model before CFS throttling was 0.80-0.94 of measured with 2 replicas), and
that the phases were measured. The latencies are printed, not asserted (docs/recipe.md;
bench/recipe_reality.py shows them too): with the measured phases the 2-replica p50 was 0.89-1.01 of
measured in eight runs (0.89-1.29 with the phases spread evenly), but the 2-replica p99 1.08-1.27,
an open gap; the 1-replica p50 ran 21-22 % high in two attempts on a quiet machine, 1.01-1.03 since.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from kubelab.recipe._cpulimit import CpuLimit
from kubelab.recipe._local import LoadRig, LocalReplicas, _poll_periods, period_phase, predict_closed_loop
from kubelab.recipe._profile import profile_server

BURN_MS = 5.0
CORES = 0.5
SERVER = [sys.executable, str(Path(__file__).with_name("burn_server.py")), "{port}", str(BURN_MS)]
# replicas, users, think (s), seconds: >= 2,000 requests at ~95 req/s per replica
CASES = ((1, 2, 0.0, 22.0), (2, 4, 0.0, 11.0))
TOLERANCE = 0.15


def _cgroup_or_skip() -> None:
    limit = CpuLimit(CORES)
    try:
        if limit.cgroup is None:
            pytest.skip(
                f"needs a writable cgroup CPU quota to run fractional-core replicas; here: {limit.method} "
                "(whole cores only: two pinned 1-core servers would leave no core to the load generator)"
            )
    finally:
        limit.close()
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs 2 CPUs: one for the servers' quotas, one for the proxy and the load generator")


def _attempt(seed: int) -> list[tuple[str, str, float, float]]:
    """Profile, then measure and predict each case; (case, measure, measured, predicted) rows."""
    rows = []
    with LoadRig() as rig:
        profile = profile_server(
            SERVER, allowances=(CORES,), path="/test", driver=rig.driver, window_s=1.0, max_windows=6,
            shares=rig.shares,
        )
        assert profile.cfs(CORES) is not None, profile  # the model runs the quota, not a stretched service time
        for replicas, users, think_s, seconds in CASES:
            with LocalReplicas(SERVER, replicas, CORES, rig=rig) as local:
                measured = local.closed_loop("/test", users, seconds, think_s=think_s, warmup_s=1.0, seed=seed)
            assert measured.latencies.size >= 2000, (replicas, measured.latencies.size)
            assert len(measured.phases) == replicas and measured.phases[0] == 0.0, measured.phases
            predicted = predict_closed_loop(
                profile, replicas, CORES, users, think_s=think_s, seed=seed, phases=measured.phases
            )  # the replicas' CFS periods where they were measured to start
            offsets = "/".join(f"{p * 1000:.0f}" for p in measured.phases)
            for key in ("throughput", "p50", "p99"):
                rows.append((f"{replicas} replicas, {users} users (phases {offsets} ms)", key,
                             measured.as_dict()[key], predicted.as_dict()[key]))
    return rows


def _off(rows: list[tuple[str, str, float, float]], keys: tuple[str, ...]) -> list[tuple[str, str, float, float]]:
    return [r for r in rows if r[1] in keys and abs(r[3] / r[2] - 1) > TOLERANCE]


def _table(rows: list[tuple[str, str, float, float]]) -> str:
    return "; ".join(f"{c} {k}: measured {m:.4g}, predicted {p:.4g} ({p / m:.2f})" for c, k, m, p in rows)


def test_period_phase_from_polled_nr_periods() -> None:
    # polls every ~1 ms (jittered); periods of 100 ms ending at 0.0985 + k/10 s, near the wrap-around
    rng = np.random.default_rng(3)
    times = 5.0 + np.cumsum(rng.uniform(0.0008, 0.0015, 2000))
    counts = np.floor((times - 0.0985) / 0.1)
    assert period_phase(times, counts, 0.1) == pytest.approx(0.0985, abs=0.001)
    assert period_phase(times, np.floor((times - 0.0365) / 0.1), 0.1) == pytest.approx(0.0365, abs=0.001)
    assert period_phase(times, np.zeros(times.size), 0.1) is None  # never ran: no period ended


def test_poll_periods_reads_nr_periods_and_gives_up_without_it(tmp_path: Path) -> None:
    counted, bare = tmp_path / "counted", tmp_path / "bare"
    counted.mkdir()
    bare.mkdir()
    (counted / "cpu.stat").write_text("nr_periods 41\nnr_throttled 7\nthrottled_time 5\n")
    (bare / "cpu.stat").write_text("usage_usec 10\n")
    polls: list[list[float]] = []
    stop = threading.Event()
    stop_soon = threading.Timer(0.05, stop.set)
    stop_soon.start()
    _poll_periods([counted], polls, stop)
    assert polls and all(row[1] == 41.0 for row in polls)
    _poll_periods([counted, bare], polls, threading.Event())  # no count in one: no phases at all
    assert polls == []


@pytest.mark.slow
def test_model_predicts_throughput_of_fixed_replicas_within_15_percent() -> None:
    _cgroup_or_skip()
    rows = _attempt(seed=1)
    print(f"load {os.getloadavg()[0]:.2f}: {_table(rows)}")  # pytest -s shows the figures, latencies included
    off = _off(rows, ("throughput",))
    assert not off, f"off by more than {TOLERANCE:.0%} (load {os.getloadavg()}): {_table(off)}"
