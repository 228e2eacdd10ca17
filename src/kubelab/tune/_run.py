"""The coordinator: create or resume a study, enqueue its trials, run local worker slots (or leave the work
to remote workers), follow progress, and drive TPE's ask/tell loop.

It keeps no state of its own: kill it at any time and run it again; it resumes from the store.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from kubelab.broker import Broker, EmbeddedBroker, expire_dead_local_owners, owner_id
from kubelab.errors import TransientError
from kubelab.store import Chunk, Store, Study, TrialRow
from kubelab.tune._executor import Executor, default_workers, threads_per_trial
from kubelab.tune._folds import FoldShare
from kubelab.tune._space import Sampler
from kubelab.tune._spec import StudySpec
from kubelab.tune._study import create_or_resume, enqueue_all, planned_total
from kubelab.tune._worker import Slot, Stop, StudyCache, retry

__all__ = ["Progress", "RunResult", "default_workers", "run_study"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    """A snapshot for progress displays."""

    study: str
    total: int
    counts: dict[str, int]
    best: float | None
    elapsed_s: float

    @property
    def finished(self) -> int:
        return self.counts["done"] + self.counts["failed"]


@dataclass
class RunResult:
    study: Study
    counts: dict[str, int]
    top: list[TrialRow] = field(default_factory=list)
    interrupted: bool = False
    elapsed_s: float = 0.0

    @property
    def best(self) -> TrialRow | None:
        return self.top[0] if self.top else None


def _default_memory_mb(workers: int) -> int:
    try:  # the physical memory without importing psutil (start-up is on the path of every run)
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        import psutil

        total = psutil.virtual_memory().total
    return int(total * 0.8 / max(1, workers) / 2**20)


class _TPEDriver:
    """Keeps up to ``in_flight`` TPE trials queued; tells finished ones to the sampler, asks new ones."""

    def __init__(self, store: Store, study: Study, spec: StudySpec, broker: Broker, in_flight: int) -> None:
        self.store, self.study, self.spec, self.broker = store, study, spec, broker
        self.in_flight = max(1, in_flight)
        self.sampler = Sampler(spec)
        self.open: set[int] = set()
        self.waiting: list[tuple[tuple[int, int, str, str], Chunk]] = []  # asked, not yet stored and published
        self.next_number = store.max_number(study.id) + 1
        for trial in store.trials(study.id):  # resume: teach the history, track what is still open
            if trial.status == "done":
                self.sampler.add_finished(trial.model, trial.params, trial.value)
            elif trial.status != "failed":
                self.open.add(trial.number)

    def step(self) -> None:
        if self.open:
            for trial in self.store.trials(self.study.id, numbers=sorted(self.open)):
                if trial.status in ("done", "failed"):
                    self.open.discard(trial.number)
                    self.sampler.tell(trial.number, trial.value if trial.status == "done" else None)
        total = int(self.spec.search.trials or 0)
        while len(self.open) + len(self.waiting) < self.in_flight and self.next_number < total:
            number = self.next_number
            model, params = self.sampler.ask(number)
            self.waiting.append(((number, model, self.spec.models[model].label, json.dumps(params, sort_keys=True)),
                                 Chunk(self.study.id, number, number, number + 1, study=self.study.name)))
            self.next_number += 1
        if self.waiting:  # kept until stored and published: a server restarting loses no asked trial
            self.store.add_trials(self.study.id, [row for row, _ in self.waiting])
            self.broker.publish([chunk for _, chunk in self.waiting])
            self.open.update(chunk.lo for _, chunk in self.waiting)
            self.waiting = []


def _publish(store: Store, broker: Broker, study: Study, chunks: list[Chunk], stop: Stop) -> None:
    """Hand chunks to the broker; a remote broker's chunks are marked ``queued`` in the store batch by batch,
    each once ``publish`` returned (RabbitMQ confirmed all of it), so a coordinator killed and rerun publishes
    only what RabbitMQ never confirmed."""
    embedded = isinstance(broker, EmbeddedBroker)
    step = len(chunks) if embedded else 256
    for start in range(0, len(chunks), step):
        batch = [replace(c, study=study.name) for c in chunks[start:start + step]]
        retry(lambda b=batch: broker.publish(b), stop, "publishing chunks")  # type: ignore[misc]
        if not embedded:
            store.set_chunk_state(batch[0].study_id, [c.chunk for c in batch], "queued")


def run_study(spec: StudySpec, store: Store, *, workers: int | None = None, broker: Broker | None = None,
              chunk_size: int | None = None, wait: bool = True, poll_s: float = 0.25,
              on_progress: Callable[[Progress], None] | None = None, top: int = 10,
              stop: Stop | None = None, executors: list[Executor] | None = None) -> RunResult:
    """Run a study to completion (or until stopped). ``workers=0`` with a ``broker`` only enqueues and
    follows progress while remote workers do the work; ``wait=False`` returns right after enqueuing.
    ``executors``: trial processes started ahead (``start_executors``), one per worker; the slots adopt them.

    Called from the main thread, Ctrl-C (SIGINT) stops the run cleanly: the trials in hand are killed and
    given back (pending, their attempt not counted), and the result says ``interrupted``."""
    started = time.monotonic()
    n_workers = default_workers() if workers is None else workers
    study, _created = create_or_resume(store, spec)
    stop = stop or Stop()
    coord_broker = broker or EmbeddedBroker(store, owner_id("coordinator"), study_id=study.id, cancel=stop.drain)
    woke = threading.Event()
    slots: list[Slot] = []
    threads: list[threading.Thread] = []
    if wait and n_workers > 0:  # start the workers first: their processes boot while the trials are enqueued
        slots, threads = _start_slots(spec, store, coord_broker, n_workers, stop, woke, executors or [])
    total = planned_total(spec)
    try:
        with _interrupts(stop, woke) as interrupted:
            driver = None
            if spec.search.method == "tpe":  # TPE asks as results come in; the others are enqueued whole
                driver = _TPEDriver(store, study, spec, coord_broker, in_flight=max(2 * n_workers, 2))
                driver.step()
            else:
                new = enqueue_all(store, study, spec, chunk_size)
                if new:
                    _publish(store, coord_broker, study, new, stop)
            expire_dead_local_owners(store)
            if not wait:
                return RunResult(study, store.counts(study.id), elapsed_s=time.monotonic() - started)
            _follow(spec, store, study, total, slots, threads, stop, woke, poll_s, on_progress, started, driver,
                    chunks_tracked=isinstance(coord_broker, EmbeddedBroker))
    finally:
        stop.drain.set()
        if isinstance(coord_broker, EmbeddedBroker):
            coord_broker.wake()  # slots waiting for a chunk see the stop now
        for t in threads:
            t.join(timeout=30)
        for slot in slots:
            slot.broker.close()
    counts = store.counts(study.id)
    errors = [slot.error for slot in slots if slot.error is not None]
    if errors and counts["done"] + counts["failed"] < total and not interrupted:
        from kubelab.errors import KubelabError

        raise KubelabError(f"every worker stopped before the study finished: {errors[0]}; "
                           "run the same command again to resume")
    return RunResult(study, counts, store.trials(study.id, top=top), bool(interrupted),
                     time.monotonic() - started)


def _start_slots(spec: StudySpec, store: Store, broker: Broker, n_workers: int, stop: Stop,
                 woke: threading.Event, executors: list[Executor]) -> tuple[list[Slot], list[threading.Thread]]:
    """Start ``n_workers`` slot threads, each with its own delivery channel (``broker.for_slot``), adopting
    the ``executors`` started ahead where there are any."""
    memory = spec.memory_limit_mb or _default_memory_mb(n_workers)
    cache = StudyCache(store)
    share = FoldShare() if n_workers > 1 else None
    slots, threads = [], []
    for i in range(n_workers):
        slot = Slot(store, broker.for_slot(owner_id(i)), cache, name=owner_id(i),
                    threads=threads_per_trial(n_workers), memory_limit_mb=memory, stop=stop, on_chunk=woke.set,
                    executor=executors[i] if i < len(executors) else None, share=share)
        t = threading.Thread(target=slot.run, name=f"kubelab-slot-{i}", daemon=True)
        t.start()
        slots.append(slot)
        threads.append(t)
    return slots, threads


def _follow(spec: StudySpec, store: Store, study: Study, total: int, slots: list[Slot],
            threads: list[threading.Thread], stop: Stop, woke: threading.Event, poll_s: float,
            on_progress: Callable[[Progress], None] | None, started: float, driver: _TPEDriver | None, *,
            chunks_tracked: bool = False) -> None:
    """Report progress and drive TPE until every trial is final, every slot died, or a stop was asked.

    Trials are counted every ``poll_s``, and whenever a slot finishes a chunk (``woke``) if it may have been
    the last one: where the store tracks chunk states (the embedded broker), a finished chunk while others
    are still open costs one indexed look-up instead of a count of every trial (hundreds of chunks a second
    on short trials). TPE counts on every chunk: it asks for new trials as results come in."""
    counted = -poll_s
    while not stop.requested:
        try:
            now = time.monotonic()
            if (driver is None and chunks_tracked and now - counted < poll_s
                    and store.unfinished_chunks(study.id) > 0):
                woke.wait(counted + poll_s - now)
                woke.clear()
                continue
            counted = now
            counts = store.counts(study.id)
            if on_progress is not None:
                best = store.trials(study.id, top=1)
                on_progress(Progress(spec.name, total, counts, best[0].value if best else None,
                                     time.monotonic() - started))
            if counts["done"] + counts["failed"] >= total:
                return
            if driver is not None:
                driver.step()
        except TransientError as exc:  # the store or broker is restarting: keep following
            log.warning("%s; retrying", exc)
            stop.drain.wait(1.0)
        if slots and not any(t.is_alive() for t in threads):
            return  # every slot died: stop following rather than wait forever
        woke.wait(poll_s)  # a finished chunk (or Ctrl-C) wakes us at once
        woke.clear()


class _Interrupted:
    """Truthy once Ctrl-C was pressed during the run."""

    def __init__(self) -> None:
        self.value = False

    def __bool__(self) -> bool:
        return self.value


@contextmanager
def _interrupts(stop: Stop, woke: threading.Event) -> Iterator[_Interrupted]:
    """Turn Ctrl-C into a clean stop. In the main thread a SIGINT handler sets the stop flags, so no
    KeyboardInterrupt can land in the middle of a store transaction; a second Ctrl-C raises at once.
    Elsewhere (a notebook's worker thread) a KeyboardInterrupt is caught instead."""
    flag = _Interrupted()

    def on_sigint(_signum: int, _frame: object) -> None:
        signal.signal(signal.SIGINT, previous)
        flag.value = True
        stop.abort.set()
        woke.set()

    previous: Any = None
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, on_sigint)
    try:
        yield flag
    except KeyboardInterrupt:
        flag.value = True
        stop.abort.set()
    finally:
        if in_main and signal.getsignal(signal.SIGINT) is on_sigint:
            signal.signal(signal.SIGINT, previous)
