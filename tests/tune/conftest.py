from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kubelab.store import TrialRow
from tests.servers import amqp_queue, need, postgres_database

HERE = Path(__file__).resolve().parent


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A directory with the test objectives and estimator modules beside where specs are written."""
    shutil.copy(HERE / "trial_fns.py", tmp_path / "trial_fns.py")
    shutil.copy(HERE / "trial_estimators.py", tmp_path / "trial_estimators.py")
    return tmp_path


def write_spec(directory: Path, text: str, name: str = "spec.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


# -- RabbitMQ + PostgreSQL ------------------------------------------------------------------------------------
@pytest.fixture
def pg_url() -> Iterator[str]:
    """A private database on the shared PostgreSQL, dropped afterwards."""
    need(5432, "PostgreSQL")
    with postgres_database() as url:
        yield url


@pytest.fixture
def amqp_url() -> Iterator[str]:
    """The shared RabbitMQ with a queue of this test's own (lease 3 s: heartbeat 1 s)."""
    need(5672, "RabbitMQ")
    with amqp_queue(lease=3, recheck=0.5) as url:
        yield url


class Workers:
    """``kubelab tune worker`` processes started by a test, stopped (SIGKILL) at its end."""

    def __init__(self, cwd: Path, broker: str, store: str) -> None:
        self.cwd, self.broker, self.store = cwd, broker, store
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, *args: str) -> subprocess.Popen[str]:
        log = (self.cwd / f"worker-{len(self.procs)}.log").open("w")
        proc = subprocess.Popen([sys.executable, "-m", "kubelab", "tune", "worker", "--broker", self.broker,
                                 "--store", self.store, *args], cwd=self.cwd, stdout=log,
                                stderr=subprocess.STDOUT, text=True)
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "".join(p.read_text() for p in sorted(self.cwd.glob("worker-*.log")))

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.kill()
                p.wait(timeout=10)


@pytest.fixture
def workers(workdir: Path, amqp_url: str, pg_url: str) -> Iterator[Workers]:
    w = Workers(workdir, amqp_url, pg_url)
    yield w
    w.stop_all()


def wait_until(predicate: Callable[[], bool], seconds: float, what: str,
               detail: Callable[[], object] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds:g} s waiting for {what}"
                         + (f"; {detail()}" if detail is not None else ""))


def assert_exactly_once(store_url: str, study: str, total: int) -> list[TrialRow]:
    """Every grid point has exactly one final result (done or failed): none lost, none doubled."""
    import kubelab.tune

    rows = kubelab.tune.results(study, store_url)
    assert [r.number for r in rows] == list(range(total))
    assert {r.status for r in rows} <= {"done", "failed"}, [r for r in rows if r.status not in ("done", "failed")]
    return rows


def executions(log: Path) -> list[int]:
    """Trial executions recorded by trial_fns (one line per run of the objective)."""
    return sorted(int(x) for x in log.read_text().split()) if log.exists() else []
