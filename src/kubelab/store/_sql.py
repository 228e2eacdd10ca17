"""The SQL store over the real drivers: SQLite (stdlib ``sqlite3``, the embedded default) and PostgreSQL
(``psycopg`` 3). One schema and one set of statements; the dialects differ in placeholders, connection
setup, the claim query (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and error translation.

Why not SQLAlchemy: its import alone costs ~165 ms and each statement ~0.1 ms of Python; the CLI's listing
commands and the per-trial dispatch budget (< 1 ms) cannot afford either. The SQL here is portable and small.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from kubelab.errors import BackendError, TransientError
from kubelab.store._base import FINAL, STATUSES, Chunk, Store, Study, TrialResult, TrialRow

__all__ = ["SQLStore"]

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS kubelab_studies (
        id {serial} PRIMARY KEY, name TEXT NOT NULL UNIQUE, spec TEXT NOT NULL, digest TEXT NOT NULL,
        direction TEXT NOT NULL, method TEXT NOT NULL, total INTEGER NOT NULL, created_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS kubelab_trials (
        study_id INTEGER NOT NULL, number INTEGER NOT NULL, model INTEGER NOT NULL, label TEXT NOT NULL,
        params TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending', value DOUBLE PRECISION,
        attempts INTEGER NOT NULL DEFAULT 0, duration_s DOUBLE PRECISION, worker TEXT, error TEXT, extra TEXT,
        started_at DOUBLE PRECISION, finished_at DOUBLE PRECISION, PRIMARY KEY (study_id, number))""",
    "CREATE INDEX IF NOT EXISTS kubelab_trials_rank ON kubelab_trials (study_id, status, value)",
    """CREATE TABLE IF NOT EXISTS kubelab_chunks (
        study_id INTEGER NOT NULL, chunk INTEGER NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL,
        state TEXT NOT NULL, owner TEXT, lease_until DOUBLE PRECISION, deliveries INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (study_id, chunk))""",
    "CREATE INDEX IF NOT EXISTS kubelab_chunks_queue ON kubelab_chunks (state, study_id, chunk)",
    # one row per worker slot, written by ``sync``: the durable write that flushes the slot's lazy trial writes
    "CREATE TABLE IF NOT EXISTS kubelab_workers (name TEXT PRIMARY KEY, synced_at DOUBLE PRECISION NOT NULL)",
]

# every table and index ``_SCHEMA`` creates: when all exist, opening a store runs no DDL
_SCHEMA_OBJECTS = [re.search(r"IF NOT EXISTS (\w+)", stmt).group(1) for stmt in _SCHEMA]  # type: ignore[union-attr]

_TRIAL_COLS = "number, model, label, params, status, value, attempts, duration_s, worker, error, extra"

# a trial's start (counts an attempt) and its final result (only if not final yet: the first writer wins);
# args: (worker, started_at, study_id, number) and (status, value, duration_s, error, extra, worker,
# finished_at, status, study_id, number). A done trial ran: one attempt at least, even when a crash took its
# lazy start_trial write.
_START = ("UPDATE kubelab_trials SET status = 'running', attempts = attempts + 1, worker = ?, started_at = ? "
          "WHERE study_id = ? AND number = ? AND status IN ('pending', 'running')")
_FINISH = ("UPDATE kubelab_trials SET status = ?, value = ?, duration_s = ?, error = ?, extra = ?, worker = ?, "
           "finished_at = ?, attempts = CASE WHEN attempts < 1 AND ? = 'done' THEN 1 ELSE attempts END "
           "WHERE study_id = ? AND number = ? AND status NOT IN ('done', 'failed')")


def _finish_args(study_id: int, result: TrialResult, worker: str, now: float) -> tuple[Any, ...]:
    """``_FINISH``'s arguments (a value that is not finite is stored as NULL)."""
    value = result.value if result.value is None or math.isfinite(result.value) else None
    extra = json.dumps(result.extra) if result.extra else None
    return (result.status, value, result.duration_s, result.error, extra, worker, now, result.status, study_id,
            result.number)


def _row_to_trial(r: Sequence[Any]) -> TrialRow:
    return TrialRow(int(r[0]), int(r[1]), r[2], json.loads(r[3]), r[4], r[5], int(r[6]), r[7], r[8], r[9],
                    json.loads(r[10]) if r[10] else {})


def _set_wal(conn: Any, wait_s: float = 30.0) -> None:
    """Switch a SQLite connection to WAL. The switch takes no busy timeout: two processes opening a new
    database at once can see "database is locked" here, so wait for the other one, as the busy timeout would."""
    import sqlite3

    deadline = time.monotonic() + wait_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _study(r: Sequence[Any]) -> Study:
    return Study(int(r[0]), r[1], r[2], r[3], r[4], r[5], int(r[6]), float(r[7]))


class SQLStore(Store):
    """``sqlite:///path.db`` or ``postgresql://user@host:port/db``. Thread-safe: a connection per thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = "postgresql" if url.startswith(("postgresql://", "postgres://")) else "sqlite"
        self._local = threading.local()
        self._pid = os.getpid()
        self._ensure_schema()

    # -- connections -------------------------------------------------------------------------------
    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            import sqlite3

            path = self.url.removeprefix("sqlite:///")
            try:
                if path not in ("", ":memory:"):
                    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                conn = sqlite3.connect(path or ":memory:", timeout=60, isolation_level=None, check_same_thread=False)
                _set_wal(conn)
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA busy_timeout=60000")
            except (OSError, sqlite3.Error) as exc:
                raise BackendError(f"cannot open the store at {self.url}: {exc}") from None
            return conn
        from kubelab._deps import require

        psycopg = require("psycopg", "postgres")
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            raise TransientError(f"cannot connect to {self._safe_url()}: {str(exc).strip()}") from None

    def _safe_url(self) -> str:
        if "@" in self.url and "://" in self.url:
            scheme, rest = self.url.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else self.url
        return self.url

    def _conn(self) -> Any:
        if os.getpid() != self._pid:  # forked: never share a parent's connection
            self._local = threading.local()
            self._pid = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if getattr(self._local, "unsynced", False):  # lazy trial writes not yet flushed may be gone with it
            self._local.lost = True
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """A transaction; connection errors become TransientError and drop the connection."""
        conn = self._conn()
        try:
            if self.dialect == "sqlite":
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            else:
                with conn.transaction():
                    yield conn.cursor()
        except Exception as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: Exception) -> Exception:
        if isinstance(exc, BackendError):
            return exc
        name = type(exc).__name__
        module = type(exc).__module__
        if module.startswith("psycopg"):
            import psycopg

            if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) or getattr(
                    exc, "sqlstate", "") in ("40001", "40P01", "57P01", "57P02", "57P03"):
                self._drop()
                return TransientError(f"PostgreSQL: {str(exc).strip() or name}")
            return BackendError(f"PostgreSQL: {str(exc).strip() or name}")
        if module == "sqlite3":
            if "locked" in str(exc) or "busy" in str(exc):
                return TransientError(f"SQLite: {exc}")
            return BackendError(f"SQLite ({self.url}): {exc}")
        return exc

    @contextmanager
    def _single(self) -> Iterator[Any]:
        """One statement, its own transaction: the autocommit connection runs it as one (BEGIN and COMMIT
        around it would cost two more round trips on PostgreSQL, two more statements and a write lock even
        for a read on SQLite). A SQLite write statement takes the write lock when it starts (waiting for it
        under the busy timeout), so it cannot fail half-way on a lock as a deferred transaction can."""
        try:
            yield self._conn()
        except Exception as exc:
            raise self._translate(exc) from exc

    def _q(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._single() as cur:
            return list(cur.execute(self._sql(sql), args).fetchall())

    def _x(self, sql: str, args: Sequence[Any] = ()) -> int:
        with self._single() as cur:
            return int(cur.execute(self._sql(sql), args).rowcount)

    def _ensure_schema(self) -> None:
        """Create what is missing. Opening a store that has it all costs one query (the listing commands open
        one per run), not a transaction of DDL statements."""
        serial = "SERIAL" if self.dialect == "postgresql" else "INTEGER"
        try:
            if self._has_schema():
                return
            with self._tx() as cur:
                if self.dialect == "postgresql":  # concurrent first runs: one creates, the others wait
                    cur.execute("SELECT pg_advisory_xact_lock(4242)")
                for stmt in _SCHEMA:
                    cur.execute(stmt.format(serial=serial))
        except TransientError:
            raise
        except BackendError as exc:
            raise BackendError(f"cannot open the store at {self._safe_url()}: {exc}") from None

    def _has_schema(self) -> bool:
        if self.dialect == "postgresql":  # names are ours (constants), never user input
            row = self._q(f"SELECT {', '.join(f'to_regclass({n!r}) IS NOT NULL' for n in _SCHEMA_OBJECTS)}")[0]
            return all(row)
        found = self._q(f"SELECT COUNT(*) FROM sqlite_master WHERE name IN ({', '.join('?' * len(_SCHEMA_OBJECTS))})",
                        _SCHEMA_OBJECTS)
        return int(found[0][0]) == len(_SCHEMA_OBJECTS)

    # -- studies -----------------------------------------------------------------------------------
    def create_study(self, name: str, spec: str, digest: str, direction: str, method: str, total: int) -> Study:
        self._x("INSERT INTO kubelab_studies (name, spec, digest, direction, method, total, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (name, spec, digest, direction, method, total, time.time()))
        study = self.get_study(name)
        assert study is not None
        return study

    def get_study(self, name: str) -> Study | None:
        rows = self._q("SELECT id, name, spec, digest, direction, method, total, created_at FROM kubelab_studies "
                       "WHERE name = ?", (name,))
        return _study(rows[0]) if rows else None

    def get_study_by_id(self, study_id: int) -> Study | None:
        rows = self._q("SELECT id, name, spec, digest, direction, method, total, created_at FROM kubelab_studies "
                       "WHERE id = ?", (study_id,))
        return _study(rows[0]) if rows else None

    def list_studies(self) -> list[tuple[Study, dict[str, int]]]:
        studies = [_study(r) for r in self._q(
            "SELECT id, name, spec, digest, direction, method, total, created_at FROM kubelab_studies ORDER BY id")]
        counts: dict[int, dict[str, int]] = {s.id: dict.fromkeys(STATUSES, 0) for s in studies}
        for sid, status, n in self._q("SELECT study_id, status, COUNT(*) FROM kubelab_trials "
                                      "GROUP BY study_id, status"):
            if sid in counts:
                counts[sid][status] = int(n)
        return [(s, counts[s.id]) for s in studies]

    def delete_study(self, name: str) -> bool:
        study = self.get_study(name)
        if study is None:
            return False
        with self._tx() as cur:
            for table in ("kubelab_trials", "kubelab_chunks"):
                cur.execute(self._sql(f"DELETE FROM {table} WHERE study_id = ?"), (study.id,))
            cur.execute(self._sql("DELETE FROM kubelab_studies WHERE id = ?"), (study.id,))
        return True

    # -- trials ------------------------------------------------------------------------------------
    def add_trials(self, study_id: int, rows: Iterable[tuple[int, int, str, str]]) -> int:
        data = [(study_id, n, m, label, params) for n, m, label, params in rows]
        with self._tx() as cur:
            cur.executemany(self._sql("INSERT INTO kubelab_trials (study_id, number, model, label, params) "
                                      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (study_id, number) DO NOTHING"), data)
        return len(data)

    def max_number(self, study_id: int) -> int:
        rows = self._q("SELECT MAX(number) FROM kubelab_trials WHERE study_id = ?", (study_id,))
        return -1 if rows[0][0] is None else int(rows[0][0])

    def start_trial(self, study_id: int, number: int, worker: str) -> int | None:
        self._local.unsynced = self.dialect == "postgresql"
        rows = self._q(f"{_START}{self._lazy} RETURNING attempts", (worker, time.time(), study_id, number))
        return int(rows[0][0]) if rows else None

    def finish_trial(self, study_id: int, result: TrialResult, worker: str) -> bool:
        self._local.unsynced = self.dialect == "postgresql"
        return self._x(f"{_FINISH}{self._lazy}", _finish_args(study_id, result, worker, time.time())) == 1

    def finish_and_start(self, study_id: int, result: TrialResult, number: int, worker: str) -> tuple[bool, int | None]:
        if number == result.number:
            raise ValueError(f"finish_and_start: trial {number} cannot be finished and started at once")
        now = time.time()
        finish_args = _finish_args(study_id, result, worker, now)
        start_args = (worker, now, study_id, number)
        if self.dialect == "postgresql":  # one statement, one round trip: both updates in data-modifying CTEs
            self._local.unsynced = True
            rows = self._q(f"WITH f AS ({_FINISH}{self._lazy} RETURNING 1), s AS ({_START}{self._lazy} "
                           "RETURNING attempts) SELECT (SELECT COUNT(*) FROM f), (SELECT attempts FROM s)",
                           (*finish_args, *start_args))
            wrote, attempt = rows[0]
            return int(wrote) == 1, None if attempt is None else int(attempt)
        with self._tx() as cur:
            wrote = cur.execute(_FINISH, finish_args).rowcount == 1
            started = cur.execute(_START + " RETURNING attempts", start_args).fetchall()
        return wrote, int(started[0][0]) if started else None

    @property
    def _lazy(self) -> str:
        """On PostgreSQL, a trial write commits without waiting for its WAL flush (``synchronous_commit`` off
        for that one transaction): it is visible at once and made durable by ``sync`` before its chunk is
        acked. That saves a disk flush per trial write. A crash that loses such writes also breaks this
        thread's connection: ``sync`` then says so and the worker gives the chunk back instead of acking it."""
        return " AND set_config('synchronous_commit', 'off', true) <> ''" if self.dialect == "postgresql" else ""

    def sync(self, worker: str) -> bool:
        if self.dialect != "postgresql":
            return True
        # A synchronous commit flushes the WAL up to its own record, so every earlier lazy commit with it; only
        # a transaction that writes WAL waits for the flush (one that merely has an id does not), hence a row.
        self._x("INSERT INTO kubelab_workers (name, synced_at) SELECT ?, ? "
                "WHERE set_config('synchronous_commit', 'on', true) = 'on' "
                "ON CONFLICT (name) DO UPDATE SET synced_at = excluded.synced_at", (worker, time.time()))
        # a lazy write is lost only if the server crashed before flushing it, and a crash breaks the connection
        intact = not getattr(self._local, "lost", False)
        self._local.lost = self._local.unsynced = False
        return intact

    def reset_trial(self, study_id: int, number: int) -> None:
        self._x("UPDATE kubelab_trials SET status = 'pending', attempts = attempts - 1 "
                "WHERE study_id = ? AND number = ? AND status = 'running' AND attempts > 0", (study_id, number))

    def open_trials(self, study_id: int, lo: int, hi: int) -> list[TrialRow]:
        return [_row_to_trial(r) for r in self._q(
            f"SELECT {_TRIAL_COLS} FROM kubelab_trials WHERE study_id = ? AND number >= ? AND number < ? "
            "AND status IN ('pending', 'running') ORDER BY number", (study_id, lo, hi))]

    def trials(self, study_id: int, numbers: Sequence[int] | None = None, status: str | None = None,
               top: int | None = None) -> list[TrialRow]:
        sql = f"SELECT {_TRIAL_COLS} FROM kubelab_trials WHERE study_id = ?"
        args: list[Any] = [study_id]
        if numbers is not None:
            if not numbers:
                return []
            sql += f" AND number IN ({', '.join('?' * len(numbers))})"
            args += list(numbers)
        if top is not None:
            study = self.get_study_by_id(study_id)
            order = "DESC" if study is None or study.direction == "maximize" else "ASC"
            sql += f" AND status = 'done' AND value IS NOT NULL ORDER BY value {order}, number LIMIT {int(top)}"
        else:
            if status is not None:
                sql += " AND status = ?"
                args.append(status)
            sql += " ORDER BY number"
        return [_row_to_trial(r) for r in self._q(sql, args)]

    def counts(self, study_id: int) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for status, n in self._q("SELECT status, COUNT(*) FROM kubelab_trials WHERE study_id = ? GROUP BY status",
                                 (study_id,)):
            out[status] = int(n)
        return out

    # -- chunks ------------------------------------------------------------------------------------
    def add_chunks(self, study_id: int, chunks: Sequence[tuple[int, int, int]], state: str) -> None:
        with self._tx() as cur:
            cur.executemany(self._sql("INSERT INTO kubelab_chunks (study_id, chunk, lo, hi, state) "
                                      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (study_id, chunk) DO NOTHING"),
                            [(study_id, c, lo, hi, state) for c, lo, hi in chunks])

    def chunks_in_state(self, study_id: int, state: str | None = None) -> list[Chunk]:
        where, args = ("AND state = ?", (study_id, state)) if state is not None else ("", (study_id,))
        return [Chunk(study_id, int(c), int(lo), int(hi), int(d)) for c, lo, hi, d in self._q(
            f"SELECT chunk, lo, hi, deliveries FROM kubelab_chunks WHERE study_id = ? {where} ORDER BY chunk",
            args)]

    def set_chunk_state(self, study_id: int, chunks: Sequence[int], state: str) -> None:
        with self._tx() as cur:
            cur.executemany(self._sql("UPDATE kubelab_chunks SET state = ? WHERE study_id = ? AND chunk = ? "
                                      "AND state = 'new'"), [(state, study_id, c) for c in chunks])

    def unfinished_chunks(self, study_id: int) -> int:
        rows = self._q("SELECT COUNT(*) FROM kubelab_chunks WHERE state IN ('new', 'queued', 'leased') "
                       "AND study_id = ?", (study_id,))  # the queue index: never reads the done ones
        return int(rows[0][0])

    def claim_chunk(self, owner: str, lease_s: float, study_id: int | None = None) -> Chunk | None:
        now = time.time()
        one = " AND study_id = ?" if study_id is not None else ""
        mine = [study_id] if study_id is not None else []
        if self.dialect == "postgresql":
            pick = (f"SELECT study_id, chunk FROM kubelab_chunks WHERE (state = 'queued' OR (state = 'leased' AND "
                    f"lease_until < ?)){one} ORDER BY study_id, chunk LIMIT 1 FOR UPDATE SKIP LOCKED")
            args: list[Any] = [now, *mine]
        else:  # each branch a seek on the queue index (an OR would scan every chunk of the study, done ones too)
            pick = (f"SELECT * FROM (SELECT study_id, chunk FROM kubelab_chunks WHERE state = 'queued'{one} "
                    "ORDER BY study_id, chunk LIMIT 1) UNION ALL SELECT * FROM (SELECT study_id, chunk FROM "
                    f"kubelab_chunks WHERE state = 'leased'{one} AND lease_until < ? ORDER BY study_id, chunk "
                    "LIMIT 1) ORDER BY study_id, chunk LIMIT 1")
            args = [*mine, *mine, now]
        rows = self._q(
            "UPDATE kubelab_chunks SET state = 'leased', owner = ?, lease_until = ?, deliveries = deliveries + 1 "
            f"WHERE (study_id, chunk) IN ({pick}) RETURNING study_id, chunk, lo, hi, deliveries",
            [owner, now + lease_s, *args])
        if not rows:
            return None
        sid, chunk, lo, hi, deliveries = (int(v) for v in rows[0])
        return Chunk(sid, chunk, lo, hi, deliveries)

    def renew_lease(self, chunk: Chunk, owner: str, lease_s: float) -> bool:
        return self._x("UPDATE kubelab_chunks SET lease_until = ? WHERE study_id = ? AND chunk = ? AND owner = ? "
                       "AND state = 'leased'", (time.time() + lease_s, chunk.study_id, chunk.chunk, owner)) == 1

    def release_chunk(self, chunk: Chunk, owner: str, *, done: bool) -> None:
        self._x("UPDATE kubelab_chunks SET state = ?, owner = NULL, lease_until = NULL WHERE study_id = ? "
                "AND chunk = ? AND owner = ? AND state = 'leased'",
                ("done" if done else "queued", chunk.study_id, chunk.chunk, owner))

    def count_redelivery(self, study_id: int, chunk: int) -> int | None:
        rows = self._q("UPDATE kubelab_chunks SET deliveries = deliveries + 1 WHERE study_id = ? AND chunk = ? "
                       "RETURNING deliveries", (study_id, chunk))
        return int(rows[0][0]) if rows else None

    def leases(self) -> list[tuple[Chunk, str, float]]:
        return [(Chunk(int(s), int(c), int(lo), int(hi), int(d)), o, float(u)) for s, c, lo, hi, d, o, u in self._q(
            "SELECT study_id, chunk, lo, hi, deliveries, owner, lease_until FROM kubelab_chunks "
            "WHERE state = 'leased'")]

    def expire_lease(self, chunk: Chunk, owner: str) -> None:
        self.release_chunk(chunk, owner, done=False)

    def close(self) -> None:
        self._drop()


assert set(FINAL) <= set(STATUSES)
