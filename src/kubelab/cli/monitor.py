"""``kubelab monitor``: CPU and memory of local processes or Kubernetes pods, as the seed's CSV."""

from __future__ import annotations

import re
import sys
from typing import Any, TextIO

import click

from kubelab.cli._kube import kube_options
from kubelab.cli._output import emit, emit_json

__all__ = ["monitor"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class Duration(click.ParamType[float]):
    """Seconds, written ``30``, ``30s``, ``500ms``, ``2m`` or ``1h``; must be more than zero."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, int | float):
            seconds = float(value)
        else:
            match = _DURATION.match(str(value))
            if match is None:
                self.fail(f"{value!r} is not a duration (examples: 5, 5s, 500ms, 2m, 1h)", param, ctx)
            seconds = float(match.group(1)) * _UNIT[match.group(2)]
        if seconds <= 0:
            self.fail(f"{value!r} must be more than zero", param, ctx)
        return seconds


def _progress(sample: Any) -> None:
    cpu = "-" if sample.cpu_use_core is None else f"{sample.cpu_use_core:.3f}"
    mem = "-" if sample.mem_use_kib is None else f"{sample.mem_use_kib / 1024:.1f} MiB"
    click.echo(f"t={sample.time:g}s replicas={sample.n_replica} cpu={cpu} cores mem={mem}", err=True)


@click.command(context_settings={"ignore_unknown_options": False}, epilog="""\b
Examples:
  kubelab monitor --port 8000 --duration 60s --out usage.csv
  kubelab monitor --pid 4242 --interval 1s --duration 30s --format table
  kubelab monitor --duration 2m --out usage.csv -- kubelab serve model.joblib --workers 4
  kubelab monitor --selector app=ml-app --namespace default --duration 30m --out resource_usage.csv

The CSV has the seed's columns: time,n_replica,cpu_req_core,mem_req_KB,cpu_lim_core,mem_lim_KB,
cpu_use_core,mem_use_KB (cores and KiB; empty where a request or limit is not set).""")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--pid", "pids", type=click.IntRange(min=1), multiple=True,
              help="Process id (repeatable); children included.")
@click.option("--port", type=click.IntRange(1, 65535), help="Monitor the process listening on this TCP port.")
@click.option("-l", "--selector", help="Kubernetes pods by label selector, e.g. app=ml-app.")
@click.option("-n", "--namespace", help="Kubernetes namespace [default: the context's].")
@kube_options
@click.option("-i", "--interval", type=Duration(), default="5s", show_default=True, help="Time between samples.")
@click.option("-d", "--duration", type=Duration(), default=None,
              help="How long to sample [default: until Ctrl-C, or until the processes exit].")
@click.option("-o", "--out", type=click.Path(dir_okay=False, writable=True), help="Write the CSV here.")
@click.option("--format", "fmt", type=click.Choice(["csv", "table", "json"]), default="csv", show_default=True,
              help="csv: rows to stdout (or --out); table/json: a summary to stdout at the end.")
def monitor(command: tuple[str, ...], pids: tuple[int, ...], port: int | None, selector: str | None,
            namespace: str | None, kubeconfig: str | None, kube_context: str | None, interval: float,
            duration: float | None, out: str | None, fmt: str) -> None:
    """Sample CPU (cores) and memory (KiB) every --interval into a CSV: local processes (--pid, --port, or
    COMMAND launched here, children included; limits from cgroups) or Kubernetes pods (--selector; usage from
    the metrics API, summed over the same pods as the requests)."""
    from kubelab.monitor import Monitor, open_target, summarize, write_csv

    local = bool(pids) + (port is not None) + bool(command)
    if local + bool(selector) != 1:
        raise click.UsageError("give exactly one of --pid, --port, --selector, or a command after --")
    if (namespace or kubeconfig or kube_context) and not selector:
        raise click.UsageError("--namespace, --kubeconfig and --context go with --selector")
    stream: TextIO | None = None
    if out:
        try:
            stream = open(out, "w", newline="")  # noqa: SIM115 - closed in finally
        except OSError as exc:
            from kubelab.errors import MonitorError

            raise MonitorError(f"cannot write {out}: {exc.strerror}") from None
    try:
        target = open_target(pids=pids, port=port, command=command, selector=selector, namespace=namespace,
                             kubeconfig=kubeconfig, context=kube_context)
    except BaseException:
        if stream is not None:
            stream.close()
        raise
    try:
        rows_to = stream if stream is not None else (sys.stdout if fmt == "csv" else None)
        if rows_to is not None:
            write_csv([], rows_to)
        click.echo(f"monitoring {target.describe()} every {interval:g} s"
                   + (f" for {duration:g} s" if duration else " (Ctrl-C stops)"), err=True)
        mon = Monitor(target, interval=interval, duration=duration)
        try:
            for sample in mon.samples():
                if rows_to is not None:
                    write_csv([sample], rows_to, header=False)
                if rows_to is not sys.stdout:
                    _progress(sample)
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
        if not target.alive:
            click.echo(f"{target.describe()} exited; stopped", err=True)
    finally:
        target.close()
        if stream is not None:
            stream.close()
    if fmt == "table":
        emit(summarize(mon.rows), ["column", "mean", "min", "max", "samples"], "table")
    elif fmt == "json":
        emit_json({"target": target.describe(), "interval_s": interval, "samples": len(mon.rows),
                   "summary": {r.pop("column"): r for r in summarize(mon.rows)},
                   "rows": [s.as_row() for s in mon.rows]})

