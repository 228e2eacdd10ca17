"""``kubelab tune`` on RabbitMQ + PostgreSQL with real servers: remote workers, the coordinator, the CLI."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

import kubelab.tune
from kubelab.store import get_store
from tests.conftest import run_cli
from tests.tune.conftest import Workers, assert_exactly_once, executions, wait_until, write_spec

SPEC = """
    study: scale
    dataset: {builtin: diabetes}
    search: {method: grid}
    models:
      - function: trial_fns:sleepy
        fixed: {sleep: SLEEP, log: LOG}
        space: {x: {range: [0, LAST]}}
"""

pytestmark = pytest.mark.services


def scale_spec(workdir: Path, total: int = 24, sleep: float = 0.02, name: str = "scale") -> Path:
    text = SPEC.replace("SLEEP", str(sleep)).replace("LOG", str(workdir / "log.txt")).replace("LAST", str(total - 1))
    return write_spec(workdir, text.replace("study: scale", f"study: {name}"), f"{name}.yaml")


def test_remote_workers_run_every_trial_once(workdir: Path, workers: Workers) -> None:
    spec = scale_spec(workdir)
    out = run_cli(["tune", "run", str(spec), "--workers", "0", "--no-wait", "--chunk-size", "4",
                   "--broker", workers.broker, "--store", workers.store], cwd=workdir)
    assert out.returncode == 0, out.stderr
    workers.start()
    workers.start("--concurrency", "2")
    wait_until(lambda: kubelab.tune.status("scale", workers.store)["done"] == 24, 60, "24 trials done")
    assert_exactly_once(workers.store, "scale", 24)
    assert executions(workdir / "log.txt") == list(range(24))  # each run once: nothing redelivered
    rows = kubelab.tune.results("scale", workers.store)
    assert len({r.worker for r in rows}) >= 2  # the work was shared
    # one log line per trial, naming the study and the trial
    wait_until(lambda: workers.logs().count("scale #") == 24, 10, "a log line per trial")
    assert "scale #1 done value=-1 in" in workers.logs()

    # status, results and list read PostgreSQL from anywhere while workers run
    status = run_cli(["tune", "status", "scale", "--store", workers.store, "--format", "json"], cwd=workdir)
    assert json.loads(status.stdout)["done"] == 24
    top = run_cli(["tune", "results", "scale", "--top", "3", "--store", workers.store, "--format", "json"])
    assert [r["params"]["x"] for r in json.loads(top.stdout)] == [0, 1, 2]
    listing = run_cli(["tune", "list", "--store", workers.store, "--format", "json"])
    assert json.loads(listing.stdout)[0]["done"] == 24

    # a rerun of the coordinator finds everything done and enqueues nothing
    again = run_cli(["tune", "run", str(spec), "--workers", "0", "--broker", workers.broker,
                     "--store", workers.store, "--format", "json"], cwd=workdir)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["done"] == 24
    assert executions(workdir / "log.txt") == list(range(24))


def test_coordinator_follows_remote_workers(workdir: Path, workers: Workers) -> None:
    spec = scale_spec(workdir, total=12)
    workers.start("-c", "2")
    out = run_cli(["tune", "run", str(spec), "--workers", "0", "--broker", workers.broker, "--store", workers.store,
                   "--format", "json", "--top", "2"], cwd=workdir)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["done"] == 12 and [t["number"] for t in summary["top"]] == [0, 1]
    assert "scale: 12/12 trials" in out.stderr  # progress on stderr


def test_local_slots_over_rabbitmq(workdir: Path, amqp_url: str, pg_url: str) -> None:
    spec = scale_spec(workdir, total=16)
    result = kubelab.tune.run(spec, store=pg_url, broker=amqp_url, workers=2, chunk_size=2)
    assert result.counts["done"] == 16
    assert executions(workdir / "log.txt") == list(range(16))


def test_sigterm_finishes_the_trial_in_hand(workdir: Path, workers: Workers) -> None:
    spec = scale_spec(workdir, total=4, sleep=1.0)
    kubelab.tune.run(spec, store=workers.store, broker=workers.broker, workers=0, wait=False, chunk_size=4)
    proc = workers.start("--grace", "20")
    wait_until(lambda: kubelab.tune.status("scale", workers.store)["running"] == 1, 30, "a trial running")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    rows = kubelab.tune.results("scale", workers.store)
    assert [r.status for r in rows].count("done") == 1  # the trial in hand finished and was stored
    assert {r.status for r in rows[1:]} == {"pending"}  # the rest of the chunk went back, no attempt spent
    assert {r.attempts for r in rows[1:]} == {0}
    # the chunk was given back: another worker finishes the study
    workers.start()
    wait_until(lambda: kubelab.tune.status("scale", workers.store)["done"] == 4, 60, "4 done")
    assert executions(workdir / "log.txt") == list(range(4))
    store = get_store(workers.store)
    study = store.get_study("scale")
    assert study is not None  # a planned give-back is not a failed delivery: nothing counted towards poison
    assert [c.deliveries for c in store.chunks_in_state(study.id)] == [0]


def test_grace_period_over_interrupts_and_requeues(workdir: Path, workers: Workers) -> None:
    spec = scale_spec(workdir, total=2, sleep=30)
    kubelab.tune.run(spec, store=workers.store, broker=workers.broker, workers=0, wait=False, chunk_size=2)
    proc = workers.start("--grace", "0.5")
    wait_until(lambda: kubelab.tune.status("scale", workers.store)["running"] == 1, 30, "a trial running")
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert time.monotonic() - started < 15
    rows = kubelab.tune.results("scale", workers.store)
    assert [(r.status, r.attempts) for r in rows] == [("pending", 0), ("pending", 0)]


def test_worker_errors_are_clear(workdir: Path, pg_url: str) -> None:
    bad = run_cli(["tune", "worker", "--broker", "redis://localhost/", "--store", pg_url])
    assert bad.returncode == 1 and "unsupported broker URL 'redis://localhost/'" in bad.stderr
    refused = run_cli(["tune", "worker", "--broker", "amqp://guest:wrong@127.0.0.1:5672/%2F", "--store", pg_url])
    assert refused.returncode == 1 and "access refused" in refused.stderr and "wrong" not in refused.stderr
    option = run_cli(["tune", "worker", "--broker", "amqp://127.0.0.1/?lease=1", "--store", pg_url])
    assert option.returncode == 1 and "lease='1' must be a number ≥ 3" in option.stderr
    down = run_cli(["tune", "run", str(scale_spec(workdir)), "--workers", "0", "--no-wait", "--store", pg_url,
                    "--broker", "amqp://guest:guest@127.0.0.1:1/"])
    assert down.returncode == 1 and down.stderr.strip() == (
        "error: RabbitMQ at amqp://guest:***@127.0.0.1:1/: cannot connect (refused or timed out); is RabbitMQ "
        "running there, and are the host and port right?")
    no_db = run_cli(["tune", "status", "scale", "--store", "postgresql://postgres@127.0.0.1:1/x"])
    assert no_db.returncode == 1 and "cannot connect to postgresql://postgres@127.0.0.1:1/x" in no_db.stderr
    missing = run_cli(["tune", "worker", "--store", pg_url], env={"KUBELAB_BROKER": ""})
    assert missing.returncode == 2 and "--broker" in missing.stderr


def test_tpe_asks_and_tells_through_rabbitmq(workdir: Path, workers: Workers) -> None:
    spec = write_spec(workdir, """
        study: tpe
        dataset: {builtin: diabetes}
        search: {method: tpe, trials: 10, seed: 1, startup: 4}
        models:
          - function: trial_fns:quadratic
            space: {x: {uniform: [0, 1]}, y: {uniform: [0, 1]}, c: [a, b]}
    """, "tpe.yaml")
    workers.start()
    result = kubelab.tune.run(spec, store=workers.store, broker=workers.broker, workers=0)
    assert result.counts["done"] == 10
    assert [r.number for r in kubelab.tune.results("tpe", workers.store)] == list(range(10))
