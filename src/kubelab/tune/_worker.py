"""A worker slot: takes chunks from a broker, runs their trials in a supervised child, writes results to
the store, and acks only after they are committed.

Attempt accounting: ``start_trial`` counts an attempt before the trial runs. A crash of the child is seen
here and retried up to the study's ``max_attempts``; a trial whose *worker* died (its chunk delivered again
while the trial was still ``running``) has its lost attempts counted the same way, so a trial that kills
every worker it lands on is failed after a bounded number of tries instead of looping forever.

One commit per trial: a trial's result is held (in memory, for the few cheap checks between two trials) and
written in the same transaction as the next trial's start (``Store.finish_and_start``); the last result of a
chunk, or the one in hand when the slot leaves the chunk for any reason, is written alone before anything is
acked or given back (``_sync`` writes it first). The start is still committed before its trial runs, and a
result still before its chunk is acked, so the attempt and exactly-once rules are the same as with two
commits; a worker killed between a trial's end and the next start loses that one result (its trial is found
``running`` and run again, as when it is killed during the trial).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kubelab.broker import Broker
from kubelab.errors import TransientError
from kubelab.store import Chunk, Store, TrialResult, TrialRow
from kubelab.tune._executor import Executor, Outcome, Task
from kubelab.tune._folds import FoldShare, SharedTrial, help_once, run_folds

__all__ = ["Slot", "Stop", "StudyCache"]

log = logging.getLogger(__name__)


class Stop:
    """How a slot is told to stop: ``drain`` finishes the trial in hand, ``abort`` kills it (and requeues)."""

    def __init__(self) -> None:
        self.drain = threading.Event()
        self.abort = threading.Event()

    @property
    def requested(self) -> bool:
        return self.drain.is_set() or self.abort.is_set()


@dataclass(frozen=True)
class _StudyInfo:
    name: str
    spec_json: str
    digest: str
    max_attempts: int
    timeout: float | None
    memory_limit_mb: int | None
    folds: tuple[int, ...]  # per model: cross-validation folds (0: a function, run whole)


class StudyCache:
    """Study specs by id, read once from the store (thread-safe enough: values are immutable)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._items: dict[int, _StudyInfo] = {}

    def get(self, study_id: int) -> _StudyInfo | None:
        info = self._items.get(study_id)
        if info is None:
            study = self.store.get_study_by_id(study_id)
            if study is None:
                return None
            import json

            data = json.loads(study.spec)
            cv = data.get("cv", 5)
            folds = int(cv.get("folds", 5) if isinstance(cv, dict) else cv)
            info = _StudyInfo(study.name, study.spec, study.digest, int(data.get("max_attempts", 3)),
                              data.get("trial_timeout"), data.get("memory_limit_mb"),
                              tuple(folds if "estimator" in m else 0 for m in data["models"]))
            self._items[study_id] = info
        return info


def retry(call: Callable[[], object], stop: Stop, what: str, max_wait: float = 10.0) -> object:
    """Call until it does not raise TransientError, backing off up to ``max_wait`` s between tries."""
    delay = 0.2
    while True:
        try:
            return call()
        except TransientError as exc:
            if stop.abort.is_set():
                raise
            log.warning("%s failed (%s); retrying in %.1f s", what, exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, max_wait)


class Slot:
    """One trial at a time from ``broker``; results to ``store``."""

    def __init__(self, store: Store, broker: Broker, studies: StudyCache, *, name: str, threads: int = 1,
                 memory_limit_mb: int | None = None, stop: Stop | None = None,
                 on_trial: Callable[[str, TrialRow, Outcome], None] | None = None,
                 on_chunk: Callable[[], None] | None = None, executor: Executor | None = None,
                 share: FoldShare | None = None) -> None:
        self.store = store
        self.broker = broker
        self.studies = studies
        self.name = name
        self.stop = stop or Stop()
        self.executor = executor or Executor(threads, memory_limit_mb)
        self.executor.memory_limit_mb = memory_limit_mb
        self.on_trial = on_trial
        self.on_chunk = on_chunk
        self.share = share  # folds of the trials of this process's other slots (None: run trials whole)
        self.error: BaseException | None = None
        self._delivery_lost = False
        # a result not written yet, to go with the next start: (study id, result, trial, outcome, study name)
        self._held: tuple[int, TrialResult, TrialRow, Outcome, str] | None = None

    def run(self, idle: Callable[[], bool] | None = None) -> None:
        """Process chunks until stopped, or until ``idle()`` says so when no chunk is waiting."""
        try:
            self.executor.start()  # start the child now: its start-up overlaps the first claim
            while not self.stop.requested:
                try:
                    chunk = self.broker.get(timeout=0.0 if self.share and self.share.has_work() else 0.2)
                except TransientError as exc:
                    log.warning("broker unavailable (%s); retrying", exc)
                    time.sleep(1.0)
                    continue
                if chunk is None:
                    if self.share is not None and help_once(self.executor, self.share, self.stop.abort):
                        continue
                    if idle is not None and idle():
                        return
                    continue
                self.process(chunk)
                if self.on_chunk is not None:
                    self.on_chunk()
        except Exception as exc:  # a bug or a permanent backend error: record it for whoever runs the slot
            log.exception("worker slot %s stopped", self.name)
            self.error = exc
            try:
                self._write_held()  # a result in hand is worth one more try (else its trial is run again)
            except Exception:  # noqa: BLE001 - the store is what failed: the trial stays running, to rerun
                log.warning("slot %s: the result of trial %d was not stored", self.name,
                            self._held[1].number if self._held else -1)
        finally:
            self.executor.close()

    def process(self, chunk: Chunk) -> None:
        info = retry(lambda: self.studies.get(chunk.study_id), self.stop, "reading the study")
        assert info is None or isinstance(info, _StudyInfo)
        if info is None or (chunk.study and info.name != chunk.study):
            self._foreign(chunk)
            return
        pending = self._open(chunk)
        deliveries = self._deliveries(chunk)
        if self.broker.max_deliveries is not None and deliveries > self.broker.max_deliveries and pending:
            self._give_up(chunk, info, pending, deliveries)
            return
        while not self._work(chunk, info, pending):
            log.warning("the store restarted before chunk %d's results were flushed; running its lost trials "
                        "again", chunk.chunk)
            pending = self._open(chunk)

    def _open(self, chunk: Chunk) -> list[TrialRow]:
        pending = retry(lambda: self.store.open_trials(chunk.study_id, chunk.lo, chunk.hi), self.stop,
                        "reading the chunk's trials")
        assert isinstance(pending, list)
        return pending

    def _work(self, chunk: Chunk, info: _StudyInfo, pending: list[TrialRow]) -> bool:
        """Run the open trials, then settle the chunk with the broker once their results are durable. False
        when the store lost some of them (it crashed before flushing them): they are open again, to be rerun."""
        self._delivery_lost = False
        held_elsewhere = False
        for trial in pending:
            if self.stop.requested:
                return self._give_back(chunk)
            if self._held_elsewhere(trial):
                held_elsewhere = True
                continue
            if not self._still_held(chunk):
                self._flush_or_release(chunk)
                return True
            if not self._run_trial(chunk, info, trial):
                return self._give_back(chunk)
            if self._delivery_lost:  # another worker has the chunk now: never run its trials twice
                self._flush_or_release(chunk)
                return True
        if not self._sync():
            return False
        (self.broker.defer if held_elsewhere else self.broker.ack)(chunk)
        return True

    def _still_held(self, chunk: Chunk) -> bool:
        """Whether this slot still holds the chunk's delivery (checked before each trial)."""
        try:
            return self.broker.heartbeat(chunk)
        except TransientError:
            return True  # unknown: the trial runs; a lost delivery is noticed while it does

    def _give_back(self, chunk: Chunk) -> bool:
        """Stopping, or a trial interrupted: the chunk goes back."""
        self._flush_or_release(chunk)
        self.broker.nack(chunk)
        return True

    def _flush_or_release(self, chunk: Chunk) -> None:
        """Before leaving a chunk to others: if the store lost results of ours, the trials they belonged to
        read ``running`` by this live worker, which others would wait for; set them pending again."""
        if self._sync():
            return
        for trial in self._open(chunk):
            if trial.status == "running" and trial.worker == self.name:
                retry(lambda n=trial.number: self.store.reset_trial(chunk.study_id, n), self.stop,  # type: ignore[misc]
                      "requeuing a trial")
        self._sync()

    def _sync(self) -> bool:
        """Write the result in hand, and make this slot's results durable; False when the store may have lost
        some (nothing is acked then)."""
        self._write_held()
        return bool(retry(lambda: self.store.sync(self.name), self.stop, "flushing results"))

    def _write_held(self) -> None:
        """Write the result held for the next start, alone (the slot is leaving the chunk)."""
        if self._held is not None:
            study_id, result, _trial, _outcome, _name = self._held
            retry(lambda: self.store.finish_trial(study_id, result, self.name), self.stop, "storing a result",
                  max_wait=5.0)
            self._wrote_held()

    def _wrote_held(self) -> None:
        held, self._held = self._held, None
        if held is not None and self.on_trial is not None:
            _sid, _result, trial, outcome, name = held
            self.on_trial(name, trial, outcome)

    def _start(self, study_id: int, number: int) -> int | None:
        """Count an attempt of trial ``number`` (writing the held result in the same transaction)."""
        if self._held is None or self._held[0] != study_id:
            self._write_held()
            attempt = retry(lambda: self.store.start_trial(study_id, number, self.name), self.stop,
                            "starting a trial")
        else:
            result = self._held[1]
            both = retry(lambda: self.store.finish_and_start(study_id, result, number, self.name), self.stop,
                         "storing a result and starting a trial")
            assert isinstance(both, tuple)
            self._wrote_held()
            attempt = both[1]
        assert attempt is None or isinstance(attempt, int)
        return attempt

    def _foreign(self, chunk: Chunk) -> None:
        """A chunk of a study this store does not have: deleted (embedded), or a worker on the wrong store."""
        if not chunk.study:
            self.broker.ack(chunk)  # the embedded broker's chunks live in this store: the study was deleted
            return
        log.error("chunk %d of study '%s' (#%d): no such study in %s; is this worker on the coordinator's "
                  "--store? Giving the chunk back", chunk.chunk, chunk.study, chunk.study_id, self.store.url)
        self.broker.nack(chunk)
        self.stop.drain.wait(2.0)  # let a worker on the right store take it

    def _deliveries(self, chunk: Chunk) -> int:
        if self.broker.counts_deliveries or chunk.deliveries <= 1:
            return chunk.deliveries
        counted = retry(lambda: self.store.count_redelivery(chunk.study_id, chunk.chunk), self.stop,
                        "counting a redelivery")
        return chunk.deliveries if counted is None else 1 + int(counted)  # type: ignore[call-overload]

    def _held_elsewhere(self, trial: TrialRow) -> bool:
        """A trial running on another worker that is alive (its delivery was lost, it was not)."""
        if trial.status != "running" or not trial.worker or trial.worker == self.name:
            return False
        try:
            return self.broker.holder_alive(trial.worker)
        except TransientError:
            return True  # cannot tell: do not risk running it twice; the chunk comes back

    def _give_up(self, chunk: Chunk, info: _StudyInfo, pending: list[TrialRow], deliveries: int) -> None:
        reason = (f"its chunk was delivered {deliveries} times without finishing (max_deliveries "
                  f"{self.broker.max_deliveries}): each time its worker died or lost the broker; dead-lettered")
        for trial in pending:
            if not self._held_elsewhere(trial):
                self._finish(chunk.study_id, trial, Outcome("crash", message=reason), info)
        if self._sync():
            self.broker.dead_letter(chunk, f"study '{info.name}' trials {chunk.lo}..{chunk.hi - 1}: {reason}")
        else:  # the failures were not stored: the next delivery decides again
            self.broker.nack(chunk)

    def _run_trial(self, chunk: Chunk, info: _StudyInfo, trial: TrialRow) -> bool:
        """Run a trial to a final result; False when interrupted (the trial is left pending)."""
        sid = chunk.study_id
        lost = trial.attempts if trial.status == "running" else 0  # attempts that died with their worker
        while True:
            attempt = self._start(sid, trial.number)
            if attempt is None:
                return True  # final already (someone else finished it)
            if attempt > info.max_attempts:
                self._finish(sid, trial, Outcome(
                    "crash", message=f"its worker died {lost} time(s) while running it (killed, out of memory "
                    f"or node lost); gave up after {info.max_attempts} attempts"), info)
                return True
            outcome = self._execute(Task(info.digest, info.spec_json, trial.model, trial.params), info, chunk)
            if outcome.kind == "interrupted":
                retry(lambda: self.store.reset_trial(sid, trial.number), self.stop, "requeuing a trial")
                return False
            if outcome.kind == "crash" and attempt < info.max_attempts:
                log.warning("trial %s#%d: %s; retrying (attempt %d of %d)", info.name, trial.number,
                            outcome.message, attempt + 1, info.max_attempts)
                continue
            if outcome.kind == "crash":
                outcome = Outcome("crash", message=f"{outcome.message}; gave up after {attempt} attempts",
                                  duration_s=outcome.duration_s)
            self._finish(sid, trial, outcome, info, hold=True)
            return True

    def _execute(self, task: Task, info: _StudyInfo, chunk: Chunk) -> Outcome:
        """Run a trial in this slot's process; fold by fold, sharing the folds, where other slots may help."""
        folds = info.folds[task.model]
        if self.share is None or folds < 2:
            return self.executor.run(task, timeout=info.timeout, memory_limit_mb=info.memory_limit_mb,
                                     tick=lambda: self._tick(chunk))
        shared = SharedTrial(task, folds, info.timeout, info.memory_limit_mb)
        return run_folds(self.executor, self.share, shared, lambda: self._tick(chunk), self.stop.abort)

    def _tick(self, chunk: Chunk) -> bool:
        if self.stop.abort.is_set():
            return False
        try:
            if not self.broker.heartbeat(chunk) and not self._delivery_lost:
                self._delivery_lost = True
                log.warning("lost the delivery of chunk %d; finishing the trial in hand, then leaving the chunk "
                            "to the worker that has it now", chunk.chunk)
        except TransientError as exc:
            log.warning("could not renew the delivery (%s); the trial goes on", exc)
        return True

    def _finish(self, study_id: int, trial: TrialRow, outcome: Outcome, info: _StudyInfo, *,
                hold: bool = False) -> None:
        """Write a trial's final result; ``hold`` keeps it for the next start's transaction (or ``_sync``)."""
        value = outcome.value
        status, error = "done", None
        if outcome.kind != "done":
            status, error = "failed", outcome.message
        elif value is None or not math.isfinite(value):
            status, error = "failed", f"the objective returned {value}"
        result = TrialResult(trial.number, status, value if status == "done" else None, outcome.duration_s,
                             error, outcome.extra)
        self._write_held()
        self._held = (study_id, result, trial, Outcome(outcome.kind if status == "done" else "failed", value,
                                                       outcome.extra, error, outcome.duration_s), info.name)
        if not hold:
            self._write_held()
