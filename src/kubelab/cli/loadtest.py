"""``kubelab loadtest URL``: siege's summary and options, plus honest percentiles, open loop and profiles."""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING, Any

import click

from kubelab.cli._loadmonitor import RESOURCE_UNITS, monitor_options, monitor_target, resources_block
from kubelab.cli._output import emit, emit_json, format_option, warn

if TYPE_CHECKING:
    from kubelab.load._run import LoadResult, LoadTest
    from kubelab.monitor import Sample, Target

__all__ = ["loadtest"]


def _seconds(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    from kubelab.errors import LoadTestError
    from kubelab.load import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except LoadTestError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command(epilog="""\b
Examples:
  kubelab loadtest http://127.0.0.1:8000/test -c 10 -t 60s            # siege -c 10 -t 60s
  kubelab loadtest http://127.0.0.1:8000/test --rate 500 -t 30s --html report.html
  kubelab loadtest http://127.0.0.1:8000/predict -X POST --file file=cat.jpg -c 20 -d 1 -t 1m
  kubelab loadtest http://127.0.0.1:8000/test --profile course --time-scale 30 --log siege.log
  kubelab loadtest http://127.0.0.1:8000/test --profile step:100,200,400@20s --csv intervals.csv
  kubelab loadtest http://127.0.0.1:8000/ --rate 2000 -n 10000 --format json
  kubelab loadtest http://127.0.0.1:8000/test -c 20 -t 1m --monitor --html report.html  # + server CPU, memory
  kubelab loadtest http://10.0.0.5/predict -r 50 -t 5m --monitor-selector app=ml-app --monitor-out usage.csv""")
@click.argument("url")
@click.option("-c", "--concurrency", type=click.IntRange(min=1), default=None,
              help="Closed loop: concurrent users, each waiting for its response (siege -c) [default: 10].")
@click.option("-d", "--delay", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Closed loop: each user sleeps uniform [0, DELAY] s between requests (siege -d).")
@click.option("-r", "--rate", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Open loop: requests per second on a fixed schedule, latency from the intended send time.")
@click.option("-t", "--duration", callback=_seconds, metavar="DURATION",
              help="How long: 60s, 2m, 500ms, 1h [default: 10s unless --requests or the profile says].")
@click.option("-n", "--requests", type=click.IntRange(min=1), default=None, help="Stop after N requests.")
@click.option("-p", "--profile", metavar="PROFILE",
              help="Load over time: constant, step:10,50@30s, ramp:10..100@1m, spike:…, sine:…, FILE.csv, course "
                   "(see docs/loadtest.md).")
@click.option("--time-scale", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Replay the profile this many times faster (the course's 30 min in 1 min: 30).")
@click.option("-X", "--method", default="GET", show_default=True, help="HTTP method.")
@click.option("-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="A request header (repeat).")
@click.option("--body", type=str, metavar="FILE", help="Request body from FILE (JSON sent as application/json).")
@click.option("-F", "--file", "files", multiple=True, metavar="FIELD=PATH",
              help="Multipart upload of PATH as form field FIELD (repeat), like the course's /predict.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
              help="Seconds before a request without a response fails.")
@click.option("-w", "--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Generator processes (one core each); their histograms merge.")
@click.option("--connections", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Open loop: at most this many connections; later requests wait (and the wait counts).")
@click.option("--interval", callback=_seconds, default="1s", show_default=True, metavar="DURATION",
              help="Length of a statistics interval (CSV rows, chart points).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, writable=True), help="Per-interval CSV.")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, writable=True),
              help="Append siege's log rows (one per profile phase) to this file.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, writable=True),
              help="A self-contained HTML report with plots.")
@monitor_options
@format_option("table", "json")
def loadtest(url: str, concurrency: int | None, delay: float, rate: float | None, duration: float | None,
             requests: int | None, profile: str | None, time_scale: float | None, method: str,
             headers: tuple[str, ...], body: str | None, files: tuple[str, ...], timeout: float, workers: int,
             connections: int, interval: float, csv_path: str | None, log_path: str | None, html_path: str | None,
             monitor: bool, monitor_port: int | None, monitor_pids: tuple[int, ...], monitor_selector: str | None,
             monitor_namespace: str | None, kubeconfig: str | None, kube_context: str | None,
             monitor_interval: float | None, monitor_out: str | None, fmt: str) -> None:
    """Load-test URL and report siege's summary plus p50/p90/p99/p99.9/max from an HDR histogram.

    Closed loop (default, like siege): --concurrency users, each sending its next request when the last is
    answered and after a random --delay. Open loop: --rate requests per second whatever the server does; a
    stalled server then shows in the percentiles (no coordinated omission). A --profile's values are
    requests per second, or users with --concurrency. Warns when the generator itself,
    not the server, was the limit. With --monitor, CPU, memory and replicas of the server are sampled
    during the test (as kubelab monitor does) and reported beside the latency.
    """
    from kubelab._deps import require
    from kubelab.errors import LoadTestError

    needed = [("httptools", "loadtest"), ("hdrh", "loadtest")] + ([("matplotlib", "report")] if html_path else [])
    for module, extra in needed:
        require(module, extra)  # fail before the run, not after it
    from kubelab.load import TimeScaled, parse_profile
    from kubelab.load._files import phases
    from kubelab.load._request import build_request
    from kubelab.load._run import LoadTest, run_load

    if rate is not None and concurrency is not None:
        raise LoadTestError("give --rate (open loop) or --concurrency (closed loop), not both")
    if profile == "course" and (concurrency is not None or delay):
        raise LoadTestError("the course profile brings its own users and delays (seed 001's schedule); drop "
                            "--concurrency and --delay")
    closed = concurrency is not None or (rate is None and profile is None)
    if delay and not closed:
        raise LoadTestError("--delay is for the closed loop: give --concurrency too (an open loop's --rate or "
                            "profile sets the pacing)")
    request = build_request(url, method=method, headers=headers, body=body, files=files)
    users = (concurrency or 10) if closed else None
    text = profile or "constant"
    shape = parse_profile(text, rate=rate, users=users, delay=delay, duration=duration)
    if shape.duration == float("inf") and requests is None:  # a constant load with no end: siege's -t 10s
        shape = parse_profile(text, rate=rate, users=users, delay=delay, duration=10)
    if time_scale is not None:
        shape = TimeScaled(shape, time_scale)
    shortest = min(end - start for start, end in phases(shape, shape.duration))
    interval = round(min(interval or 1.0, shortest), 9)  # an interval never spans two phases of the profile
    test = LoadTest(request, shape, workers=workers, max_requests=requests, timeout=timeout, interval=interval,
                    max_connections=connections)
    target = monitor_target(url, monitor=monitor, port=monitor_port, pids=monitor_pids, selector=monitor_selector,
                            namespace=monitor_namespace, kubeconfig=kubeconfig, kube_context=kube_context,
                            interval=monitor_interval, out=monitor_out)
    progress = _Progress(shape.duration)
    if target is None:
        result, samples, offset = run_load(test, on_interval=progress), None, 0.0
    else:
        result, samples, offset = _run_monitored(test, progress, target, monitor_interval or 1.0)
    progress.close()
    for message in result.warnings:
        warn(message)
    _write_files(result, shape, csv_path, log_path, html_path, url,
                 resources=None if samples is None else [s.as_row() for s in samples], resources_offset=offset)
    data = result.as_dict()
    if target is not None and samples is not None:  # both or neither
        data["resources"] = resources_block(target, monitor_interval or 1.0, samples)
        _write_monitor_csv(monitor_out, samples)
    if fmt == "json":
        emit_json(data)
    else:
        emit(_table(data), ["metric", "value", "unit"], "table")
    if result.interrupted:
        click.echo("Interrupted; the numbers above cover the time until then.", err=True)
        sys.exit(130)


def _run_monitored(test: LoadTest, progress: _Progress, target: Target, interval: float,
                   ) -> tuple[LoadResult, list[Sample], float]:
    """Run ``test`` while ``kubelab monitor`` samples ``target`` in the background; returns the result, the
    samples and the seconds from the test's start to the samples' time origin. A monitor that fails midway
    (the cluster's metrics API gone, say) costs a warning and its later samples, never the load test's result."""
    import time

    from kubelab.errors import KubelabError
    from kubelab.load._run import run_load
    from kubelab.monitor import Monitor

    click.echo(f"monitoring {target.describe()} every {interval:g} s", err=True)
    mon = Monitor(target, interval=interval).start()
    origin = time.time()
    try:
        result = run_load(test, on_interval=progress)
    finally:
        try:
            samples = mon.stop()
            if not target.alive:
                warn(f"{target.describe()} exited during the test: no resource samples after "
                     f"{samples[-1].time if samples else 0:g} s")
            elif not samples:
                warn(f"no resource samples: the test took less than one --monitor-interval ({interval:g} s)")
        except KubelabError as exc:
            warn(f"monitoring stopped early: {exc}")
            samples = mon.rows
        finally:
            target.close()
    return result, samples, origin - result.started_at


def _write_monitor_csv(path: str | None, samples: list[Sample]) -> None:
    from kubelab.errors import MonitorError
    from kubelab.monitor import write_csv

    if not path:
        return
    try:
        with open(path, "w", newline="") as out:
            write_csv(samples, out)
    except OSError as exc:
        raise MonitorError(f"cannot write {path}: {exc.strerror}") from None


def _write_files(result: Any, shape: Any, csv_path: str | None, log_path: str | None, html_path: str | None,
                 url: str, resources: Any = None, resources_offset: float = 0.0) -> None:
    """Write the requested files; ``resources`` (rows of ``kubelab monitor``'s CSV, their ``time`` counted from
    ``result.started_at + resources_offset``) are charted beside the latency in the HTML report."""
    from kubelab.errors import LoadTestError
    from kubelab.load._files import write_interval_csv, write_siege_log

    try:
        if csv_path:
            write_interval_csv(csv_path, result.intervals)
        if log_path:
            write_siege_log(log_path, result.intervals, shape, result.summary.elapsed_time, result.started_at)
        if html_path:
            from kubelab.load._page import load_report

            command = "kubelab " + shlex.join(sys.argv[1:]) if sys.argv else None
            load_report(result, f"Load test of {url}", command=command, resources=resources,
                        resources_offset=resources_offset).write(html_path)
    except OSError as exc:
        raise LoadTestError(f"cannot write {exc.filename}: {exc.strerror}") from None


_UNITS = {"transactions": "hits", "availability": "%", "elapsed_time": "s", "data_transferred": "MB",
          "response_time": "s", "transaction_rate": "trans/s", "throughput": "MB/s", "longest_transaction": "s",
          "shortest_transaction": "s", "target_rate": "req/s", "achieved_rate": "req/s", "max_schedule_lag_ms": "ms"}


def _table(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [{"metric": k, "value": v, "unit": _UNITS.get(k, "")} for k, v in data.items()
            if k not in ("latency_ms", "errors", "warnings", "interrupted", "resources") and v is not None]
    rows += [{"metric": f"latency_{k}", "value": v, "unit": "ms"} for k, v in data["latency_ms"].items()]
    rows += [{"metric": f"errors[{k}]", "value": v, "unit": ""} for k, v in data["errors"].items()]
    rows += [{"metric": f"resources.{k}", "value": v, "unit": RESOURCE_UNITS.get(k, "")}
             for k, v in data.get("resources", {}).items() if v is not None]
    return rows


class _Progress:
    """One line per interval on stderr (every 10 s when stderr is not a terminal)."""

    def __init__(self, duration: float) -> None:
        self.duration = duration
        self.tty = sys.stderr.isatty()
        self.last = -10.0

    def __call__(self, interval: Any) -> None:
        end = interval.start + interval.length
        if not self.tty and end - self.last < 10:
            return
        self.last = end
        lat = interval.latency_ms()
        of = f"/{self.duration:.0f}" if self.duration != float("inf") else ""
        line = (f"{end:6.0f}{of} s  {interval.transactions / interval.length:9.1f} resp/s  p50 {lat['p50']:8.2f} ms"
                f"  p99 {lat['p99']:8.2f} ms  failed {interval.failed}")
        click.echo(("\r" + line) if self.tty else line, err=True, nl=not self.tty)

    def close(self) -> None:
        if self.tty:
            click.echo("", err=True)
