"""Mergeable load-test statistics: per-interval counters and an HDR latency histogram.

An ``Interval`` holds what happened in one slice of time (default one second) in one generator process:
counts, bytes, errors by kind and a latency histogram (microseconds, 1 µs to 1 h, 3 significant digits, so
every percentile is within 0.1 % of the truth whatever the range). Intervals merge: those of several generator
processes for the same slice add up, and all slices of a run add up to the run's total, from which
``summarize`` derives siege's summary plus the percentiles siege lacks.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Interval", "LATENCY_RANGE_US", "Summary", "new_histogram", "summarize"]

#: Latencies recorded, in microseconds: 1 µs to one hour, 3 significant digits.
LATENCY_RANGE_US = (1, 3_600_000_000, 3)
_PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9))


def new_histogram() -> Any:
    """An empty HDR histogram of latencies in microseconds."""
    from kubelab._deps import require

    hdr = require("hdrh.histogram", "loadtest")
    return hdr.HdrHistogram(*LATENCY_RANGE_US)


@dataclass
class Interval:
    """What happened from ``start`` for ``length`` seconds (since the run's start).

    A *transaction* (siege's word) is a request that got an HTTP response, whatever its status; it is
    *successful* below status 400. A *failed* transaction got no response (refused, reset, timed out).
    Latency is measured from the request's intended send time (open loop) or its actual send time (closed
    loop) to the last byte of the response, for every transaction.
    """

    start: float
    length: float
    _histogram: Any = field(default=None, repr=False)
    transactions: int = 0
    successful: int = 0
    failed: int = 0
    bytes: int = 0
    latency_sum_us: int = 0
    min_us: int = 0
    max_us: int = 0
    scheduled: int = 0
    sent: int = 0
    users: int = 0
    target_rate: float = 0.0
    max_lag_us: int = 0
    lagged: int = 0
    generator_busy_s: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    _raw: array[int] = field(default_factory=lambda: array("q"), repr=False)

    @property
    def histogram(self) -> Any:
        """The HDR histogram of latencies (µs), with every recorded latency in it."""
        if self._histogram is None:
            self._histogram = new_histogram()
        if self._raw:
            _record_many(self._histogram, self._raw)
            self._raw = array("q")
        return self._histogram

    def record(self, latency_us: int, status: int, size: int) -> None:
        """One transaction: its latency, HTTP status and body size."""
        self._raw.append(latency_us)  # into the histogram in bulk, when read: ~0.1 µs here instead of ~3
        if not self.transactions or latency_us < self.min_us:
            self.min_us = latency_us
        if latency_us > self.max_us:
            self.max_us = latency_us
        self.transactions += 1
        self.latency_sum_us += latency_us
        self.bytes += size
        if status < 400:
            self.successful += 1
        else:
            self.errors[f"http {status}"] += 1

    def fail(self, kind: str) -> None:
        """One request that got no response, and why (``timeout``, ``connection refused``, …)."""
        self.failed += 1
        self.errors[kind] += 1

    def merge(self, other: Interval) -> None:
        """Add ``other`` (another process's share of the same slice, or another slice) into this one."""
        self.histogram.add(other.histogram)
        if other.transactions:
            self.min_us = min(self.min_us, other.min_us) if self.transactions else other.min_us
            self.max_us = max(self.max_us, other.max_us)
        for name in ("transactions", "successful", "failed", "bytes", "latency_sum_us", "scheduled", "sent",
                     "users", "lagged", "generator_busy_s"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.target_rate += other.target_rate
        self.max_lag_us = max(self.max_lag_us, other.max_lag_us)
        self.errors.update(other.errors)

    def latency_ms(self) -> dict[str, float]:
        """p50, p90, p99, p99.9 and max latency in milliseconds (NaN when nothing was recorded)."""
        if self.histogram.get_total_count() == 0:
            return {name: float("nan") for name in (*(p for p, _ in _PERCENTILES), "max")}
        out = {name: self.histogram.get_value_at_percentile(q) / 1000 for name, q in _PERCENTILES}
        out["max"] = self.max_us / 1000
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (the histogram HDR-encoded) to send between processes."""
        data = {k: v for k, v in self.__dict__.items() if not k.startswith("_") and k != "errors"}
        data["errors"] = dict(self.errors)
        data["histogram"] = self.histogram.encode().decode()  # HdrHistogram's own compressed base64 form
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Interval:
        """The inverse of ``to_dict``."""
        from hdrh.histogram import HdrHistogram

        fields = dict(data)
        hist = HdrHistogram.decode(fields.pop("histogram"))
        merged = new_histogram()
        merged.add(hist)
        return cls(_histogram=merged, errors=Counter(fields.pop("errors")), **fields)


@dataclass(frozen=True)
class Summary:
    """A run's result: siege's summary with siege's meanings, plus rates, percentiles and errors by kind.

    Attributes mirror siege's JSON output: ``availability`` (% of requests that got a response),
    ``elapsed_time`` (s), ``data_transferred`` (MB of response bodies), ``response_time`` (mean latency, s),
    ``transaction_rate`` (transactions/s over the elapsed time), ``throughput`` (MB/s), ``concurrency`` (mean
    requests in flight: total latency / elapsed time), ``longest_transaction`` and ``shortest_transaction`` (s).
    """

    transactions: int
    availability: float
    elapsed_time: float
    data_transferred: float
    response_time: float
    transaction_rate: float
    throughput: float
    concurrency: float
    successful_transactions: int
    failed_transactions: int
    longest_transaction: float
    shortest_transaction: float
    target_rate: float | None
    achieved_rate: float
    latency_ms: dict[str, float]
    errors: dict[str, int]
    max_schedule_lag_ms: float

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (snake_case keys)."""
        return dict(self.__dict__)


def summarize(intervals: Sequence[Interval], elapsed: float, *, duration: float | None,
              open_loop: bool) -> tuple[Interval, Summary]:
    """The run's total and its summary from its per-interval stats.

    Args:
        intervals: Every interval of the run (already merged across processes).
        elapsed: Wall time from the first request to the last response, seconds.
        duration: The length of the schedule (open loop: the window the target rate applies to).
        open_loop: Whether a target rate was set (else ``target_rate`` is None).
    """
    total = Interval(0.0, elapsed)
    for interval in intervals:
        total.merge(interval)
    tx = total.transactions
    mb = total.bytes / 1_000_000
    window = duration if duration and duration != float("inf") else elapsed
    in_window = [i for i in intervals if i.start < window - 1e-9]
    target = sum(i.target_rate * min(i.length, window - i.start) for i in in_window) / window if window else 0.0
    summary = Summary(
        transactions=tx,
        availability=round(100.0 * tx / (tx + total.failed), 2) if tx + total.failed else 0.0,
        elapsed_time=round(elapsed, 3),
        data_transferred=round(mb, 3),
        response_time=round(total.latency_sum_us / tx / 1e6, 6) if tx else 0.0,
        transaction_rate=round(tx / elapsed, 2) if elapsed else 0.0,
        throughput=round(mb / elapsed, 3) if elapsed else 0.0,
        concurrency=round(total.latency_sum_us / 1e6 / elapsed, 2) if elapsed else 0.0,
        successful_transactions=total.successful,
        failed_transactions=total.failed,
        longest_transaction=total.max_us / 1e6,
        shortest_transaction=total.min_us / 1e6,
        target_rate=round(target, 3) if open_loop else None,
        achieved_rate=round(sum(i.sent for i in in_window) / window, 3) if window else 0.0,
        latency_ms={k: round(v, 3) for k, v in total.latency_ms().items()},
        errors=dict(total.errors.most_common()),
        max_schedule_lag_ms=total.max_lag_us / 1000,
    )
    return total, summary


def _record_many(histogram: Any, raw: array[int]) -> None:
    """Record ``raw`` latencies: rounded to the histogram's resolution and counted first, so a second of
    30,000 requests costs a few hundred ``record_value`` calls rather than 30,000."""
    lowest, highest, _ = LATENCY_RANGE_US
    values = np.clip(np.frombuffer(raw, dtype=np.int64), lowest, highest)
    # 3 significant digits = 2,048 sub-buckets: a value v keeps its top 11 bits (hdr's own bucketing)
    shift = np.maximum(0, np.floor(np.log2(values)).astype(np.int64) + 1 - 11)
    unique, counts = np.unique((values >> shift) << shift, return_counts=True)
    for value, count in zip(unique.tolist(), counts.tolist(), strict=True):
        histogram.record_value(value, count)


def merge_by_start(parts: Iterable[Interval]) -> list[Interval]:
    """Merge intervals of several processes that cover the same slices (same ``start``), in time order."""
    slices: dict[float, Interval] = {}
    for part in parts:
        if part.start in slices:
            slices[part.start].merge(part)
        else:
            slices[part.start] = part
    return [slices[k] for k in sorted(slices)]
