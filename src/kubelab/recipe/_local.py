"""A recipe's fixed replica count run for real on this machine, to check the queueing model against it.

``LocalReplicas(command, replicas, cores)`` starts ``replicas`` copies of a server command (argv with
``{port}``), each under its own CPU allowance (``_cpulimit``: a cgroup CFS quota, 100 ms period, as
Kubernetes enforces a CPU limit; else CPU affinity to whole cores), behind a round-robin TCP proxy in a
process of its own (a new upstream per client connection, as kube-proxy balances connections).
``closed_loop(url, users, seconds)`` drives it with closed-loop users (siege ``-c``/``-d``: send, wait for
the answer, think uniform ``[0, think]``), each request on a new connection, and measures throughput,
p50 and p99 after a warm-up; under cgroup quotas, also where each replica's CFS periods start (polled from
``cpu.stat``), which the latency of several replicas depends on. ``predict_closed_loop`` asks the
simulator the same question for a profile, those phases included.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt

from kubelab.recipe._cpulimit import CpuLimit
from kubelab.recipe._profile import ProfileError, _free_port, _ready, _stop
from kubelab.recipe._server import ServerProfile

SHARES = 8 * 1024
"""CPU weight of each server and of the proxy + load generator (eight nice-0 processes): other work on the
machine cannot take their quota from them."""

PHASE_POLL_S = 2.0
"""How long ``LocalReplicas.closed_loop`` polls the replicas' ``cpu.stat`` (from the start of the warm-up)."""

__all__ = [
    "LoadRig",
    "LocalReplicas",
    "Measured",
    "closed_loop",
    "period_phase",
    "predict_closed_loop",
    "round_robin_proxy",
]


@dataclass(frozen=True)
class Measured:
    """Closed-loop results: the latencies (s) of requests sent in the window and the completions in it;
    ``phases``: where each replica's CFS periods start relative to the first's (s), when measured."""

    latencies: npt.NDArray[np.float64]
    completed: int
    seconds: float
    phases: tuple[float, ...] = ()

    @property
    def throughput(self) -> float:
        """Requests completed per second in the window."""
        return self.completed / self.seconds

    @property
    def p50(self) -> float:
        """Median latency (s)."""
        return float(np.percentile(self.latencies, 50))

    @property
    def p99(self) -> float:
        """99th-percentile latency (s)."""
        return float(np.percentile(self.latencies, 99))

    def as_dict(self) -> dict[str, float]:
        """``throughput`` (req/s), ``p50`` and ``p99`` (s)."""
        return {"throughput": self.throughput, "p50": self.p50, "p99": self.p99}


def round_robin_proxy(listen: int, backends: Sequence[int]) -> None:
    """Serve 127.0.0.1:``listen`` until the parent process exits, piping each new connection to the next
    backend port in turn."""
    counter = 0

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal counter
        port = backends[counter % len(backends)]
        counter += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)

    async def main() -> None:
        parent = os.getppid()
        server = await asyncio.start_server(handle, "127.0.0.1", listen, backlog=512)
        async with server:
            while os.getppid() == parent:  # never outlive the process that started it
                await asyncio.sleep(0.5)

    asyncio.run(main())


def _wait_ready(proc: subprocess.Popen[bytes], url: str, what: str, timeout_s: float) -> None:
    started = time.perf_counter()
    while not _ready(url):
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
            raise ProfileError(f"{what} exited with code {proc.returncode} before ready\n{err}")
        if time.perf_counter() - started > timeout_s:
            raise ProfileError(f"{what} not ready after {timeout_s:.0f} s ({url})")
        time.sleep(0.05)


class LoadRig:
    """Where the proxy and the load generator run: a cgroup with no quota and weight ``shares`` (so other
    work on the machine delays them little), the load generator in a process of its own.

    ``driver`` fits ``profile_server``'s load-driver seam, so a profile is measured by the same client,
    through a proxy of its own to the server profiled (started on first use): the same path as the
    replicas' requests take, so the profile includes the proxy's latency (about 0.4 ms a request).
    """

    def __init__(self, shares: int | None = SHARES) -> None:
        self.shares = shares
        self.limit = CpuLimit(float(os.cpu_count() or 1), shares)
        self.proxies: dict[int, tuple[subprocess.Popen[bytes], int]] = {}

    def proxy(self, backends: Sequence[int], ready_path: str = "/", timeout_s: float = 30.0) -> tuple[
        subprocess.Popen[bytes], int
    ]:
        """Start a round-robin proxy to ``backends`` in the rig (its own process: its own GIL, apart from
        the load generator); returns it and its port once it answers ``ready_path``."""
        port = _free_port()
        code = f"from kubelab.recipe._local import round_robin_proxy; round_robin_proxy({port}, {list(backends)!r})"
        proc = subprocess.Popen(
            self.limit.wrap([sys.executable, "-c", code]), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            _wait_ready(proc, f"http://127.0.0.1:{port}{ready_path}", "round-robin proxy", timeout_s)
        except BaseException:
            _stop(proc)
            raise
        return proc, port

    def __enter__(self) -> LoadRig:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop the profiling proxies, remove the cgroup (other proxies must have exited)."""
        for proc, _ in self.proxies.values():
            _stop(proc)
        self.proxies = {}
        self.limit.close()

    def closed_loop(
        self, url: str, users: int, seconds: float, *, think_s: float = 0.0, warmup_s: float = 1.0, seed: int = 0
    ) -> Measured:
        """``closed_loop`` run in a process of its own inside the rig.

        Raises:
            ProfileError: the load generator failed (a request failed).
        """
        args = json.dumps([url, users, seconds, think_s, warmup_s, seed])
        code = f"from kubelab.recipe._local import _client; _client({args!r})"
        out = subprocess.run(self.limit.wrap([sys.executable, "-c", code]), capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise ProfileError(f"load generator failed: {out.stderr.strip()[-2000:]}")
        latencies, completed = json.loads(out.stdout.strip().splitlines()[-1])
        return Measured(np.asarray(latencies, dtype=np.float64), int(completed), seconds)

    def driver(self, url: str, concurrency: int, seconds: float) -> list[float]:
        """The load-driver contract (``_profile.LoadDriver``): closed loop, no warm-up, the latencies;
        through the rig's proxy to ``url``'s port."""
        parts = urlsplit(url)
        backend = int(parts.port or 80)
        if backend not in self.proxies:
            self.proxies[backend] = self.proxy([backend], parts.path or "/")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        via = f"http://127.0.0.1:{self.proxies[backend][1]}{path}"
        return [float(x) for x in self.closed_loop(via, concurrency, seconds, warmup_s=0.0).latencies]


class LocalReplicas:
    """``replicas`` servers, each under ``cores`` of CPU, behind a round-robin proxy (module docstring).

    A context manager: entering starts everything and waits until each server and the proxy answer
    ``ready_path``; leaving stops them and removes the cgroups.

    Raises:
        ProfileError: a server exits or is not ready within ``ready_timeout_s``.
    """

    def __init__(
        self,
        command: Sequence[str],
        replicas: int,
        cores: float,
        *,
        ready_path: str = "/",
        ready_timeout_s: float = 60.0,
        shares: int | None = SHARES,
        rig: LoadRig | None = None,
    ) -> None:
        if replicas < 1:
            raise ValueError(f"replicas must be >= 1, not {replicas}")
        self.command = list(command)
        self.replicas = replicas
        self.cores = cores
        self.ready_path = ready_path
        self.ready_timeout_s = ready_timeout_s
        self.shares = shares
        self.limits: list[CpuLimit] = []
        self.servers: list[subprocess.Popen[bytes]] = []
        self.proxy: subprocess.Popen[bytes] | None = None
        self.rig = rig or LoadRig(shares)
        self._own_rig = rig is None
        self.port = 0

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def method(self) -> str:
        """How each server's allowance is enforced (``CpuLimit.method``)."""
        return self.limits[0].method if self.limits else ""

    def __enter__(self) -> LocalReplicas:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _start(self) -> None:
        ports = []
        for _ in range(self.replicas):
            limit = CpuLimit(self.cores, self.shares)
            self.limits.append(limit)
            port = _free_port()
            argv = [a.replace("{port}", str(port)) for a in self.command]
            proc = subprocess.Popen(
                limit.wrap(argv),
                env={**os.environ, **limit.environment()},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            self.servers.append(proc)
            ports.append(port)
        for proc, port in zip(self.servers, ports, strict=True):
            what = f"server on port {port} ({' '.join(self.command)})"
            _wait_ready(proc, f"http://127.0.0.1:{port}{self.ready_path}", what, self.ready_timeout_s)
        self.proxy, self.port = self.rig.proxy(ports, self.ready_path, self.ready_timeout_s)

    def close(self) -> None:
        """Stop the proxy and the servers, remove their cgroups."""
        for proc in [*([self.proxy] if self.proxy else []), *self.servers]:
            _stop(proc)
        self.proxy = None
        self.servers = []
        for limit in self.limits:
            limit.close()
        self.limits = []
        if self._own_rig:
            self.rig.close()

    def closed_loop(
        self, path: str, users: int, seconds: float, *, think_s: float = 0.0, warmup_s: float = 1.0, seed: int = 0
    ) -> Measured:
        """``LoadRig.closed_loop`` against the proxy (``path``: e.g. ``/test``), with the replicas' CFS period
        phases (``Measured.phases``) where cgroup quotas enforce their allowance."""
        cgroups = [limit.cgroup for limit in self.limits if limit.cgroup is not None]
        polls: list[list[float]] = []
        stop = threading.Event()
        poller = threading.Thread(target=_poll_periods, args=(cgroups, polls, stop), daemon=True)
        poller.start()
        try:
            measured = self.rig.closed_loop(
                self.url + path, users, seconds, think_s=think_s, warmup_s=warmup_s, seed=seed
            )
        finally:
            stop.set()
            poller.join()
        period = self.limits[0].period if self.limits else None
        if not cgroups or len(cgroups) < len(self.limits) or period is None or not polls:
            return measured
        table = np.asarray(polls, dtype=np.float64)
        found = [period_phase(table[:, 0], table[:, i + 1], period) for i in range(len(cgroups))]
        if any(p is None for p in found):
            return measured
        first = found[0] or 0.0
        return replace(measured, phases=tuple((p - first) % period for p in found if p is not None))


def _poll_periods(cgroups: Sequence[Path], out: list[list[float]], stop: threading.Event) -> None:
    """Every millisecond for ``PHASE_POLL_S``, the time and each cgroup's ``nr_periods`` (``cpu.stat``);
    stops early where a cgroup has no such count (then no phase is measured)."""
    end = time.perf_counter() + PHASE_POLL_S
    while not stop.is_set() and (now := time.perf_counter()) < end:
        row = [now]
        for cgroup in cgroups:
            try:
                stat = (cgroup / "cpu.stat").read_text().split()
                row.append(float(stat[stat.index("nr_periods") + 1]))
            except (OSError, ValueError, IndexError):
                out.clear()
                return
        out.append(row)
        time.sleep(0.001)


def period_phase(times: npt.NDArray[np.float64], counts: npt.NDArray[np.float64], period: float) -> float | None:
    """Where a cgroup's CFS periods start (s, modulo ``period``, on ``time.perf_counter``'s clock), from its
    ``nr_periods`` polled at ``times``: the circular mean of the midpoints of the polls between which the
    count went up (each a period's end). None if it never went up (the cgroup ran in no period)."""
    up = np.flatnonzero(np.diff(counts) > 0)
    if up.size == 0:
        return None
    ends = (times[up] + times[up + 1]) / 2
    angle = float(np.angle(np.mean(np.exp(2j * np.pi * ends / period))))
    return angle / (2 * np.pi) * period % period


def _client(args: str) -> None:
    """``closed_loop`` with JSON arguments; prints the latencies and completions as JSON."""
    url, users, seconds, think_s, warmup_s, seed = json.loads(args)
    try:
        m = closed_loop(url, users, seconds, think_s=think_s, warmup_s=warmup_s, seed=seed)
    except ProfileError as exc:
        sys.exit(str(exc))
    print(json.dumps([m.latencies.tolist(), m.completed]))


def closed_loop(
    url: str,
    users: int,
    seconds: float,
    *,
    think_s: float = 0.0,
    warmup_s: float = 1.0,
    seed: int = 0,
) -> Measured:
    """``users`` threads, each sending ``GET url`` on a new connection, waiting for the answer, then
    thinking a uniform ``[0, think_s]`` (seeded); after ``warmup_s`` for ``seconds``.

    Latencies are those of requests sent in the window; throughput counts the answers that arrived in it.

    Raises:
        ProfileError: a request failed (no answer, or not 2xx).
    """
    parts = url.split("/", 3)
    host, _, port = parts[2].partition(":")
    path = "/" + (parts[3] if len(parts) > 3 else "")
    t0 = time.perf_counter()
    begin, end = t0 + warmup_s, t0 + warmup_s + seconds
    records: list[list[tuple[float, float]]] = [[] for _ in range(users)]
    errors: list[str] = []

    def user(i: int) -> None:
        rng = random.Random(seed * 1_000_003 + i)
        out = records[i]
        time.sleep(rng.random() * think_s)
        while (start := time.perf_counter()) < end and not errors:
            conn = http.client.HTTPConnection(host, int(port or 80), timeout=30)
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if not 200 <= response.status < 300:
                    errors.append(f"HTTP {response.status} from {url}")
                    return
            except OSError as exc:
                errors.append(f"{url}: {exc}")
                return
            finally:
                conn.close()
            out.append((start, time.perf_counter()))
            if think_s:
                time.sleep(rng.random() * think_s)

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise ProfileError(errors[0])
    sent = np.array([r for rs in records for r in rs]).reshape(-1, 2)
    window = (sent[:, 0] >= begin) & (sent[:, 0] < end)
    completed = int(((sent[:, 1] >= begin) & (sent[:, 1] < end)).sum())
    return Measured(sent[window, 1] - sent[window, 0], completed, seconds)


def predict_closed_loop(
    profile: ServerProfile,
    replicas: int,
    cores: float,
    users: int,
    *,
    think_s: float = 0.0,
    seconds: int = 600,
    warmup_s: float = 60.0,
    seed: int = 0,
    cfs_throttling: bool = True,
    phases: Sequence[float] = (),
) -> Measured:
    """What the simulator predicts for ``replicas`` fixed replicas with ``cores`` each (the profile's
    server), round-robin, under ``users`` closed-loop users thinking uniform ``[0, think_s]``; ``phases``:
    where each replica's CFS periods start (``Measured.phases``; default: spread evenly)."""
    from kubelab.recipe._recipe import Recipe
    from kubelab.recipe._schedule import Schedule
    from kubelab.recipe._sim import SimConfig, simulate

    plan = Recipe(cores, cores, 256.0, 256.0, replicas, replicas, 80)
    load = Schedule.constant(seconds, users=users, delay=think_s)
    config = SimConfig(replicas=replicas, seed=seed, cfs_throttling=cfs_throttling, cfs_phases=tuple(phases))
    run = simulate(plan, profile, load, config)
    window = run.arrival >= warmup_s
    depart = run.arrival + run.latency
    completed = int(((depart >= warmup_s) & (depart < seconds)).sum())
    return Measured(run.latency[window], completed, seconds - warmup_s, tuple(phases))

