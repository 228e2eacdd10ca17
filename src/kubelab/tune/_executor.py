"""Supervised trial execution: trials run in a long-lived child process, so a segfault, ``abort()``, memory
blow-up or hang in a native library costs one attempt, not the worker.

The parent (``Executor``) sends tasks over a pipe and watches the child: exit (and its signal), resident
memory against the limit, and the trial timeout. The child ignores SIGINT (the parent decides what Ctrl-C
means) and limits its thread pools to its share of the CPU.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Executor", "Outcome", "Task"]

_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS", "KUBELAB_THREADS")


@dataclass(frozen=True)
class Task:
    digest: str  # which study spec
    spec_json: str
    model: int
    params: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    kind: str  # done | error | crash | interrupted
    value: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    duration_s: float = 0.0


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this child when its parent dies (kill -9 of a worker leaves no orphan)."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)


def _child(conn: Any, threads: int) -> None:  # pragma: no cover - runs in the child process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    for name in _THREAD_ENV:
        os.environ[name] = str(threads)
    studies: dict[str, tuple[Any, Any]] = {}
    limiter = None
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        task: Task = msg
        start = time.perf_counter()
        try:
            if limiter is None:
                from threadpoolctl import threadpool_limits

                limiter = threadpool_limits(threads)
            if task.digest not in studies:
                from kubelab.datasets import Dataset
                from kubelab.tune._spec import parse_stored

                spec = parse_stored(task.spec_json)
                studies[task.digest] = (spec, Dataset(spec.dataset))
            spec, dataset = studies[task.digest]
            from kubelab.tune._objective import evaluate

            value, extra = evaluate(spec, dataset, task.model, task.params, threads)
            reply: tuple[Any, ...] = ("done", value, extra, time.perf_counter() - start)
        except BaseException as exc:  # noqa: BLE001 - every failure of user code is a result
            text = f"{type(exc).__name__}: {exc}".strip()
            tb = "".join(traceback.format_exception(exc)[-6:])
            reply = ("error", text, {"traceback": tb}, time.perf_counter() - start)
        try:
            conn.send(reply)
        except Exception:  # noqa: BLE001 - e.g. an unpicklable extra: send the value alone
            conn.send((reply[0], reply[1], {}, reply[3]))


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


class Executor:
    """One child process running trials one at a time; restarted after it dies."""

    def __init__(self, threads: int = 1, memory_limit_mb: int | None = None) -> None:
        self.threads = max(1, threads)
        self.memory_limit_mb = memory_limit_mb
        self._proc: Any = None
        self._conn: Any = None

    def _start(self) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        # The child must import the kubelab the parent runs, even from a source tree.
        self._proc = ctx.Process(target=_child, args=(child, self.threads), daemon=True, name="kubelab-trial")
        self._proc.start()
        child.close()
        self._conn = parent

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else int(self._proc.pid)

    def run(self, task: Task, *, timeout: float | None = None, memory_limit_mb: int | None = None,
            tick: Callable[[], bool] | None = None, tick_every: float = 1.0) -> Outcome:
        """Run one task. ``tick`` is called about every ``tick_every`` s while it runs; False interrupts it."""
        if self._proc is None or not self._proc.is_alive():
            self._start()
        start = time.monotonic()
        try:
            self._conn.send(task)
        except (BrokenPipeError, OSError):
            return self._crashed(start)
        limit = memory_limit_mb or self.memory_limit_mb
        last_tick = start
        while True:
            try:
                ready = self._conn.poll(0.1 if tick or limit or timeout else 1.0)
            except (EOFError, OSError):
                return self._crashed(start)
            if ready:
                try:
                    kind, value, extra, duration = self._conn.recv()
                except (EOFError, OSError):
                    return self._crashed(start)
                if kind == "done":
                    return Outcome("done", float(value), extra, duration_s=duration)
                return Outcome("error", None, extra, message=value, duration_s=duration)
            now = time.monotonic()
            if not self._proc.is_alive():
                return self._crashed(start)
            if timeout is not None and now - start > timeout:
                self.kill()
                return Outcome("crash", message=f"timed out after {timeout:g} s", duration_s=now - start)
            if limit is not None and self._rss_mb() > limit:
                self.kill()
                return Outcome("crash", message=f"exceeded the memory limit of {limit} MiB",
                               duration_s=now - start)
            if tick is not None and now - last_tick >= tick_every:
                last_tick = now
                if not tick():
                    self.kill()
                    return Outcome("interrupted", message="interrupted", duration_s=now - start)

    def _rss_mb(self) -> float:
        import psutil

        try:
            proc = psutil.Process(self._proc.pid)
            return float(sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])) / 2**20
        except psutil.Error:
            return 0.0

    def _crashed(self, start: float) -> Outcome:
        self._proc.join(timeout=5)
        code = self._proc.exitcode
        self._proc = None
        if code is None:
            reason = "its process stopped answering"
        elif code < 0:
            reason = f"its process died of {_signal_name(code)}"
            if code == -signal.SIGKILL:
                reason += " (killed, or out of memory)"
        else:
            reason = f"its process exited with code {code}"
        return Outcome("crash", message=reason, duration_s=time.monotonic() - start)

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(timeout=5)
            self._proc = None

    def close(self) -> None:
        """Stop the child (politely, then firmly)."""
        if self._proc is None:
            return
        try:
            self._conn.send(None)
            self._proc.join(timeout=2)
        except (BrokenPipeError, OSError):
            pass
        if self._proc.is_alive():
            self.kill()
        self._proc = None


if __name__ == "__main__":  # pragma: no cover
    sys.exit("kubelab._executor is not a program")
