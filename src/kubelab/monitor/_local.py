"""Local processes: those behind ``--pid``, ``--port`` or a launched command, with all their descendants.

CPU use is the sum of user + system CPU time of every process in the tree, differenced between reads and
divided by the wall time between them; a process born during the interval counts from its birth; CPU of a
process that exits during an interval is lost for that interval. Memory is the sum of resident set sizes
(shared pages of forked workers count in each). Replicas are the leaf processes of the tree: a server with
four workers is four replicas; a single process is one; multiprocessing's resource tracker and fork server
are helpers, not replicas (their CPU and memory still count).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from kubelab.errors import MonitorError
from kubelab.monitor._cgroup import CgroupResources, cgroup_membership, group_resources
from kubelab.monitor._sample import Sample
from kubelab.monitor._target import Target

__all__ = ["LocalTarget", "pids_on_port"]

# Processes that belong to a server but are not workers (uvicorn --workers starts a resource tracker).
_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver", "multiprocessing.semaphore_tracker")


def pids_on_port(port: int, pid_option: str = "--pid") -> list[int]:
    """Processes that hold a listening TCP socket on ``port`` (any address), outermost first.

    ``pid_option`` is the option that names a process instead, for the hint of an error.
    """
    try:
        conns = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        raise MonitorError(f"cannot list the sockets of other users' processes to find port {port}; hint: pass "
                           f"{pid_option} of the server instead, or run as its user") from None
    pids = {c.pid for c in conns if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid}
    # A pre-forking server's workers inherit the socket, and psutil names one holder per socket: climb to the
    # outermost ancestor that also listens on the port.
    roots = set()
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for parent in proc.parents():
                if not _listens(parent, port):
                    break
                proc = parent
            roots.add(proc.pid)
        except psutil.NoSuchProcess:
            continue
    return sorted(roots)


def _listens(proc: psutil.Process, port: int) -> bool:
    try:
        return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                   for c in proc.net_connections(kind="tcp"))
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


class LocalTarget(Target):
    """Processes on this machine and their descendants.

    Args:
        pids: Process ids to monitor.
        port: A TCP port: monitor the process listening on it.
        command: A command to launch (a list, or a string split like a shell would); stopped on ``close()``.
        cgroup_root: Where the cgroup hierarchies are mounted (tests point it elsewhere).
        pid_option: The option that names a process by pid, for hints (``--monitor-pid`` in ``kubelab loadtest``).
    """

    def __init__(self, *, pids: Sequence[int] = (), port: int | None = None,
                 command: Sequence[str] | str | None = None, cgroup_root: Path = Path("/sys/fs/cgroup"),
                 pid_option: str = "--pid") -> None:
        chosen = sum(bool(x) for x in (pids, port is not None, command))
        if chosen != 1:
            raise MonitorError("give exactly one of --pid, --port or a command to launch (after --)")
        self._cgroup_root = cgroup_root
        self._launched: subprocess.Popen[bytes] | None = None
        self._roots: list[psutil.Process] = []
        self._what = ""
        if command:
            argv = shlex.split(command) if isinstance(command, str) else list(command)
            try:
                self._launched = subprocess.Popen(argv, start_new_session=True)
            except OSError as exc:
                raise MonitorError(f"cannot launch {shlex.join(argv)}: {exc.strerror or exc}") from None
            self._roots = [psutil.Process(self._launched.pid)]
            self._what = f"command {shlex.join(argv)} (pid {self._launched.pid})"
        elif port is not None:
            found = pids_on_port(port, pid_option)
            if not found:
                raise MonitorError(f"no process listens on TCP port {port}; hint: start the server first, or pass "
                                   f"{pid_option}")
            self._roots = [psutil.Process(p) for p in found]
            self._what = f"port {port} (pid {', '.join(map(str, found))})"
        else:
            for pid in pids:
                try:
                    self._roots.append(psutil.Process(pid))
                except psutil.NoSuchProcess:
                    raise MonitorError(f"no process with pid {pid}; hint: check it with `ps -p {pid}`") from None
            self._what = f"pid {', '.join(map(str, pids))}"
        self._cpu: dict[tuple[int, float], float] = {}
        self._membership: dict[tuple[int, float], tuple[tuple[str, str], ...] | None] = {}
        self._helpers: dict[tuple[int, float], bool] = {}
        self._last, self._last_wall = time.monotonic(), time.time()

    def describe(self) -> str:
        return self._what

    def _tree(self) -> list[psutil.Process]:
        seen: dict[int, psutil.Process] = {}
        for root in self._roots:
            try:
                for p in [root, *root.children(recursive=True)]:
                    seen.setdefault(p.pid, p)
            except psutil.NoSuchProcess:
                continue
        return list(seen.values())

    @property
    def alive(self) -> bool:
        if self._launched is not None:
            return self._launched.poll() is None
        for root in self._roots:
            try:
                if root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
                    return True
            except psutil.NoSuchProcess:
                continue
        return False

    def prime(self) -> None:
        self._sample_cpu()

    def _sample_cpu(self) -> tuple[float, list[tuple[psutil.Process, int]]]:
        """CPU seconds used since the last call, and (process, rss) of the live tree."""
        now, wall = time.monotonic(), time.time()
        used, live = 0.0, []
        current: dict[tuple[int, float], float] = {}
        for p in self._tree():
            try:
                with p.oneshot():
                    times, rss, born = p.cpu_times(), p.memory_info().rss, p.create_time()
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
            total = times.user + times.system
            key = (p.pid, born)
            current[key] = total
            if key in self._cpu:
                used += total - self._cpu[key]
            elif self._cpu and born >= self._last_wall:
                used += total  # born during this interval: all of its CPU is new
            live.append((p, rss))
        self._cpu, self._last, self._last_wall = current, now, wall
        return used, live

    def read(self) -> Sample:
        start = self._last
        used, live = self._sample_cpu()
        elapsed = max(self._last - start, 1e-9)
        procs = [p for p, _ in live]
        pids = {p.pid for p in procs}
        parents = set()
        for p in procs:
            try:
                parent = p.ppid()
            except psutil.NoSuchProcess:
                continue
            if parent in pids:
                parents.add(parent)
        replicas = sum(1 for p in procs if p.pid not in parents and not self._helper(p))
        # A process keeps its cgroup (almost always): membership is read once per process; each distinct
        # group's settings are read at every sample (limits can change).
        memberships = {}
        for p in procs:
            key = (p.pid, p.create_time())
            if key not in self._membership:
                self._membership[key] = cgroup_membership(p.pid)
            memberships[key] = self._membership[key]
        self._membership = memberships
        by_group = {m: group_resources(m, root=self._cgroup_root) for m in set(memberships.values())}
        groups = [by_group[m] for m in memberships.values()]
        return Sample(
            time=0.0, n_replica=replicas,
            cpu_req_core=_total(groups, "cpu_group", "cpu_req_core"),
            mem_req_kib=_kib(_total(groups, "memory_group", "mem_req_bytes")),
            cpu_lim_core=_total(groups, "cpu_group", "cpu_lim_core"),
            mem_lim_kib=_kib(_total(groups, "memory_group", "mem_lim_bytes")),
            cpu_use_core=used / elapsed if live else None,
            mem_use_kib=sum(rss for _, rss in live) // 1024 if live else None)

    def _helper(self, proc: psutil.Process) -> bool:
        """Whether ``proc`` is a helper, not a worker: multiprocessing's resource tracker or fork server."""
        key = (proc.pid, proc.create_time())
        if key not in self._helpers:
            try:
                cmdline = " ".join(proc.cmdline())
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                cmdline = ""
            self._helpers[key] = any(h in cmdline for h in _HELPERS)
        return self._helpers[key]

    def close(self) -> None:
        if self._launched is None or self._launched.poll() is not None:
            return
        try:
            os.killpg(self._launched.pid, signal.SIGTERM)
            self._launched.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self._launched.pid, signal.SIGKILL)
            self._launched.wait()
        except ProcessLookupError:
            pass


def _total(groups: list[CgroupResources], group: str, value: str) -> float | None:
    """Sum ``value`` over the distinct groups; None unless every process's group has one."""
    per_group: dict[str | None, float | None] = {getattr(g, group): getattr(g, value) for g in groups}
    if not per_group or any(v is None for v in per_group.values()):
        return None
    return float(sum(v for v in per_group.values() if v is not None))


def _kib(value: float | None) -> int | None:
    return None if value is None else int(value) // 1024
