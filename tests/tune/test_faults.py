"""Fault tests of ``kubelab tune`` on RabbitMQ + PostgreSQL: whatever dies, every grid point ends with exactly
one ``done`` or ``failed`` result, none lost, none doubled. Tests that break a server run a private one."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import kubelab.tune
from kubelab.errors import StudyError, TransientError
from kubelab.store import Store, get_store
from tests.servers import PrivatePostgres, PrivateRabbitMQ, delete_queues, unique
from tests.tune.conftest import Workers, assert_exactly_once, executions, wait_until, write_spec

pytestmark = [pytest.mark.slow, pytest.mark.services]


def grid_spec(workdir: Path, fn: str, total: int, name: str = "faults", extra: str = "", **fixed: object) -> Path:
    fixed_text = ", ".join(f"{k}: {v}" for k, v in {**fixed, "log": workdir / "log.txt"}.items())
    return write_spec(workdir, f"""
        study: {name}
        dataset: {{builtin: diabetes}}
        search: {{method: grid}}
        {extra}
        models:
          - function: trial_fns:{fn}
            fixed: {{{fixed_text}}}
            space: {{x: {{range: [0, {total - 1}]}}}}
    """, f"{name}.yaml")


@functools.cache
def opened(url: str) -> Store:
    """One store per URL for the polling below (opening one per poll would load the machine under test)."""
    return get_store(url)


def counts(store: str, study: str = "faults") -> dict[str, int]:
    try:
        status: dict[str, int] = kubelab.tune.status(study, opened(store))
    except (StudyError, TransientError):  # not created yet, or the server is restarting
        return {"pending": 0, "running": 0, "done": 0, "failed": 0}
    return status


def finished(store: str, study: str = "faults") -> int:
    c = counts(store, study)
    return c["done"] + c["failed"]


def running_pid(store: str, study: str = "faults") -> int | None:
    """The pid of a worker with a trial running (its slot name is host:pid:slot)."""
    s = opened(store)
    study_row = s.get_study(study)
    assert study_row is not None
    for trial in s.trials(study_row.id, status="running"):
        if trial.worker:
            pid = int(trial.worker.rsplit(":", 2)[1])
            try:
                os.kill(pid, 0)
                return pid
            except ProcessLookupError:
                continue
    return None


def never_doubled(store: str, workdir: Path, study: str = "faults") -> None:
    """Each run of an objective was an attempt the store counted: no trial ran behind the store's back."""
    ran = Counter(executions(workdir / "log.txt"))
    for row in kubelab.tune.results(study, store):
        assert ran[row.number] <= row.attempts, (row.number, ran[row.number], row.attempts)
        if row.status == "done":
            assert ran[row.number] >= 1


@pytest.fixture(scope="module")
def private_rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRabbitMQ]:
    """One private node for the tests that restart it or need a short consumer timeout (2 s)."""
    with PrivateRabbitMQ(tmp_path_factory.mktemp("rmq"), consumer_timeout_ms=2000) as rmq:
        yield rmq


@pytest.fixture
def private_queue(private_rabbitmq: PrivateRabbitMQ) -> Iterator[str]:
    queue = unique("kubelab.t.")
    yield private_rabbitmq.url(queue=queue, lease=3, recheck=0.5)
    delete_queues(private_rabbitmq.server, queue)


def test_twenty_kills_of_workers_lose_and_double_nothing(workdir: Path, workers: Workers) -> None:
    total = 30
    spec = grid_spec(workdir, "sleepy", total, extra="max_attempts: 8", sleep=0.2)
    kubelab.tune.run(spec, store=workers.store, broker=workers.broker, workers=0, wait=False, chunk_size=3)
    for _ in range(3):
        workers.start()
    kills = 0
    deadline = time.monotonic() + 90
    while kills < 20 and finished(workers.store) < total and time.monotonic() < deadline:
        pid = running_pid(workers.store)
        if pid is None:
            time.sleep(0.05)
            continue
        os.kill(pid, signal.SIGKILL)  # in the middle of a trial, so in the middle of its chunk
        kills += 1
        workers.start()  # what a Deployment does
        time.sleep(0.15)
    assert kills >= 20
    wait_until(lambda: finished(workers.store) == total, 90, "every trial final")
    rows = assert_exactly_once(workers.store, "faults", total)
    # kills land on whatever runs, often the same trial again after its chunk is redelivered: a trial whose
    # worker died under it too often (max_attempts, or its chunk's max_deliveries) is failed with that reason,
    # never lost and never for another reason; the rest are done
    for r in rows:
        assert r.status == "done" or "worker died" in (r.error or ""), r
    assert sum(r.status == "done" for r in rows) >= total // 2
    never_doubled(workers.store, workdir)


def test_sigstopped_worker_loses_its_chunk_within_the_lease(workdir: Path, workers: Workers) -> None:
    spec = grid_spec(workdir, "sleepy", 4, sleep=1.0)
    kubelab.tune.run(spec, store=workers.store, broker=workers.broker, workers=0, wait=False, chunk_size=4)
    first = workers.start()
    wait_until(lambda: running_pid(workers.store) == first.pid, 30, "the first worker running a trial")
    workers.start()  # idle, waiting
    time.sleep(1.0)
    stopped_at = time.monotonic()
    first.send_signal(signal.SIGSTOP)  # the node vanishes silently: no FIN, no RST
    wait_until(lambda: running_pid(workers.store) not in (None, first.pid), 30, "another worker on the chunk")
    lease = 3.0
    assert time.monotonic() - stopped_at <= lease + 2.0
    first.kill()
    wait_until(lambda: finished(workers.store) == 4, 30, "every trial final")
    rows = assert_exactly_once(workers.store, "faults", 4)
    assert {r.status for r in rows} == {"done"}
    never_doubled(workers.store, workdir)


def test_a_trial_longer_than_the_consumer_timeout_runs_once(workdir: Path, private_queue: str, pg_url: str
                                                             ) -> None:
    spec = grid_spec(workdir, "long_first", 3, long=7, sleep=0.1)
    kubelab.tune.run(spec, store=pg_url, broker=private_queue, workers=0, wait=False, chunk_size=3)
    workers = Workers(workdir, private_queue, pg_url)
    try:
        workers.start()
        wait_until(lambda: running_pid(pg_url) is not None, 30, "the long trial running")
        workers.start()
        wait_until(lambda: finished(pg_url) == 3, 60, "every trial final")
    finally:
        workers.stop_all()
    rows = assert_exactly_once(pg_url, "faults", 3)
    assert [(r.status, r.attempts) for r in rows] == [("done", 1)] * 3
    assert executions(workdir / "log.txt") == [0, 1, 2]  # the long trial ran once, not once per timeout
    assert "lost the delivery of chunk 0" in workers.logs()  # RabbitMQ did time the consumer out


def test_rabbitmq_restarted_mid_study(workdir: Path, private_rabbitmq: PrivateRabbitMQ, private_queue: str,
                                      pg_url: str) -> None:
    total = 16
    spec = grid_spec(workdir, "sleepy", total, sleep=0.3)
    kubelab.tune.run(spec, store=pg_url, broker=private_queue, workers=0, wait=False, chunk_size=2)
    workers = Workers(workdir, private_queue, pg_url)
    try:
        workers.start()
        workers.start()
        wait_until(lambda: finished(pg_url) >= 3, 30, "3 trials final")
        private_rabbitmq.restart()  # durable queue, persistent messages: the chunks survive
        wait_until(lambda: finished(pg_url) == total, 90, "every trial final")
        assert all(p.poll() is None for p in workers.procs)  # no worker crashed
    finally:
        workers.stop_all()
    rows = assert_exactly_once(pg_url, "faults", total)
    assert {r.status for r in rows} == {"done"}
    never_doubled(pg_url, workdir)


def test_postgres_unavailable_for_ten_seconds(workdir: Path, amqp_url: str, tmp_path: Path) -> None:
    total = 16
    with PrivatePostgres(tmp_path) as pg, pg.database() as store:
        spec = grid_spec(workdir, "sleepy", total, sleep=0.3)
        kubelab.tune.run(spec, store=store, broker=amqp_url, workers=0, wait=False, chunk_size=2)
        workers = Workers(workdir, amqp_url, store)
        coordinator = subprocess.Popen([sys.executable, "-m", "kubelab", "tune", "run", str(spec), "--workers", "0",
                                        "--broker", amqp_url, "--store", store], cwd=workdir,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            workers.start()
            workers.start()
            wait_until(lambda: finished(store) >= 3, 30, "3 trials final")
            pg.stop()
            time.sleep(10)
            pg.start()
            wait_until(lambda: finished(store) == total, 90, "every trial final",
                       lambda: [r for r in kubelab.tune.results("faults", store) if r.status != "done"])
            assert all(p.poll() is None for p in workers.procs)  # no worker crashed
            assert coordinator.wait(timeout=30) == 0, coordinator.stderr.read() if coordinator.stderr else ""
        finally:
            coordinator.kill()
            workers.stop_all()
        rows = assert_exactly_once(store, "faults", total)
        assert {r.status for r in rows} == {"done"} and min(r.attempts for r in rows) >= 1
        # a crash may take trial writes not yet flushed (never of an acked chunk): only trials of the two
        # chunks in hand (2 trials each) can have run again
        ran = Counter(executions(workdir / "log.txt"))
        assert set(ran) == set(range(total)) and sum(ran.values()) <= total + 4
        assert "retrying" in workers.logs()


def test_coordinator_killed_and_rerun_enqueues_nothing_twice(workdir: Path, workers: Workers) -> None:
    total = 30
    spec = grid_spec(workdir, "sleepy", total, sleep=0.1)
    cmd = [sys.executable, "-m", "kubelab", "tune", "run", str(spec), "--workers", "0", "--chunk-size", "2",
           "--broker", workers.broker, "--store", workers.store]
    coordinator = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers.start()
    wait_until(lambda: counts(workers.store)["done"] >= 5, 60, "5 trials done")
    coordinator.kill()
    coordinator.wait()
    again = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert_exactly_once(workers.store, "faults", total)
    assert executions(workdir / "log.txt") == list(range(total))  # nothing enqueued twice, nothing run twice
    s = get_store(workers.store)
    study = s.get_study("faults")
    assert study is not None and s.chunks_in_state(study.id, "new") == []


def test_poison_chunk_is_tried_a_bounded_number_of_times(workdir: Path, pg_url: str) -> None:
    from kubelab.broker._amqp import AmqpBroker
    from tests.servers import amqp_queue, need

    need(5672, "RabbitMQ")
    with amqp_queue(lease=3, max_deliveries=2) as broker:
        # trial 0 kills the worker running it; max_attempts is high, so the chunk's delivery limit stops it
        spec = grid_spec(workdir, "poison", 4, extra="max_attempts: 9", poison=0)
        kubelab.tune.run(spec, store=pg_url, broker=broker, workers=0, wait=False, chunk_size=2)
        workers = Workers(workdir, broker, pg_url)
        try:
            deadline = time.monotonic() + 90
            while finished(pg_url) < 4 and time.monotonic() < deadline:
                if all(p.poll() is not None for p in workers.procs):
                    workers.start()  # what a Deployment does
                time.sleep(0.2)
        finally:
            workers.stop_all()
        rows = assert_exactly_once(pg_url, "faults", 4)
        assert [r.status for r in rows] == ["failed", "failed", "done", "done"]
        assert rows[0].error is not None and rows[0].error.startswith("its chunk was delivered 3 times")
        assert rows[1].error == rows[0].error and rows[1].attempts == 0  # never ran: its chunk was poison
        assert executions(workdir / "log.txt").count(0) == 2
        dead = AmqpBroker(broker)
        parked = dead.dead_letters()
        dead.close()
        assert [(c.study, c.lo, c.hi) for c, _ in parked] == [("faults", 0, 2)]
        assert "study 'faults' trials 0..1: its chunk was delivered 3 times" in parked[0][1]


def test_trial_that_kills_its_worker_fails_after_max_attempts(workdir: Path, workers: Workers) -> None:
    spec = grid_spec(workdir, "poison", 3, extra="max_attempts: 2", poison=1)
    kubelab.tune.run(spec, store=workers.store, broker=workers.broker, workers=0, wait=False, chunk_size=1)
    deadline = time.monotonic() + 90
    while finished(workers.store) < 3 and time.monotonic() < deadline:
        if all(p.poll() is not None for p in workers.procs):
            workers.start()
        time.sleep(0.2)
    rows = assert_exactly_once(workers.store, "faults", 3)
    assert [r.status for r in rows] == ["done", "failed", "done"]
    assert rows[1].error == ("its worker died 2 time(s) while running it (killed, out of memory or node lost); "
                             "gave up after 2 attempts")
    assert executions(workdir / "log.txt").count(1) == 2
