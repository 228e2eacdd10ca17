"""Folds of cross-validated trials shared between the slots of one worker process.

A trial of an estimator is ``folds`` fits. Run as one task, the last trial of a study keeps one slot busy
for all of them while the others idle (GridSearchCV, whose unit is one fold, does not have that tail). So a
slot runs its trial fold by fold (``run_folds``), and offers the folds it has not started to the other slots
of its process: a slot whose broker has no chunk for it takes one (``help_once``) and runs it in its own
trial process. The slot that owns the trial combines the scores and writes the one result; helpers write
nothing. A fold that fails or crashes fails the trial as a whole would (one attempt, retried by the owner);
its other folds are then not started, and those running finish unheeded.

The cost is one message to the trial process per fold instead of per trial (``bench/tune_xgb_grid.py
--model ridge`` measures it on millisecond fits).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from kubelab.tune._executor import Executor, Outcome, Task

__all__ = ["FoldShare", "SharedTrial", "cv_summary", "help_once", "run_folds"]


def cv_summary(scores: list[float], fit_s: float) -> tuple[float, dict[str, Any]]:
    """A cross-validated trial's value (the mean of its fold scores) and the extras stored with it."""
    mean = sum(scores) / len(scores)
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    return mean, {"fold_scores": scores, "std": std, "fit_s": round(fit_s, 4)}


class SharedTrial:
    """One trial's folds: which are taken, and the outcomes returned (thread-safe)."""

    def __init__(self, task: Task, folds: int, timeout: float | None, memory_limit_mb: int | None) -> None:
        self.task, self.folds = task, folds
        self.timeout, self.memory_limit_mb = timeout, memory_limit_mb
        self.started = time.monotonic()
        self._cond = threading.Condition()
        self._next = 0
        self._scores: dict[int, Outcome] = {}
        self.failure: Outcome | None = None  # the first fold that did not finish: the trial's outcome

    def take(self) -> int | None:
        """The next fold nobody has started, or None."""
        with self._cond:
            if not self.untaken:
                return None
            self._next += 1
            return self._next - 1

    def put(self, fold: int, outcome: Outcome) -> None:
        with self._cond:
            if outcome.kind == "done":
                self._scores[fold] = outcome
            elif self.failure is None:
                self.failure = outcome
            self._cond.notify_all()

    @property
    def untaken(self) -> bool:
        """Whether a fold is left that nobody has started."""
        return self.failure is None and self._next < self.folds

    @property
    def settled(self) -> bool:
        """Failed, or every fold's score is in."""
        return self.failure is not None or len(self._scores) == self.folds

    def wait(self, seconds: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.settled, seconds)

    def outcome(self) -> Outcome:
        """The trial's outcome once settled: the first failure, or the mean of the fold scores."""
        if self.failure is not None:
            return self.failure
        folds = [self._scores[i] for i in range(self.folds)]
        value, extra = cv_summary([float(o.value or 0.0) for o in folds], sum(o.duration_s for o in folds))
        return Outcome("done", value, extra, duration_s=time.monotonic() - self.started)


class FoldShare:
    """The trials whose folds a slot of this process may take."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trials: list[SharedTrial] = []

    def offer(self, trial: SharedTrial) -> None:
        with self._lock:
            self._trials.append(trial)

    def withdraw(self, trial: SharedTrial) -> None:
        with self._lock:
            self._trials.remove(trial)

    def take(self) -> tuple[SharedTrial, int] | None:
        with self._lock:
            for trial in self._trials:
                fold = trial.take()
                if fold is not None:
                    return trial, fold
        return None

    def has_work(self) -> bool:
        """Whether some trial has a fold nobody has started."""
        with self._lock:
            return any(t.untaken for t in self._trials)


def _run_fold(executor: Executor, trial: SharedTrial, fold: int, tick: Callable[[], bool]) -> None:
    outcome = Outcome("crash", message="the slot running this fold stopped on an error")
    try:
        outcome = executor.run(replace(trial.task, fold=fold), timeout=trial.timeout,
                               memory_limit_mb=trial.memory_limit_mb, tick=tick, since=trial.started)
    finally:
        trial.put(fold, outcome)


def run_folds(executor: Executor, share: FoldShare, trial: SharedTrial, tick: Callable[[], bool],
              abort: threading.Event) -> Outcome:
    """Run ``trial`` fold by fold in ``executor`` while other slots may take folds from ``share``; return its
    outcome once every fold is in (``tick`` is called about once a second meanwhile; False interrupts)."""
    share.offer(trial)
    try:
        while (fold := trial.take()) is not None:
            _run_fold(executor, trial, fold, tick)
    finally:
        share.withdraw(trial)
    last = time.monotonic()
    while not trial.wait(0.1):  # folds still running in other slots
        now = time.monotonic()
        ticked = now - last >= 1.0
        if ticked:
            last = now
        if abort.is_set() or (ticked and not tick()):
            trial.put(-1, Outcome("interrupted", message="interrupted", duration_s=now - trial.started))
    return trial.outcome()


def help_once(executor: Executor, share: FoldShare, abort: threading.Event) -> bool:
    """Run one fold another slot offers, in ``executor``; False when there is none."""
    taken = share.take()
    if taken is None:
        return False
    trial, fold = taken
    _run_fold(executor, trial, fold, lambda: not abort.is_set())
    return True
