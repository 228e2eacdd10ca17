"""The store contract: studies, trials and their results, and the chunk table the embedded broker leases.

The store is the source of truth. Contract every backend keeps (checked by tests/store/test_contract.py):

- Trial rows are created once, at enqueue (``add_trials`` ignores numbers that exist), so a study holds
  exactly one row per trial number.
- ``start_trial`` moves a pending or running trial to ``running`` and counts one attempt; it returns None for
  a trial that is already final. ``finish_trial`` writes a final status (``done`` or ``failed``) only if the
  trial is not final yet: the first writer wins and a redelivered chunk can never double a result.
  ``finish_and_start`` does both (one trial's result, the next trial's start) in one transaction: a worker
  moving from one trial of a chunk to the next pays for one commit, not two.
- ``claim_chunk`` hands a queued chunk (or one whose lease expired) to exactly one caller, even when many
  processes on many machines call it at once.
- Every method commits before it returns; a connection lost mid-call raises ``TransientError`` and the call
  may be retried as a whole (every method is idempotent or conditional). ``start_trial`` and
  ``finish_trial`` may defer durability (not visibility) until ``sync``, which workers call before they ack.
- One instance may be used from several threads (each thread gets its own connection).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FINAL", "STATUSES", "Chunk", "Store", "Study", "TrialResult", "TrialRow"]

STATUSES = ("pending", "running", "done", "failed")
FINAL = ("done", "failed")


@dataclass(frozen=True)
class Study:
    id: int
    name: str
    spec: str  # normalized spec, JSON
    digest: str
    direction: str
    method: str
    total: int  # trials planned (grid size or the search's trials)
    created_at: float


@dataclass(frozen=True)
class TrialRow:
    number: int
    model: int
    label: str
    params: dict[str, Any]
    status: str
    value: float | None
    attempts: int
    duration_s: float | None
    worker: str | None
    error: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "model": self.label, "params": self.params, "status": self.status,
                "value": self.value, "attempts": self.attempts, "duration_s": self.duration_s,
                "worker": self.worker, "error": self.error, **({"extra": self.extra} if self.extra else {})}


@dataclass(frozen=True)
class TrialResult:
    """What a worker writes when a trial ends."""

    number: int
    status: str  # done | failed
    value: float | None
    duration_s: float
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    study_id: int
    chunk: int
    lo: int  # first trial number
    hi: int  # one past the last
    deliveries: int = 1
    study: str = ""  # the study's name, where the broker carries it (a check against a wrong store)


class Store(abc.ABC):
    """Persistent studies, trials and chunks. See the module docstring for the contract."""

    url: str

    # studies
    @abc.abstractmethod
    def create_study(self, name: str, spec: str, digest: str, direction: str, method: str, total: int) -> Study:
        """Create the study, or return the existing one of that name (whatever its spec: callers compare)."""

    @abc.abstractmethod
    def get_study(self, name: str) -> Study | None: ...

    @abc.abstractmethod
    def get_study_by_id(self, study_id: int) -> Study | None: ...

    @abc.abstractmethod
    def list_studies(self) -> list[tuple[Study, dict[str, int]]]:
        """Every study with its counts by status."""

    @abc.abstractmethod
    def delete_study(self, name: str) -> bool: ...

    # trials
    @abc.abstractmethod
    def add_trials(self, study_id: int, rows: Iterable[tuple[int, int, str, str]]) -> int:
        """Insert (number, model index, model label, params JSON) rows; existing numbers are left alone."""

    @abc.abstractmethod
    def max_number(self, study_id: int) -> int:
        """The highest trial number of the study, -1 when it has none."""

    @abc.abstractmethod
    def start_trial(self, study_id: int, number: int, worker: str) -> int | None:
        """Mark running and count an attempt; return the attempt number, or None if the trial is final."""

    @abc.abstractmethod
    def finish_trial(self, study_id: int, result: TrialResult, worker: str) -> bool:
        """Write a final result unless the trial is final already; True when this call wrote it."""

    def finish_and_start(self, study_id: int, result: TrialResult, number: int, worker: str) -> tuple[bool, int | None]:
        """``finish_trial(study_id, result, worker)`` then ``start_trial(study_id, number, worker)``, atomically
        (backends do it in one transaction); returns both answers."""
        return self.finish_trial(study_id, result, worker), self.start_trial(study_id, number, worker)

    def sync(self, worker: str) -> bool:
        """Make the trial writes this thread committed durable (``worker`` calls it before it acks a chunk).
        False when some of them may have been lost (the server crashed before flushing them): do not ack."""
        return True

    @abc.abstractmethod
    def reset_trial(self, study_id: int, number: int) -> None:
        """Give back an attempt that was interrupted on purpose (Ctrl-C, SIGTERM): running -> pending."""

    @abc.abstractmethod
    def open_trials(self, study_id: int, lo: int, hi: int) -> list[TrialRow]:
        """Trials in [lo, hi) that are not final, in number order."""

    @abc.abstractmethod
    def trials(self, study_id: int, numbers: Sequence[int] | None = None, status: str | None = None,
               top: int | None = None) -> list[TrialRow]:
        """Trials by number, or the ``top`` best done ones (study direction), or all with ``status``."""

    @abc.abstractmethod
    def counts(self, study_id: int) -> dict[str, int]:
        """Count of trials by status (every status present as a key)."""

    # chunks (the embedded broker's queue, and the coordinator's record of what was published)
    @abc.abstractmethod
    def add_chunks(self, study_id: int, chunks: Sequence[tuple[int, int, int]], state: str) -> None:
        """Insert (chunk, lo, hi) rows in ``state`` ('new' or 'queued'); existing chunks are left alone."""

    @abc.abstractmethod
    def chunks_in_state(self, study_id: int, state: str | None = None) -> list[Chunk]:
        """Chunks of a study in ``state`` (every chunk when None), in chunk order."""

    @abc.abstractmethod
    def set_chunk_state(self, study_id: int, chunks: Sequence[int], state: str) -> None:
        """Move chunks that are still 'new' to ``state`` (published); chunks past 'new' (queued, leased, done)
        are left alone, so a second coordinator publishing the same study never requeues a chunk a worker
        holds or finished."""

    def unfinished_chunks(self, study_id: int) -> int:
        """How many chunks of the study are not 'done' yet (new, queued or leased): a cheap check that the
        coordinator makes whenever a chunk finishes, before counting trials."""
        return sum(len(self.chunks_in_state(study_id, state)) for state in ("new", "queued", "leased"))

    @abc.abstractmethod
    def claim_chunk(self, owner: str, lease_s: float, study_id: int | None = None) -> Chunk | None:
        """Lease the oldest queued (or lease-expired) chunk to ``owner``; None when there is none."""

    @abc.abstractmethod
    def renew_lease(self, chunk: Chunk, owner: str, lease_s: float) -> bool:
        """Extend a lease this owner holds; False when it lost it."""

    @abc.abstractmethod
    def release_chunk(self, chunk: Chunk, owner: str, *, done: bool) -> None:
        """Mark a leased chunk done, or put it back in the queue."""

    @abc.abstractmethod
    def count_redelivery(self, study_id: int, chunk: int) -> int | None:
        """Count one more delivery of a chunk that a remote broker redelivered; return the chunk's total
        redeliveries, or None when the store has no record of the chunk."""

    @abc.abstractmethod
    def leases(self) -> list[tuple[Chunk, str, float]]:
        """Chunks currently leased: (chunk, owner, lease_until)."""

    @abc.abstractmethod
    def expire_lease(self, chunk: Chunk, owner: str) -> None:
        """Requeue a chunk whose owner is known to be dead (no need to wait for the lease to run out)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends have nothing to release
        """Release connections."""
