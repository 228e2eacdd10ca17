"""PostgreSQL specifics of the SQL store: lazy trial writes and how ``sync`` guards them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from kubelab.errors import TransientError
from kubelab.store import Store, TrialResult, get_store
from tests.servers import PrivatePostgres, need, postgres_database

pytestmark = pytest.mark.services


@pytest.fixture
def pg() -> Iterator[tuple[str, Store]]:
    need(5432, "PostgreSQL")
    with postgres_database() as url:
        store = get_store(url)
        yield url, store
        store.close()


def _kill_connections(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall()
    return len(rows)


def test_sync_says_when_a_broken_connection_may_have_taken_trial_writes(pg: tuple[str, Store]) -> None:
    url, store = pg
    study = store.create_study("s", "{}", "d", "maximize", "grid", 2)
    store.add_trials(study.id, [(0, 0, "m", "{}"), (1, 0, "m", "{}")])
    store.start_trial(study.id, 0, "w")
    store.finish_trial(study.id, TrialResult(0, "done", 1.0, 0.1), "w")
    assert store.sync("w") is True  # flushed: nothing could be lost
    store.start_trial(study.id, 1, "w")
    assert _kill_connections(url) >= 1  # as a server crash would
    with pytest.raises(TransientError):
        store.sync("w")
    assert store.sync("w") is False  # the lazy write of trial 1 may be gone: the worker must not ack
    assert store.sync("w") is True  # and the next chunk starts clean
    assert store.counts(study.id)["done"] == 1


def test_reads_and_conditional_writes_survive_a_reconnect(pg: tuple[str, Store]) -> None:
    url, store = pg
    study = store.create_study("s", "{}", "d", "maximize", "grid", 1)
    store.add_trials(study.id, [(0, 0, "m", "{}")])
    _kill_connections(url)
    with pytest.raises(TransientError, match="PostgreSQL"):
        store.counts(study.id)
    assert store.counts(study.id)["pending"] == 1  # a new connection, transparently


def test_sync_makes_lazy_trial_writes_survive_a_crash(tmp_path: Path) -> None:
    with PrivatePostgres(tmp_path) as server, server.database() as url:
        store = get_store(url)
        study = store.create_study("s", "{}", "d", "maximize", "grid", 3)
        store.add_trials(study.id, [(n, 0, "m", "{}") for n in range(3)])
        for n in range(3):
            store.start_trial(study.id, n, "w")
            store.finish_trial(study.id, TrialResult(n, "done", float(n), 0.1), "w")
        assert store.sync("w") is True
        server.stop()  # immediately, as a crash: WAL not yet flushed is gone
        server.start()
        with pytest.raises(TransientError):
            store.counts(study.id)  # the old connection died with the server
        assert store.counts(study.id)["done"] == 3
        store.close()


def test_opening_a_complete_store_runs_no_schema_transaction(pg: tuple[str, Store]) -> None:
    """A store that has its schema opens with one check, not the DDL transaction under the advisory lock (which
    every listing command would pay for, and which would wait here behind the lock another session holds)."""
    import threading

    url, _store = pg
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(4242)")
        opened: list[Store] = []
        thread = threading.Thread(target=lambda: opened.append(get_store(url)), daemon=True)
        thread.start()
        thread.join(10)
        opened_while_locked = bool(opened)
        other.execute("SELECT pg_advisory_unlock(4242)")
    thread.join(10)
    assert opened_while_locked
    opened[0].close()
