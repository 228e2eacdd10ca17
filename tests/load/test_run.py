"""Load tests of the generator against real servers on 127.0.0.1 (bounded: a few seconds each)."""

from __future__ import annotations

import pytest

from kubelab.load import parse_profile
from kubelab.load._request import build_request
from kubelab.load._run import LoadResult, LoadTest, _warnings, run_load
from kubelab.load._stats import Interval, summarize
from tests.load.conftest import Serve


@pytest.mark.slow
def test_open_loop_shows_a_stall_in_the_percentiles(serve: Serve) -> None:
    """A 1 s stall under 1,000 req/s for T = 5 s shows in p90/p99/p99.9 as the analytic values.

    The server answers every request that arrives in the stall window [S, S + 1 s) at S + 1 s, so the
    request intended at time u in that window waits S + 1 - u: the 1,000 stalled requests of the 5,000 sent
    have latencies uniform on (0, 1 s]; all others are fast (about a millisecond, against 1 s: nil). A fraction
    f = 1,000 / 5,000 = 0.2 of all requests is stalled, so P(latency > x) = f (1 - x / 1 s) and the q-quantile
    is x_q = 1 s - (1 - q) / f s: p90 = 0.5 s, p99 = 0.95 s, p99.9 = 0.995 s. A generator that measures from
    the actual send (coordinated omission) would count each held connection once and report a p99 near 1 ms.
    p90 gets 20 % (the issue asks p99 and p99.9 within 5 %): the 1,000 responses released together take the
    server and the generator up to ~60 ms to answer and read on a busy 2-core machine, which shifts the lower
    stalled latencies most in relative terms (measured: p90 565 ms at load 5).
    """
    port = serve("--stall-at", "2", "--stall-for", "1")
    profile = parse_profile("constant", rate=1000, duration=5)
    result = run_load(LoadTest(build_request(f"http://127.0.0.1:{port}/"), profile))
    s = result.summary
    assert s.transactions == 5000 and s.failed_transactions == 0
    stalled, total = 1000, 5000
    f = stalled / total
    for key, q, tolerance in (("p90", 0.90, 0.2), ("p99", 0.99, 0.05), ("p999", 0.999, 0.05)):
        analytic_ms = 1000 * (1 - (1 - q) / f)
        assert s.latency_ms[key] == pytest.approx(analytic_ms, rel=tolerance), (key, s.latency_ms)
    # the longest wait is the whole stall, plus the time to read 1,000 responses released together
    assert 1000 <= s.latency_ms["max"] <= 1100


@pytest.mark.slow
def test_open_loop_holds_its_rate(serve: Serve) -> None:
    import gc

    port = serve()
    frozen: list[int] = []  # the generator keeps start-up objects out of the collector's reach while it runs
    result = run_load(LoadTest(build_request(f"http://127.0.0.1:{port}/"), parse_profile("constant", rate=1000,
                                                                                         duration=3)),
                      on_interval=lambda _i: frozen.append(gc.get_freeze_count()))
    assert frozen and min(frozen) > 1000 and gc.get_freeze_count() == 0
    s = result.summary
    assert s.target_rate == 1000
    assert s.achieved_rate == pytest.approx(1000, rel=0.01)
    assert s.transactions == 3000 and s.successful_transactions == 3000 and s.errors == {}
    assert sum(i.sent for i in result.intervals) == 3000


def test_closed_loop_follows_a_user_profile(serve: Serve) -> None:
    """Users step 2 -> 6 after 1 s against a 50 ms server: 40 then 120 responses per second."""
    port = serve("--delay-ms", "50")
    result = run_load(LoadTest(build_request(f"http://127.0.0.1:{port}/"), parse_profile("step:2,6@1s", users=1)))
    first, second = result.intervals[0], result.intervals[1]
    assert (first.users, second.users) == (2, 6)
    assert first.transactions == pytest.approx(40, abs=6)
    assert second.transactions == pytest.approx(120, rel=0.15)
    assert result.summary.target_rate is None
    assert result.summary.elapsed_time == pytest.approx(2.0, abs=0.06)


def test_request_budget_is_exact_across_processes(serve: Serve) -> None:
    port = serve()
    test = LoadTest(build_request(f"http://127.0.0.1:{port}/"), parse_profile("constant", users=4), workers=2,
                    max_requests=301)
    s = run_load(test).summary
    assert s.transactions == 301 and s.successful_transactions == 301


def test_errors_by_kind(serve: Serve, free_port: int) -> None:
    port = serve("--status", "503")
    s = run_load(LoadTest(build_request(f"http://127.0.0.1:{port}/"), parse_profile("constant", users=2),
                          max_requests=20)).summary
    assert (s.transactions, s.successful_transactions, s.failed_transactions) == (20, 0, 0)
    assert s.errors == {"http 503": 20} and s.availability == 100.0
    refused = run_load(LoadTest(build_request(f"http://127.0.0.1:{free_port}/"),
                                parse_profile("constant", rate=50, duration=0.2))).summary
    assert refused.transactions == 0 and refused.failed_transactions == 10
    assert refused.errors == {"connection refused": 10} and refused.availability == 0.0


def test_timeouts_fail_requests(serve: Serve) -> None:
    port = serve("--delay-ms", "3000")
    s = run_load(LoadTest(build_request(f"http://127.0.0.1:{port}/"), parse_profile("constant", rate=10,
                                                                                   duration=0.3), timeout=0.3)).summary
    assert s.failed_transactions == 3 and s.errors == {"timeout": 3} and s.transactions == 0


def test_open_loop_over_two_processes_merges(serve: Serve) -> None:
    port = serve()
    test = LoadTest(build_request(f"http://127.0.0.1:{port}/"), parse_profile("constant", rate=400, duration=2),
                    workers=2)
    result = run_load(test)
    s = result.summary
    assert s.transactions == 800 and s.achieved_rate == pytest.approx(400, rel=0.01)
    assert [i.target_rate for i in result.intervals[:2]] == [400, 400]  # each process's half, merged


def _synthetic(lagged: int, sent: int, target: float) -> LoadResult:
    iv = Interval(0.0, 1.0, target_rate=target, scheduled=1000, sent=sent, lagged=lagged, max_lag_us=7500)
    for _ in range(sent):
        iv.record(1000, 200, 2)
    _, summary = summarize([iv], 1.0, duration=1.0, open_loop=True)
    return LoadResult(summary, [iv], 0.0, open_loop=True)


def test_warnings_name_the_generator_as_the_bottleneck() -> None:
    quiet = _synthetic(lagged=10, sent=1000, target=1000.0)
    assert _warnings(quiet, busy=0.5) == []
    loud = _synthetic(lagged=20, sent=980, target=1000.0)
    busy, lag, rate = _warnings(loud, busy=0.95)
    assert busy.startswith("the load generator was busy 95% of the time (its CPU saturated, or waiting for a CPU")
    assert lag.startswith("2.0% of requests left more than 1 ms after their scheduled time (worst 7.5 ms)")
    assert rate == "achieved 980 requests/s of the 1000 targeted"


def test_a_spent_request_budget_waits_for_its_responses(serve: Serve) -> None:
    """10 users, 5 requests: the budget is spent (the sixth user finds it empty) with 5 in flight; they count."""
    port = serve("--delay-ms", "200")
    s = run_load(LoadTest(build_request(f"http://127.0.0.1:{port}/"), parse_profile("constant", users=10),
                          max_requests=5)).summary
    assert s.transactions == 5 and s.response_time == pytest.approx(0.2, rel=0.25)
