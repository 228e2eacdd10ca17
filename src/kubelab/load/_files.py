"""Result files: the per-interval CSV and siege's log (one row per profile phase, appended like siege)."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from pathlib import Path

from kubelab.load._profiles import Profile, Steps, TimeScaled
from kubelab.load._stats import Interval, summarize

__all__ = ["INTERVAL_COLUMNS", "SIEGE_LOG_COLUMNS", "interval_rows", "phases", "write_interval_csv",
           "write_siege_log"]

INTERVAL_COLUMNS = ("time_s", "target_rate", "users", "sent", "transactions", "successful", "failed",
                    "transaction_rate", "data_mb", "response_time_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms",
                    "max_ms", "lagged", "generator_busy", "errors")
SIEGE_LOG_COLUMNS = ("Date & Time", "Trans", "Elap Time", "Data Trans", "Resp Time", "Trans Rate", "Throughput",
                     "Concurrent", "OKAY", "Failed")


def interval_rows(intervals: Sequence[Interval]) -> list[dict[str, object]]:
    """One row per interval with ``INTERVAL_COLUMNS`` (latencies in ms, ``errors`` as JSON)."""
    rows: list[dict[str, object]] = []
    for i in intervals:
        lat = i.latency_ms()
        rows.append({
            "time_s": round(i.start, 3), "target_rate": round(i.target_rate, 3), "users": i.users, "sent": i.sent,
            "transactions": i.transactions, "successful": i.successful, "failed": i.failed,
            "transaction_rate": round(i.transactions / i.length, 3), "data_mb": round(i.bytes / 1e6, 6),
            "response_time_ms": round(i.latency_sum_us / i.transactions / 1000, 3) if i.transactions else None,
            **{f"{k}_ms": (round(v, 3) if v == v else None) for k, v in lat.items()},
            "lagged": i.lagged, "generator_busy": round(i.generator_busy_s / i.length, 3),
            "errors": json.dumps(dict(i.errors), sort_keys=True) if i.errors else "",
        })
    return rows


def write_interval_csv(path: str | Path, intervals: Sequence[Interval]) -> None:
    """Write the per-interval CSV (header ``INTERVAL_COLUMNS``)."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, INTERVAL_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(interval_rows(intervals))


def phases(profile: Profile, elapsed: float) -> list[tuple[float, float]]:
    """``(start, end)`` of each phase: each step of a step, CSV or course profile; else the whole run."""
    inner, factor = (profile.profile, profile.factor) if isinstance(profile, TimeScaled) else (profile, 1.0)
    if isinstance(inner, Steps):
        starts = [s / factor for s in inner.starts]
        ends = [*starts[1:], max(elapsed, inner.duration / factor)]
        return [(a, b) for a, b in zip(starts, ends, strict=True) if a < elapsed]
    return [(0.0, elapsed)]


def write_siege_log(path: str | Path, intervals: Sequence[Interval], profile: Profile, elapsed: float,
                    started_at: float) -> None:
    """Append siege's log rows (one per phase) to ``path``, with siege's header when the file is new.

    Columns and units are siege's: Elap Time and Resp Time in seconds, Data Trans in MB, Throughput in MB/s;
    Resp Time keeps three decimals (siege prints two, which reads 0.00 for a fast server).
    """
    target = Path(path)
    new = not target.exists() or target.stat().st_size == 0
    with open(target, "a", newline="") as f:
        if new:
            f.write(",".join(f"{c:>12}" for c in SIEGE_LOG_COLUMNS) + "\n")
        for start, end in phases(profile, elapsed):
            part = [i for i in intervals if start - 1e-9 <= i.start < end - 1e-9]
            length = min(end, elapsed) - start
            if not part or length <= 0:
                continue
            _, s = summarize(part, length, duration=length, open_loop=False)
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started_at + start))
            cells = [when, str(s.transactions), f"{s.elapsed_time:.2f}", f"{s.data_transferred:.2f}",
                     f"{s.response_time:.3f}", f"{s.transaction_rate:.2f}", f"{s.throughput:.2f}",
                     f"{s.concurrency:.2f}", str(s.successful_transactions), str(s.failed_transactions)]
            f.write(",".join(f"{c:>12}" for c in cells) + "\n")
