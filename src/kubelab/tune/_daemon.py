"""``kubelab tune worker``: a long-running worker for any number of studies, fed by a remote broker.

It survives what a preemptible node or a flaky network does to it: store or broker outages are retried with
backoff (a slot that stops on an unexpected error is restarted), and SIGTERM (what Kubernetes sends before
it preempts a node) drains it: each slot finishes the trial in hand within the grace period, gives the rest
of its chunk back, and the process exits 0. After the grace period, trials still running are interrupted and
given back (their attempt is not counted).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubelab.broker import Broker, get_broker, owner_id
from kubelab.errors import TransientError
from kubelab.store import Store, TrialRow, get_store
from kubelab.tune._executor import Outcome
from kubelab.tune._folds import FoldShare
from kubelab.tune._worker import Slot, Stop, StudyCache

__all__ = ["WorkerConfig", "run_worker"]

log = logging.getLogger("kubelab.tune.worker")


@dataclass(frozen=True)
class WorkerConfig:
    """What ``kubelab tune worker`` takes.

    Attributes:
        store: store URL (``postgresql://…`` for workers on several machines).
        broker: broker URL (``amqp://…``, options in ``kubelab.broker._amqpurl``).
        concurrency: trials run at once (slots), each in its own supervised process.
        grace_s: seconds after SIGTERM to finish the trials in hand before they are interrupted.
        memory_limit_mb: a trial's resident memory limit unless its spec sets one (default: 80 % of RAM ÷ slots).
    """

    store: str
    broker: str
    concurrency: int = 1
    grace_s: float = 25.0
    memory_limit_mb: int | None = None


def _until_up(what: str, call: Callable[[], Any], stop: Stop) -> Any:
    """Call until it does not raise TransientError (a server still starting), logging each wait."""
    delay = 0.5
    while True:
        try:
            return call()
        except TransientError as exc:
            if stop.requested:
                raise
            log.warning("%s: %s; retrying in %.0f s", what, exc, delay)
            stop.drain.wait(delay)
            delay = min(delay * 2, 10.0)


def _log_trial(study: str, trial: TrialRow, outcome: Outcome) -> None:
    if outcome.kind == "done":
        log.info("%s #%d done value=%.6g in %.2f s", study, trial.number, outcome.value or 0.0, outcome.duration_s)
    else:
        log.info("%s #%d failed in %.2f s: %s", study, trial.number, outcome.duration_s, outcome.message)


class _SlotRunner:
    """One slot thread, restarted (with a fresh broker connection) if it stops on an unexpected error."""

    def __init__(self, store: Store, proto: Broker, cache: StudyCache, index: int, threads: int,
                 memory_mb: int, stop: Stop, share: FoldShare | None) -> None:
        self.store, self.proto, self.cache, self.stop, self.share = store, proto, cache, stop, share
        self.name = owner_id(index)
        self.threads, self.memory_mb = threads, memory_mb
        self.thread = threading.Thread(target=self._loop, name=f"kubelab-worker-{index}", daemon=True)

    def _loop(self) -> None:
        backoff = 1.0
        while not self.stop.requested:
            broker = self.proto.for_slot(self.name)
            slot = Slot(self.store, broker, self.cache, name=self.name, threads=self.threads,
                        memory_limit_mb=self.memory_mb, stop=self.stop, on_trial=_log_trial, share=self.share)
            try:
                slot.run()
            finally:
                broker.close()
            if slot.error is None:
                return
            log.error("slot %s stopped on %s: %s; restarting it in %.0f s", self.name,
                      type(slot.error).__name__, slot.error, backoff)
            self.stop.drain.wait(backoff)
            backoff = min(backoff * 2, 30.0)


def run_worker(config: WorkerConfig, stop: Stop | None = None, *, handle_signals: bool = True) -> None:
    """Serve chunks from ``config.broker`` until SIGTERM/SIGINT (or ``stop``), then drain and return.

    Raises:
        KubelabError: a URL that is wrong or refused (bad credentials); servers that are merely down are
            waited for.
    """
    from kubelab.tune._run import _default_memory_mb, default_workers

    stop = stop or Stop()
    proto = get_broker(config.broker)  # checks the URL before anything waits
    if handle_signals:
        _install_signals(stop, config.grace_s)
    store = _until_up("store", lambda: get_store(config.store), stop)
    try:
        _until_up("broker", proto.connect, stop)  # declares the queues; bad credentials raise here
    finally:
        proto.close()
    cores = default_workers()
    share = FoldShare() if config.concurrency > 1 else None
    runners = [_SlotRunner(store, proto, StudyCache(store), i, max(1, cores // config.concurrency),
                           config.memory_limit_mb or _default_memory_mb(config.concurrency), stop, share)
               for i in range(config.concurrency)]
    for r in runners:
        r.thread.start()
    log.info("worker %s: %d slot(s) on %s, results to %s", owner_id("*"), config.concurrency,
             getattr(proto, "where", proto.url), store.url.split("@")[-1])
    while any(r.thread.is_alive() for r in runners):
        for r in runners:
            r.thread.join(timeout=0.5)
    store.close()
    log.info("worker stopped")


def _install_signals(stop: Stop, grace_s: float) -> None:
    def on_signal(signum: int, _frame: Any) -> None:
        if stop.drain.is_set():  # a second signal: stop now
            stop.abort.set()
            return
        log.info("%s: finishing the trials in hand (at most %.0f s), then exiting",
                 signal.Signals(signum).name, grace_s)
        stop.drain.set()
        timer = threading.Timer(grace_s, stop.abort.set)
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

