from __future__ import annotations

import pytest

from kubelab.load._stats import Interval, merge_by_start, summarize


def _interval(start: float, latencies_us: list[int], status: int = 200) -> Interval:
    iv = Interval(start, 1.0, target_rate=5.0)
    for us in latencies_us:
        iv.sent += 1
        iv.scheduled += 1
        iv.record(us, status, 100)
    return iv


def test_intervals_merge_across_processes_through_their_encoded_form() -> None:
    a = _interval(0.0, [1000] * 98)
    b = Interval.from_dict(_interval(0.0, [500_000, 1_000_000]).to_dict())
    b.fail("timeout")
    merged = merge_by_start([a, b, _interval(1.0, [2000])])
    assert [m.start for m in merged] == [0.0, 1.0]
    first = merged[0]
    assert (first.transactions, first.successful, first.failed, first.bytes) == (100, 100, 1, 10_000)
    assert first.errors == {"timeout": 1}
    assert first.target_rate == 10.0  # two processes' shares of the rate add up
    assert (first.min_us, first.max_us) == (1000, 1_000_000)
    lat = first.latency_ms()
    assert lat["p50"] == pytest.approx(1.0, rel=1e-3)
    assert lat["p99"] == pytest.approx(500.0, rel=1e-3)
    assert lat["max"] == 1000.0


def test_summary_has_siege_meanings() -> None:
    intervals = [_interval(0.0, [100_000] * 10), _interval(1.0, [300_000] * 10, status=503)]
    intervals[1].fail("connection refused")
    _, s = summarize(intervals, 2.0, duration=2.0, open_loop=True)
    assert s.transactions == 20 and s.successful_transactions == 10 and s.failed_transactions == 1
    assert s.availability == pytest.approx(100 * 20 / 21, abs=0.01)
    assert s.response_time == pytest.approx(0.2)
    assert s.transaction_rate == 10.0
    assert s.concurrency == pytest.approx(4.0 / 2.0)  # 4 s of latency over 2 s
    assert s.data_transferred == pytest.approx(0.002)
    assert (s.longest_transaction, s.shortest_transaction) == (0.3, 0.1)
    assert s.errors == {"http 503": 10, "connection refused": 1}
    assert (s.target_rate, s.achieved_rate) == (5.0, 10.0)


def test_empty_run() -> None:
    _, s = summarize([], 1.0, duration=1.0, open_loop=False)
    assert s.transactions == 0 and s.availability == 0.0 and s.target_rate is None
    assert s.latency_ms["p99"] != s.latency_ms["p99"]  # NaN: nothing was measured
