"""The supervised executor on its own: a real child process, no store."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import kubelab.tune
from kubelab.tune._executor import Executor, Task


def _spec_json(workdir: Path, function: str = "trial_fns:noop") -> tuple[str, str]:
    spec = kubelab.tune.load_spec({"study": "ex", "dataset": {"builtin": "diabetes"}, "search": {"method": "grid"},
                                   "models": [{"function": function, "space": {"x": [1, 2]}}]},
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


def test_memory_of_processes_a_trial_starts_counts_and_they_die_with_it(workdir: Path) -> None:
    digest, spec = _spec_json(workdir, "trial_fns:hog_in_child")
    pid_file = workdir / "grandchild.pid"
    ex = Executor(memory_limit_mb=300)
    try:  # the trial's own process stays small; the process it starts takes 400 MiB
        outcome = ex.run(Task(digest, spec, 0, {"mb": 400, "pid": str(pid_file)}), timeout=60)
    finally:
        ex.close()
    assert outcome.kind == "crash" and outcome.message == "exceeded the memory limit of 300 MiB"
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{grandchild}") and time.monotonic() < deadline:
        time.sleep(0.05)  # killed with the trial's process group (reaped by init)
    state = Path(f"/proc/{grandchild}/stat").read_text().split()[2] if os.path.exists(f"/proc/{grandchild}") else "gone"
    assert state in ("gone", "Z")
