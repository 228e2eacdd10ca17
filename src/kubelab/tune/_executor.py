"""Supervised trial execution: trials run in a long-lived child process, so a segfault, ``abort()``, memory
blow-up or hang in a native library costs one attempt, not the worker.

The parent (``Executor``) sends tasks over a pipe and watches the child: exit (and its signal), resident
memory against the limit, and the trial timeout. The child ignores SIGINT (the parent decides what Ctrl-C
means) and limits its thread pools to its share of the CPU.

Protocol (one trial per message, so a crash costs exactly the trial in hand): the child says
``("ready", pid, {}, 0.0)`` once booted; each task is ``(digest, spec_json | None, model, params, fold)``, where
the spec's JSON travels only the first time this child sees that study (it keeps the parsed spec by digest)
and ``fold`` is None for a whole trial or the index of one cross-validation fold (``_folds.py``); each reply is
``(kind, value | message, extra, duration_s)``.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Executor", "Outcome", "Task", "default_workers", "start_executors", "threads_per_trial"]

_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS", "KUBELAB_THREADS")


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Task:
    digest: str  # which study spec
    spec_json: str
    model: int
    params: dict[str, Any]
    fold: int | None = None  # one fold of an estimator's cross-validation; None: the whole trial


@dataclass(frozen=True)
class Outcome:
    kind: str  # done | error | crash | interrupted
    value: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    duration_s: float = 0.0


_HEADER = struct.Struct("!Q")  # a message: its length, then a pickle


class _Channel:
    """Length-prefixed pickles over two one-way pipes (what ``multiprocessing.connection`` does, without
    importing it and its dependencies: the child boots faster, and a message costs one write and two reads)."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd, self.write_fd = read_fd, write_fd

    def send(self, obj: Any) -> None:
        payload = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)  # before anything is written: may raise
        view = memoryview(_HEADER.pack(len(payload)) + payload)
        while view:
            view = view[os.write(self.write_fd, view):]

    def recv(self) -> Any:
        (size,) = _HEADER.unpack(self._read(_HEADER.size))
        return pickle.loads(self._read(size))

    def _read(self, size: int) -> bytes:
        data = os.read(self.read_fd, size)
        while len(data) < size:
            more = os.read(self.read_fd, size - len(data))
            if not more:
                raise EOFError("the other end closed the pipe")
            data += more
        return data

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass


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


def _child(conn: _Channel, threads: int) -> None:  # pragma: no cover - runs in the child process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    for name in _THREAD_ENV:
        os.environ[name] = str(threads)
    # import what every trial needs while the parent is still enqueuing: off the first trial's critical path
    from threadpoolctl import threadpool_limits

    from kubelab.datasets import Dataset
    from kubelab.tune._objective import evaluate
    from kubelab.tune._spec import parse_stored

    conn.send(("ready", os.getpid(), {}, 0.0))
    studies: dict[str, tuple[Any, Any]] = {}
    limiter = None
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        digest, spec_json, model, params, fold = msg
        start = time.perf_counter()
        try:
            if limiter is None:
                limiter = threadpool_limits(threads)
            if digest not in studies:
                if spec_json is None:  # the parent's record of what this child knows is wrong: a bug
                    raise RuntimeError(f"the executor sent study {digest} without its spec")
                spec = parse_stored(spec_json)
                studies[digest] = (spec, Dataset(spec.dataset))
            spec, dataset = studies[digest]
            value, extra = evaluate(spec, dataset, model, params, threads, fold)
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


_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20 if hasattr(os, "sysconf") else 4096 / 2**20


def _own_rss_mb(pid: int) -> float:
    """A process's resident memory in MiB: /proc/PID/statm on Linux (its second field, in pages), else psutil."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE_MB
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            raise  # Linux: the process is gone
        import psutil

        return float(psutil.Process(pid).memory_info().rss) / 2**20


class Executor:
    """One child process running trials one at a time; restarted after it dies."""

    def __init__(self, threads: int = 1, memory_limit_mb: int | None = None) -> None:
        self.threads = max(1, threads)
        self.memory_limit_mb = memory_limit_mb
        self._proc: Any = None
        self._channel: _Channel | None = None
        self._poller: Any = None
        self._booted = False
        self._known: set[str] = set()  # studies (digests) whose spec the current child has
        self._tree_at, self._tree_mb = -1e9, 0.0  # when the descendants' memory was last read, and what it was

    def _start(self) -> None:
        """Start the child as ``python -c`` (never re-importing the caller's main module, unlike spawn), with
        two private pipes: user code printing to stdout cannot disturb the protocol."""
        import json
        import subprocess

        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = {**os.environ, "KUBELAB_THREADS": str(self.threads),
               "KUBELAB_EXECUTOR_FDS": f"{to_child_r},{from_child_w}", "KUBELAB_EXECUTOR_PATH": json.dumps(sys.path)}
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from kubelab.tune._executor import main; main()"],
            pass_fds=(to_child_r, from_child_w), env=env, stdin=subprocess.DEVNULL,
            process_group=0)  # a terminal's Ctrl-C goes to the parent alone, which decides what it means
        self._booted = False
        os.close(to_child_r)
        os.close(from_child_w)
        self._channel = _Channel(from_child_r, to_child_w)
        self._poller = select.poll()  # one for the child's life: cheaper than a selector per wait
        self._poller.register(from_child_r, select.POLLIN)

    def start(self) -> None:
        """Start the child ahead of the first task (it is started on demand otherwise)."""
        if self._proc is not None and self._proc.poll() is not None:
            self._reset()  # it died between tasks: close its pipes before starting another
        if self._proc is None:
            self._start()

    def _ch(self) -> _Channel:
        assert self._channel is not None, "the child is not started"
        return self._channel

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else int(self._proc.pid)

    def run(self, task: Task, *, timeout: float | None = None, memory_limit_mb: int | None = None,
            tick: Callable[[], bool] | None = None, tick_every: float = 1.0, since: float | None = None) -> Outcome:
        """Run one task. ``tick`` is called about every ``tick_every`` s while it runs; False interrupts it.
        ``timeout`` and the memory limit apply to the task itself, from the moment a booted child has it
        (a slow boot on a loaded machine is not the trial's fault), or from ``since`` (``time.monotonic()``)
        for one fold of a trial that started then. A finished task's duration is the child's own measure; that of a
        crash, timeout or interruption is counted from the same moment as the timeout."""
        self.start()
        if not self._booted:
            booted = self._receive(time.monotonic(), None, None, tick, tick_every)
            if isinstance(booted, Outcome):
                return booted
            self._booted = True
            since = None
        start = time.monotonic() if since is None else since
        known = task.digest in self._known
        try:
            self._ch().send((task.digest, None if known else task.spec_json, task.model, task.params, task.fold))
        except OSError:  # a broken pipe: the child is gone
            return self._crashed(start)
        self._known.add(task.digest)
        reply = self._receive(start, timeout, memory_limit_mb or self.memory_limit_mb, tick, tick_every)
        if isinstance(reply, Outcome):
            return reply
        kind, value, extra, duration = reply
        if kind == "done":
            return Outcome("done", float(value), extra, duration_s=duration)
        return Outcome("error", None, extra, message=value, duration_s=duration)

    def _receive(self, start: float, timeout: float | None, limit: int | None, tick: Callable[[], bool] | None,
                 tick_every: float) -> tuple[Any, ...] | Outcome:
        """The child's next message, or the Outcome of its death, timeout, memory blow-up or interruption."""
        last_tick = start
        wait_ms = 100 if tick or limit or timeout else 1000
        while True:
            try:
                if self._poller.poll(wait_ms):  # readable, or the child's end closed (EOF: recv raises)
                    message: tuple[Any, ...] = self._ch().recv()
                    return message
            except (EOFError, OSError):
                return self._crashed(start)
            now = time.monotonic()
            if self._proc.poll() is not None:
                return self._crashed(start)
            if timeout is not None and now - start > timeout:
                self.kill()
                return Outcome("crash", message=f"timed out after {timeout:g} s", duration_s=now - start)
            if limit is not None and self._rss_mb(now) > limit:
                self.kill()
                return Outcome("crash", message=f"exceeded the memory limit of {limit} MiB",
                               duration_s=now - start)
            if tick is not None and now - last_tick >= tick_every:
                last_tick = now
                if not tick():
                    self.kill()
                    return Outcome("interrupted", message="interrupted", duration_s=now - start)

    def _rss_mb(self, now: float) -> float:
        """Resident memory of the child and its descendants, in MiB. The child's own is read at every check
        (one small /proc read); its descendants' needs a scan of every process on the machine (≈ 2 ms of CPU
        with 150 processes, 5 % of a core at ten checks a second for two slots), so it is refreshed once a
        second."""
        import psutil

        try:
            own = _own_rss_mb(self._proc.pid)
            if now - self._tree_at >= 1.0:
                self._tree_at = now
                children = psutil.Process(self._proc.pid).children(recursive=True)
                self._tree_mb = float(sum(p.memory_info().rss for p in children)) / 2**20
            return own + self._tree_mb
        except (psutil.Error, OSError):
            return 0.0

    def _crashed(self, start: float) -> Outcome:
        try:
            code = self._proc.wait(timeout=5)
        except Exception:  # noqa: BLE001 - still running: it stopped answering
            code = None
        self._kill_group()  # what the trial started dies with it
        self._reset()
        if code is None:
            reason = "its process stopped answering"
        elif code < 0:
            reason = f"its process died of {_signal_name(code)}"
            if code == -signal.SIGKILL:
                reason += " (killed, or out of memory)"
        else:
            reason = f"its process exited with code {code}"
        return Outcome("crash", message=reason, duration_s=time.monotonic() - start)

    def _reset(self) -> None:
        if self._channel is not None:
            self._channel.close()
        self._proc = self._channel = self._poller = None
        self._booted = False
        self._known = set()
        self._tree_at, self._tree_mb = -1e9, 0.0

    def kill(self) -> None:
        """Kill the child and every process its trial started (they share its process group)."""
        if self._proc is not None:
            self._kill_group()
            self._proc.wait(timeout=5)
            self._reset()

    def _kill_group(self) -> None:
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)  # the child leads its group (process_group=0)
        except OSError:  # already gone, or not a group leader here
            self._proc.kill()

    def close(self) -> None:
        """Stop the child (politely, then firmly)."""
        if self._proc is None:
            return
        try:
            self._ch().send(None)
            self._proc.wait(timeout=2)
        except Exception:  # noqa: BLE001 - broken pipe or still running
            pass
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=5)
        self._reset()


def main() -> None:  # pragma: no cover - the child's entry point
    """Entry of the child process started by ``Executor._start``."""
    import json

    for entry in reversed(json.loads(os.environ.pop("KUBELAB_EXECUTOR_PATH", "[]"))):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    read_fd, write_fd = (int(x) for x in os.environ.pop("KUBELAB_EXECUTOR_FDS").split(","))
    threads = int(os.environ.get("KUBELAB_THREADS", "1"))
    _child(_Channel(read_fd, write_fd), threads)


def threads_per_trial(n_workers: int) -> int:
    """Each trial's share of the cores this process may use."""
    return max(1, default_workers() // max(1, n_workers))


def start_executors(n_workers: int) -> list[Executor]:
    """Start the trial processes of ``n_workers`` slots now, so that they boot while the caller reads the
    spec and opens the store (each is ~0.1 s of a fresh interpreter's start-up)."""
    executors = [Executor(threads_per_trial(n_workers)) for _ in range(n_workers)]
    for executor in executors:
        executor.start()
    return executors
