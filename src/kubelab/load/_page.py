"""The HTML report of a load test: summary, latency percentiles, rate and errors over time, and any extra
time series measured beside it (``kubelab monitor``'s resource samples: CPU, memory, replicas)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kubelab._report import Report, Series
from kubelab.load._run import LoadResult

__all__ = ["RESOURCE_GROUPS", "load_report"]

#: How resource sample columns (the seed's monitor CSV) are grouped into charts: column prefix -> chart.
RESOURCE_GROUPS = {"cpu": ("CPU", "cores"), "mem": ("Memory", "KiB"), "n": ("Replicas", "count")}
_NAN = float("nan")


def load_report(result: LoadResult, title: str, *, command: str | None = None,
                resources: Sequence[Mapping[str, float | None]] | None = None, resources_offset: float = 0.0,
                extra: Mapping[str, Mapping[str, Series]] | None = None) -> Report:
    """Build the report page of ``result``.

    Args:
        result: The load test's result.
        title: The page title (e.g. the URL).
        command: The command line, shown under the title.
        resources: Samples measured during the run, as rows with a ``time`` key (seconds since the samples
            began) and numeric columns, e.g. ``kubelab monitor``'s ``n_replica``, ``cpu_use_core``,
            ``mem_use_KB``, …; columns are charted by prefix (``RESOURCE_GROUPS``: cpu, mem, n), others alone.
        resources_offset: Seconds from the load test's start to the first sample's ``time`` origin.
        extra: More charts: chart title -> series label -> ``(xs, ys)``, x in seconds since the start.
    """
    s = result.summary
    report = Report(title, subtitle=command)
    for warning in result.warnings:
        report.text(f"warning: {warning}", warning=True)
    head: dict[str, float | None] = {
        "transactions": s.transactions, "availability %": s.availability, "elapsed s": s.elapsed_time,
        "response time s": s.response_time, "transaction rate /s": s.transaction_rate,
        "concurrency": s.concurrency, "failed": s.failed_transactions}
    if result.open_loop:
        head = {"target rate /s": s.target_rate, "achieved rate /s": s.achieved_rate, **head}
    report.table([head], title="Summary")
    report.table([{f"{k} ms": v for k, v in s.latency_ms.items()}], title="Latency")
    if s.errors:
        report.table([{"error": k, "count": v} for k, v in s.errors.items()], ["error", "count"], title="Errors")
    iv = result.intervals
    xs = [i.start + i.length / 2 for i in iv]  # each interval's figures at its middle
    lat = [i.latency_ms() for i in iv]
    report.heading("Over time")
    report.chart("Latency percentiles per interval" + (" (from the intended send time)" if result.open_loop else ""),
                 {name: (xs, [row[key] for row in lat]) for name, key in
                  (("p50", "p50"), ("p90", "p90"), ("p99", "p99"), ("p99.9", "p999"), ("max", "max"))},
                 xlabel="time (s)", ylabel="latency (ms)", logy=True)
    rates: dict[str, Series] = {"responses/s": (xs, [i.transactions / i.length for i in iv]),
                                "sent/s": (xs, [i.sent / i.length for i in iv])}
    if result.open_loop:
        rates["target/s"] = (xs, [i.target_rate if i.target_rate else _NAN for i in iv])
    report.chart("Request rate", rates, xlabel="time (s)", ylabel="requests / s")
    if not result.open_loop:
        report.chart("Concurrent users", {"users": ([i.start for i in iv], [i.users for i in iv])},
                     xlabel="time (s)", ylabel="users", steps=True)
    errors: dict[str, Series] = {"failed (no response)": (xs, [i.failed for i in iv]),
                                 "HTTP >= 400": (xs, [i.transactions - i.successful for i in iv])}
    report.chart("Errors per interval", errors, xlabel="time (s)", ylabel="requests", steps=True)
    if resources:
        report.heading("Resources")
        for (name, unit), by_column in _resource_charts(resources, resources_offset).items():
            report.chart(name, by_column, xlabel="time (s)", ylabel=unit)
    for chart_title, more in (extra or {}).items():
        report.chart(chart_title, more, xlabel="time (s)")
    return report


def _resource_charts(rows: Sequence[Mapping[str, float | None]], offset: float,
                     ) -> dict[tuple[str, str], dict[str, Series]]:
    times = [float(r.get("time") or 0.0) + offset for r in rows]
    charts: dict[tuple[str, str], dict[str, Series]] = {}
    columns = [c for c in rows[0] if c != "time"]
    for column in columns:
        values = [_number(r.get(column)) for r in rows]
        if all(v != v for v in values):
            continue  # an empty column (e.g. no limits set)
        prefix = column.split("_", 1)[0]
        chart = RESOURCE_GROUPS.get(prefix, (column, ""))
        charts.setdefault(chart, {})[column] = (times, values)
    return charts


def _number(value: object) -> float:
    if value is None or value == "":
        return _NAN
    try:
        return float(str(value))
    except ValueError:
        return _NAN

