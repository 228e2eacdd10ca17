"""The embedded broker: chunks live in the store's chunk table and are leased, not delivered.

A lease is renewed while its holder works; when the holder dies its lease runs out and the chunk goes to
whoever asks next. Holders on this machine that are known dead (their process is gone) are expired at once.

Waiting for a chunk polls the store every ``poll_s``; a publish through a broker of the same family
(``for_slot`` copies, in this process) wakes the waiting ``get`` calls at once, so the first chunk of a run
reaches its slots when it is queued, not up to a poll later.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Sequence

from kubelab.broker._base import Broker
from kubelab.store import Chunk, Store

__all__ = ["EmbeddedBroker", "expire_dead_local_owners", "owner_id"]


def owner_id(slot: int | str) -> str:
    """``host:pid:slot``: who holds a lease, precise enough to tell when it is dead on this host."""
    return f"{socket.gethostname()}:{os.getpid()}:{slot}"


def expire_dead_local_owners(store: Store) -> int:
    """Requeue chunks leased by processes of this host that no longer exist; return how many."""
    host = socket.gethostname()
    count = 0
    for chunk, owner, _until in store.leases():
        parts = owner.rsplit(":", 2)
        if len(parts) == 3 and parts[0] == host and parts[1].isdigit() and not _pid_exists(int(parts[1])):
            store.expire_lease(chunk, owner)
            count += 1
    return count


def _pid_exists(pid: int) -> bool:
    import psutil  # here: most runs find no lease to check, and psutil's import is on every run's start-up

    return bool(psutil.pid_exists(pid))


class _News:
    """A counter of publishes that waiting ``get`` calls sleep on (a condition variable with a generation)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.generation = 0

    def notify(self) -> None:
        with self._cond:
            self.generation += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        """Sleep up to ``timeout`` s unless something was published since ``seen``."""
        with self._cond:
            if self.generation == seen:
                self._cond.wait(timeout)


class EmbeddedBroker(Broker):
    """Leases chunks from the store's table; ``study_id`` limits it to one study."""

    def __init__(self, store: Store, owner: str, *, lease_s: float = 30.0, study_id: int | None = None,
                 poll_s: float = 0.05, cancel: threading.Event | None = None, _news: _News | None = None) -> None:
        self.url = f"embedded+{store.url}"
        self.store = store
        self.owner = owner
        self.lease_s = lease_s
        self.study_id = study_id
        self.poll_s = poll_s
        self.cancel = cancel or threading.Event()  # set (then ``wake()``): ``get`` stops waiting at once
        self._news = _news or _News()  # shared with the ``for_slot`` copies
        self._renewed = 0.0

    def for_slot(self, owner: str) -> EmbeddedBroker:
        return EmbeddedBroker(self.store, owner, lease_s=self.lease_s, study_id=self.study_id, poll_s=self.poll_s,
                              cancel=self.cancel, _news=self._news)

    def wake(self) -> None:
        """Have every waiting ``get`` of this family look again now (after a publish, or setting ``cancel``)."""
        self._news.notify()

    def publish(self, chunks: Sequence[Chunk]) -> None:
        by_study: dict[int, list[Chunk]] = {}
        for c in chunks:
            by_study.setdefault(c.study_id, []).append(c)
        for study_id, items in by_study.items():
            self.store.add_chunks(study_id, [(c.chunk, c.lo, c.hi) for c in items], "new")
            self.store.set_chunk_state(study_id, [c.chunk for c in items], "queued")
        self.wake()

    def get(self, timeout: float) -> Chunk | None:
        deadline = time.monotonic() + timeout
        while True:
            seen = self._news.generation  # before the claim: a publish after it is not missed
            chunk = self.store.claim_chunk(self.owner, self.lease_s, self.study_id)
            if chunk is not None:
                self._renewed = time.monotonic()
                return chunk
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.cancel.is_set():
                return None
            self._news.wait(seen, min(self.poll_s, remaining))
            if self.cancel.is_set():
                return None

    def heartbeat(self, chunk: Chunk) -> bool:
        now = time.monotonic()
        if now - self._renewed < self.lease_s / 3:
            return True
        self._renewed = now
        return self.store.renew_lease(chunk, self.owner, self.lease_s)

    def ack(self, chunk: Chunk) -> None:
        self.store.release_chunk(chunk, self.owner, done=True)

    def nack(self, chunk: Chunk) -> None:
        self.store.release_chunk(chunk, self.owner, done=False)
