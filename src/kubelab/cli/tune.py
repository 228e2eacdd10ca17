"""``kubelab tune``: parameter search on the embedded default or on RabbitMQ + PostgreSQL."""

from __future__ import annotations

import sys
from typing import Any

import click

from kubelab.cli._output import F, emit, emit_json, format_option

__all__ = ["tune"]

_STORE_HELP = "Store URL [env KUBELAB_STORE; default sqlite:///.kubelab/kubelab.db]."


@click.group(epilog="""\b
Examples:
  kubelab tune run examples/turbofan-small.yaml
  kubelab tune status turbofan-small --format json
  kubelab tune worker --broker amqp://guest:guest@localhost/ --store postgresql://localhost/kubelab
  kubelab tune results turbofan-small --top 10
  kubelab tune list""")
def tune() -> None:
    """Search hyper-parameters: grid, random or TPE, over XGBoost, LightGBM, CatBoost, scikit-learn or any
    function. Every trial yields exactly one result, whatever crashes; rerun a command to resume."""
    import logging

    pika_log = logging.getLogger("pika")  # its connection errors are reported (once, translated) by kubelab
    if pika_log.getEffectiveLevel() > logging.DEBUG:
        pika_log.setLevel(logging.CRITICAL)


def _store_option(f: F) -> F:
    return click.option("--store", metavar="URL", envvar="KUBELAB_STORE", help=_STORE_HELP)(f)


class _Bar:
    """A progress bar with the best value so far (a line every 10 s when stderr is not a terminal)."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None
        self._last = 0.0

    def __call__(self, p: Any) -> None:
        best = "—" if p.best is None else f"{p.best:.6g}"
        failed = p.counts["failed"]
        text = f"best {best}" + (f", {failed} failed" if failed else "")
        if not sys.stderr.isatty():
            if p.elapsed_s - self._last >= 10 or p.finished >= p.total:
                self._last = p.elapsed_s
                click.echo(f"{p.study}: {p.finished}/{p.total} trials, {text} ({p.elapsed_s:.0f} s)", err=True)
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[text]}"), TimeElapsedColumn(), TextColumn("eta"),
                                 TimeRemainingColumn(), console=Console(stderr=True), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(p.study, total=p.total, text=text)
        self._bar.update(self._task, completed=p.finished, text=text)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


_COLUMNS = ["number", "model", "value", "status", "attempts", "duration_s", "params"]


@tune.command(epilog="""\b
Examples:
  kubelab tune run examples/turbofan-small.yaml
  kubelab tune run spec.yaml --workers 4 --store sqlite:///runs.db
  kubelab tune run spec.yaml --workers 0 --broker amqp://localhost/ --store postgresql://localhost/kubelab""")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("-w", "--workers", type=click.IntRange(min=0), default=None,
              help="Local worker processes [default: one per core]; 0 with --broker: remote workers only.")
@_store_option
@click.option("--broker", metavar="URL", envvar="KUBELAB_BROKER",
              help="amqp://… to dispatch through RabbitMQ [env KUBELAB_BROKER; default: embedded in the store].")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None,
              help="Trials per chunk for a new study [default: from its size, at most 64].")
@click.option("--no-wait", is_flag=True, help="Enqueue and exit; workers elsewhere do the work.")
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True, help="Leaderboard rows at the end.")
@format_option("table", "json")
def run(spec: str, workers: int | None, store: str | None, broker: str | None, chunk_size: int | None,
        no_wait: bool, top: int, fmt: str) -> None:
    """Create or resume the study in SPEC and run it to the end, then print the leaderboard.

    Interrupt it at any time (Ctrl-C, kill -9, a crash) and run the same command again: finished trials
    are kept, the rest resume.
    """
    from kubelab.errors import KubelabError
    from kubelab.tune import run as run_api

    if workers == 0 and not broker and not no_wait:
        raise KubelabError("--workers 0 needs remote workers: give --broker amqp://… (and start "
                           "`kubelab tune worker`), or --no-wait to only enqueue")
    bar = _Bar()
    try:
        result = run_api(spec, store=store, workers=workers, broker=broker, chunk_size=chunk_size,
                         wait=not no_wait, on_progress=bar)
    finally:
        bar.close()
    counts = result.counts
    summary = {"study": result.study.name, **counts, "total": result.study.total,
               "elapsed_s": round(result.elapsed_s, 3), "interrupted": result.interrupted,
               "best": result.best.as_dict() if result.best else None}
    if fmt == "json":
        emit_json({**summary, "top": [t.as_dict() for t in result.top[:top]]})
    else:
        if top and result.top:
            emit([t.as_dict() for t in result.top[:top]], _COLUMNS, "table")
        click.echo(f"{result.study.name}: {counts['done']} done, {counts['failed']} failed, "
                   f"{counts['pending'] + counts['running']} open of {result.study.total} "
                   f"in {result.elapsed_s:.1f} s", err=True)
    if result.interrupted:
        click.echo("Interrupted; run the same command again to resume.", err=True)
        sys.exit(130)


@tune.command(epilog="""\b
Examples:
  kubelab tune worker --broker amqp://kubelab:SECRET@rabbitmq:5672/ --store postgresql://kubelab@db/kubelab
  kubelab tune worker --broker 'amqp://guest:guest@localhost/?lease=9' --store postgresql://localhost/kubelab -c 2
  KUBELAB_BROKER=amqp://… KUBELAB_STORE=postgresql://… kubelab tune worker --concurrency 4""")
@click.option("--broker", metavar="URL", envvar="KUBELAB_BROKER", required=True,
              help="amqp://user:password@host:5672/vhost[?queue=…&lease=30&max_deliveries=10] [env KUBELAB_BROKER].")
@_store_option
@click.option("-c", "--concurrency", type=click.IntRange(min=1), default=1, show_default=True,
              help="Trials at once, each in its own supervised process with cores ÷ N threads.")
@click.option("--grace", type=click.FloatRange(min=0), default=25.0, show_default=True,
              help="Seconds after SIGTERM to finish the trials in hand; then they are interrupted and requeued.")
@click.option("--memory-limit-mb", type=click.IntRange(min=1), default=None,
              help="A trial's memory limit unless its spec sets one [default: 80 % of RAM ÷ concurrency].")
def worker(broker: str, store: str | None, concurrency: int, grace: float, memory_limit_mb: int | None) -> None:
    """Run trials of any study that arrives on BROKER, writing results to the store, until SIGTERM.

    Logs one line per trial. Start as many as you like, on any machine that reaches both servers; kill
    them at will (kill -9, SIGSTOP, preemption): their work goes to the others and every trial still ends
    with exactly one result. SIGTERM or Ctrl-C finishes the trials in hand (within --grace) and exits 0.
    """
    import logging

    from kubelab.store import resolve_store_url
    from kubelab.tune._daemon import WorkerConfig, run_worker

    logger = logging.getLogger("kubelab")
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    run_worker(WorkerConfig(resolve_store_url(store), broker, concurrency, grace, memory_limit_mb))


@tune.command(name="list")
@_store_option
@format_option()
def list_(store: str | None, fmt: str) -> None:
    """List the studies in the store with their progress."""
    from kubelab.store import get_store

    rows = [{"study": s.name, "method": s.method, "total": s.total, **c,
             "created": _when(s.created_at)} for s, c in get_store(store).list_studies()]
    emit(rows, ["study", "method", "total", "done", "failed", "running", "pending", "created"], fmt)


def _when(ts: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


@tune.command()
@click.argument("study")
@_store_option
@format_option("table", "json")
def status(study: str, store: str | None, fmt: str) -> None:
    """Counts by status (pending, running, done, failed), the total and the best trial of STUDY."""
    from kubelab.tune import status as status_api

    info = status_api(study, store)
    if fmt == "json":
        emit_json(info)
        return
    best = info["best"]
    emit([{k: info[k] for k in ("study", "method", "pending", "running", "done", "failed", "total")}
          | {"best": None if best is None else best["value"]}],
         ["study", "method", "pending", "running", "done", "failed", "total", "best"], "table")
    if best:
        click.echo(f"best: #{best['number']} {best['model']} {best['params']}")


@tune.command()
@click.argument("study")
@_store_option
@click.option("--top", type=click.IntRange(min=1), default=None, help="Only the K best finished trials.")
@format_option()
def results(study: str, store: str | None, top: int | None, fmt: str) -> None:
    """Every trial of STUDY (or the --top K best) with params, status, value, attempts, duration, worker."""
    from kubelab.tune import results as results_api

    rows = [t.as_dict() for t in results_api(study, store, top)]
    columns = _COLUMNS + ["worker", "error"] if fmt != "table" else _COLUMNS + ["error"]
    emit(rows, columns, fmt)


@tune.command()
@click.argument("study")
@_store_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(study: str, store: str | None, yes: bool) -> None:
    """Delete STUDY and all its trials from the store."""
    from kubelab.errors import StudyError
    from kubelab.store import get_store

    opened = get_store(store)
    if not yes:
        click.confirm(f"Delete study '{study}' and all its results from {opened.url}?", abort=True)
    if not opened.delete_study(study):
        raise StudyError(f"no study named '{study}' in {opened.url}")
    click.echo(f"deleted {study}", err=True)


@tune.command(epilog="""\b
Examples:
  kubelab tune export turbofan-small
  kubelab tune export turbofan-small --out models/
  kubelab tune export turbofan-small --out model.json && kubelab serve model.json""")
@click.argument("study")
@click.option("--out", metavar="PATH",
              help="Model file, or a directory for STUDY.<suffix> [default: ./STUDY.<suffix>].")
@_store_option
@format_option("table", "json")
def export(study: str, out: str | None, store: str | None, fmt: str) -> None:
    """Refit the best trial of STUDY on the whole dataset and save it, with metadata, for `kubelab serve`."""
    from kubelab.serve._export import export_best

    done = export_best(study, out, store, on_progress=lambda line: click.echo(line, err=True))
    if fmt == "json":
        emit_json(done.as_dict())
    else:
        emit([done.as_dict()], ["model", "format", "study", "trial", "value", "rows", "metadata"], "table")
    trust = " ".join(f"--trust {t}" for t in done.untrusted)
    click.echo(f"serve it with: kubelab serve {done.model_path}" + (f" {trust}" if trust else ""), err=True)
