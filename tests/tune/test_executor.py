"""The supervised executor on its own: a real child process, no store."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import kubelab.tune
from kubelab.tune._executor import Executor, Task


def _spec_json(workdir: Path) -> tuple[str, str]:
    spec = kubelab.tune.load_spec({"study": "ex", "dataset": {"builtin": "diabetes"}, "search": {"method": "grid"},
                                   "models": [{"function": "trial_fns:noop", "space": {"x": [1, 2]}}]},
                                  base_dir=workdir)
    return spec.digest, spec.to_json()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_study_spec_travels_once_per_child(workdir: Path) -> None:
    digest, spec = _spec_json(workdir)
    ex = Executor()
    try:
        first = ex.run(Task(digest, spec, 0, {"x": 3}), timeout=60)
        assert (first.kind, first.value) == ("done", 3.0)
        # the child parsed the spec the first time; a later task of that study does not send it again
        again = ex.run(Task(digest, "{not json", 0, {"x": 4}), timeout=60)
        assert (again.kind, again.value) == ("done", 4.0)
        # a new child has not seen the study: the spec is sent (and parsed) again
        ex.kill()
        broken = ex.run(Task(digest, "{not json", 0, {"x": 5}), timeout=60)
        assert broken.kind == "error" and broken.message is not None and "JSONDecodeError" in broken.message
    finally:
        ex.close()


def test_a_child_dead_between_tasks_is_replaced_without_a_crash_or_a_leak(workdir: Path) -> None:
    digest, spec = _spec_json(workdir)
    ex = Executor()
    try:
        assert ex.run(Task(digest, spec, 0, {"x": 1}), timeout=60).kind == "done"
        fds, pid = _open_fds(), ex.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        outcome = ex.run(Task(digest, spec, 0, {"x": 2}), timeout=60)
        assert (outcome.kind, outcome.value) == ("done", 2.0)  # not a crash of this task: it never had it
        assert ex.pid not in (None, pid) and _open_fds() == fds  # the dead child's pipes were closed
    finally:
        ex.close()
