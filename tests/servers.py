"""Real servers for tests: the shared RabbitMQ and PostgreSQL on loopback (a private queue name and a private
database per test), and PRIVATE instances on free ports with their own data directories, for tests that stop,
restart or break a server.

    with PrivateRabbitMQ(tmp_path, consumer_timeout_ms=2000) as rmq:
        url = rmq.url("q1")
        rmq.restart()

PostgreSQL refuses to run as root: a private cluster is owned by (and run as) the ``postgres`` user.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

SHARED_PG = "postgresql://postgres@127.0.0.1:5432"
SHARED_AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def need(port: int, what: str) -> None:
    """Skip (or, under scripts/test.py, fail) when a shared server is not there."""
    if port_open(port):
        return
    message = f"{what} is not running on 127.0.0.1:{port}; run python scripts/services.py"
    if os.environ.get("KUBELAB_TEST_SERVICES"):
        pytest.fail(message)
    pytest.skip(message)


def unique(prefix: str = "kubelab_t_") -> str:
    return prefix + uuid.uuid4().hex[:12]


# -- the shared servers, isolated by name -------------------------------------------------------------------
@contextmanager
def postgres_database(server: str = SHARED_PG) -> Iterator[str]:
    """A new empty database on ``server``; dropped afterwards (whoever is still connected)."""
    import psycopg

    name = unique()
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def amqp_queue(server: str = SHARED_AMQP, **options: Any) -> Iterator[str]:
    """A broker URL with a queue name of its own (and ``options`` as query parameters); its queues are
    deleted afterwards."""
    queue = unique("kubelab.t.")
    query = "&".join(f"{k}={v}" for k, v in {"queue": queue, **options}.items())
    try:
        yield f"{server}?{query}"
    finally:
        delete_queues(server, queue)


def delete_queues(server: str, queue: str) -> None:
    import pika

    try:
        conn = pika.BlockingConnection(pika.URLParameters(server))
    except Exception:  # noqa: BLE001 - the server is gone (a private one, stopped): nothing to clean
        return
    try:
        for name in (queue, f"{queue}.dead", *(f"{queue}.wait.{ms}" for ms in (100, 200, 500, 1000, 5000))):
            ch = conn.channel()
            try:
                ch.queue_delete(name)
            except Exception:  # noqa: BLE001 - it did not exist
                pass
    finally:
        conn.close()


# -- private servers ------------------------------------------------------------------------------------------
def _wait(predicate: Any, seconds: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
    raise RuntimeError(f"{what} did not come up within {seconds:g} s\n{tail}")


class PrivateRabbitMQ:
    """A RabbitMQ node of its own (name, ports, data, config), for tests that stop or restart it."""

    def __init__(self, base: Path, *, consumer_timeout_ms: int | None = None) -> None:
        if not RABBITMQ_SERVER.exists():
            pytest.skip(f"{RABBITMQ_SERVER} not found; install it with: apt-get install -y rabbitmq-server")
        self.dir = base / "rabbitmq"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port, self.dist_port = free_port(), free_port()
        self.node = f"{unique('kubelab_t_')}@localhost"
        conf = [f"listeners.tcp.default = 127.0.0.1:{self.port}", "log.console = true", "log.file = false"]
        advanced = "[]."
        if consumer_timeout_ms is not None:  # checked on each channel tick (every 60 s by default)
            conf.append(f"consumer_timeout = {consumer_timeout_ms}")
            advanced = f"[{{rabbit, [{{channel_tick_interval, {max(100, consumer_timeout_ms // 4)}}}]}}]."
        (self.dir / "rabbitmq.conf").write_text("\n".join(conf) + "\n")
        (self.dir / "advanced.config").write_text(advanced + "\n")
        (self.dir / "env.conf").write_text("ERL_EPMD_ADDRESS=127.0.0.1\n")
        (self.dir / "plugins").write_text("[].\n")
        self.env = {**os.environ, "HOME": str(self.dir), "RABBITMQ_CONF_ENV_FILE": str(self.dir / "env.conf"),
                    "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_PORT": str(self.port),
                    "RABBITMQ_DIST_PORT": str(self.dist_port), "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
                    "RABBITMQ_LOG_BASE": str(self.dir / "log"), "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "plugins"),
                    "RABBITMQ_PID_FILE": str(self.dir / "pid"),
                    "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
                    "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}"}
        self.proc: subprocess.Popen[bytes] | None = None
        self.server = f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def url(self, **options: Any) -> str:
        query = "&".join(f"{k}={v}" for k, v in options.items())
        return f"{self.server}?{query}" if query else self.server

    def start(self) -> None:
        log = (self.dir / "server.log").open("ab")
        self.proc = subprocess.Popen([str(RABBITMQ_SERVER)], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        _wait(self._ready, 90, "private RabbitMQ", self.dir / "server.log")

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"private RabbitMQ exited: {(self.dir / 'server.log').read_text()[-3000:]}")
        if not port_open(self.port):
            return False
        import pika

        try:
            pika.BlockingConnection(pika.URLParameters(self.server)).close()
            return True
        except Exception:  # noqa: BLE001 - still booting
            return False

    def stop(self) -> None:
        """Stop the node (SIGTERM to its process group, then SIGKILL); its data stays for ``start``."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        self.proc = None
        _wait(lambda: not port_open(self.port), 10, "private RabbitMQ shutdown")

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> PrivateRabbitMQ:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PrivatePostgres:
    """A PostgreSQL 15 cluster of its own (port, data directory), run as the ``postgres`` user."""

    def __init__(self, base: Path) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"{PG_BIN}/initdb not found; install it with: apt-get install -y postgresql")
        self.dir = Path(f"/tmp/{unique('kubelab_pg_')}")  # postgres must reach it: not under root's tmp_path
        self.data = self.dir / "data"
        self.port = free_port()
        self.server = f"postgresql://postgres@127.0.0.1:{self.port}"
        self.dir.mkdir(mode=0o700)
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                           "--no-sync", "-E", "UTF8"])

    def _as_postgres(self, cmd: list[str]) -> None:
        out = subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True,
                             cwd="/tmp", timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr[-2000:]}")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-o", opts,
                           "-w", "-t", "60", "start"])

    def stop(self) -> None:
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])

    @contextmanager
    def database(self) -> Iterator[str]:
        with postgres_database(self.server) as url:
            yield url

    def __enter__(self) -> PrivatePostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        except RuntimeError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
