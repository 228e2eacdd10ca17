"""Profile a model server: service time and capacity at several CPU allowances, memory, time to ready.

Built on two small seams so any HTTP server and any load generator fit:

* a **server command**: an argv with ``{port}`` where the port goes (``kubelab serve MODEL --port {port}``
  by default), started under each CPU allowance (``_cpulimit``), ready when ``ready_path`` answers 200;
* a **load driver**: ``driver(url, concurrency, seconds) -> latencies`` — closed loop, ``concurrency``
  requests in flight for ``seconds``, the latencies (s) of the requests that completed. ``http_driver``
  uses keep-alive connections in threads; ``kubelab_load_driver`` is kubelab's own load generator
  (``kubelab.load``), which ``profile_model`` uses.

Where a cgroup quota enforces the allowance, first (once per profile) one request at a time with the quota
lifted: the unthrottled service-time distribution the simulator's CFS model starts from. At each
allowance: one request at a time (service-time distribution), then ``2 x ceil(cores) + 1`` in
flight (saturated throughput), each repeated in windows until the last three agree within 10 % (or
``max_windows``). CPU seconds per request come from the server process tree's CPU time; memory is its
peak resident set.
"""

from __future__ import annotations

import http.client
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt

from kubelab.errors import RecipeError
from kubelab.recipe._cpulimit import CpuLimit
from kubelab.recipe._server import QUANTILES, AllowancePoint, ServerProfile

__all__ = ["LoadDriver", "ProfileError", "http_driver", "kubelab_load_driver", "profile_model", "profile_server"]

LoadDriver = Callable[[str, int, float], list[float]]


class ProfileError(RecipeError):
    """The server would not start, become ready or answer while being profiled."""


def http_driver(url: str, concurrency: int, seconds: float) -> list[float]:
    """Closed loop over keep-alive HTTP/1.1 connections: ``concurrency`` threads, each sending ``GET url``
    as soon as its last answer arrived, for ``seconds``. Returns the latencies of 2xx answers."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    deadline = time.perf_counter() + seconds
    results: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[str] = []

    def user(out: list[float]) -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        try:
            while (start := time.perf_counter()) < deadline:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if 200 <= response.status < 300:
                    out.append(time.perf_counter() - start)
                else:
                    errors.append(f"HTTP {response.status}")
                    return
        except OSError as exc:
            errors.append(str(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=user, args=(results[i],), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies = [x for r in results for x in r]
    if errors and not latencies:
        raise ProfileError(f"every request to {url} failed: {errors[0]}")
    return latencies


def kubelab_load_driver(url: str, concurrency: int, seconds: float) -> list[float]:
    """The same contract over kubelab's own load generator (``kubelab.load``): closed loop, ``concurrency``
    users, no think time; latencies read back from its HDR histograms (3 significant digits)."""
    from kubelab.load import Constant, LoadTest, Target, build_request, run_load

    test = LoadTest(build_request(url), Constant(Target(users=concurrency), duration=seconds), interval=seconds)
    result = run_load(test)
    latencies: list[float] = []
    for interval in result.intervals:
        for item in interval.histogram.get_recorded_iterator():
            latencies.extend([item.value_iterated_to / 1e6] * item.count_at_value_iterated_to)
    if not latencies and result.summary.failed_transactions:
        raise ProfileError(f"every request to {url} failed: {dict(result.summary.errors)}")
    return latencies


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server this module started (politely, then firmly) and close its stderr pipe."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stderr:
        proc.stderr.close()


def _ready(url: str) -> bool:
    try:
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=2)
        conn.request("GET", parts.path or "/")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def _stable(values: list[float], tolerance: float = 0.10) -> bool:
    if len(values) < 3:
        return False
    last = values[-3:]
    mean = sum(last) / 3
    return mean > 0 and (max(last) - min(last)) / mean <= tolerance


def _tree_stats(pid: int) -> tuple[float, float]:
    """CPU seconds and resident MiB of a process and its descendants."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0, 0.0
    cpu = rss = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            cpu += t.user + t.system
            rss += p.memory_info().rss / 2**20
        except psutil.Error:
            continue
    return cpu, rss


def profile_server(
    command: Sequence[str],
    *,
    allowances: Sequence[float] = (0.25, 0.5, 1.0, 2.0),
    path: str = "/",
    ready_path: str = "/",
    driver: LoadDriver = http_driver,
    window_s: float = 5.0,
    max_windows: int = 12,
    ready_timeout_s: float = 300.0,
    env: dict[str, str] | None = None,
    shares: int | None = None,
    source: str = "",
    progress: Callable[[str], None] | None = None,
) -> ServerProfile:
    """Measure the server ``command`` (argv with ``{port}``) at each allowance (module docstring);
    ``shares``: the server's CPU weight (``CpuLimit``).

    Raises:
        ProfileError: the server exits, is not ready within ``ready_timeout_s``, or fails every request.
    """
    say = progress or (lambda _: None)
    points: list[AllowancePoint] = []
    methods: set[str] = set()
    startups: list[float] = []
    memory = 0.0
    idle = 0.0
    free: npt.NDArray[np.float64] | None = None
    period: float | None = None
    for cores in sorted(allowances):
        limit = CpuLimit(cores, shares)
        methods.add(limit.kind)
        port = _free_port()
        argv = [a.replace("{port}", str(port)) for a in command]
        started = time.perf_counter()
        proc = subprocess.Popen(
            limit.wrap(argv),
            env={**os.environ, **limit.environment(), **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            while not _ready(base + ready_path):
                if proc.poll() is not None:
                    err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
                    raise ProfileError(
                        f"server exited with code {proc.returncode} before ready: {' '.join(argv)}\n{err}"
                    )
                if time.perf_counter() - started > ready_timeout_s:
                    raise ProfileError(f"server not ready after {ready_timeout_s:.0f} s: {' '.join(argv)}")
                time.sleep(0.05)
            startups.append(time.perf_counter() - started)
            cpu0, _ = _tree_stats(proc.pid)
            time.sleep(min(1.0, window_s))
            cpu1, _ = _tree_stats(proc.pid)
            idle = max(idle, (cpu1 - cpu0) / min(1.0, window_s))
            say(f"{cores:g} cores ({limit.method}): ready in {startups[-1]:.1f} s")

            if limit.period is not None and free is None:  # once: the quota lifted, one request at a time
                limit.lift(True)
                try:
                    free = _one_at_a_time(driver, base + path, window_s, max_windows)
                finally:
                    limit.lift(False)
                period = limit.period
                say(f"no quota: service p50 {free[5] * 1000:.1f} ms, p99 {free[9] * 1000:.1f} ms")
            service = _one_at_a_time(driver, base + path, window_s, max_windows)

            inflight = 2 * math.ceil(cores) + 1
            rates: list[float] = []
            cpu_per: list[float] = []
            for _ in range(max_windows):
                c0, _ = _tree_stats(proc.pid)
                t0 = time.perf_counter()
                window = driver(base + path, inflight, window_s)
                elapsed = time.perf_counter() - t0
                c1, rss = _tree_stats(proc.pid)
                memory = max(memory, rss)
                rates.append(len(window) / elapsed)
                cpu_per.append((c1 - c0) / max(1, len(window)))
                if _stable(rates):
                    break
            capacity = float(np.mean(rates[-3:]))
            point = AllowancePoint(cores, tuple(float(v) for v in service), float(np.median(cpu_per[-3:])), capacity)
            points.append(point)
            say(
                f"{cores:g} cores: service p50 {service[5] * 1000:.1f} ms, p99 {service[9] * 1000:.1f} ms, "
                f"capacity {capacity:.1f} req/s, {point.cpu_per_request * 1000:.1f} ms CPU/request"
            )
        finally:
            _stop(proc)
            limit.close()
    return ServerProfile(
        tuple(points),
        memory_mib=memory,
        startup_seconds=float(np.median(startups)),
        idle_cpu=idle,
        method=", ".join(sorted(methods)),
        source=source or " ".join(command),
        free_quantiles=None if free is None else tuple(float(v) for v in free),
        cfs_period=period,
    )


def _one_at_a_time(driver: LoadDriver, url: str, window_s: float, max_windows: int) -> npt.NDArray[np.float64]:
    """Service-time quantiles of one request at a time, in windows until the last three means agree."""
    windows: list[list[float]] = []
    means: list[float] = []
    for _ in range(max_windows):
        window = driver(url, 1, window_s)
        if not window:
            raise ProfileError(f"no request to {url} completed in {window_s:g} s")
        windows.append(window)
        means.append(float(np.mean(window)))
        if _stable(means):
            break
    return np.asarray(np.quantile(np.concatenate(windows[-3:]), QUANTILES), dtype=np.float64)


def profile_model(
    model: str,
    *,
    allowances: Sequence[float] = (0.25, 0.5, 1.0, 2.0),
    progress: Callable[[str], None] | None = None,
) -> ServerProfile:
    """Profile ``kubelab serve MODEL`` driving ``GET /test`` (it predicts the model's bundled sample) with
    kubelab's load generator, in 2 s windows (at most 8 per measurement, so at most about 40 s per allowance).

    Raises:
        ProfileError: ``kubelab serve`` is not part of this install, or the server fails.
    """
    import importlib.util

    if importlib.util.find_spec("kubelab.serve") is None:
        raise ProfileError(
            "kubelab serve is not part of this install, so the model cannot be profiled; "
            "hint: pass --profile-file FILE, or --synthetic-profile for a labelled made-up server"
        )
    command = [sys.executable, "-m", "kubelab", "serve", model, "--host", "127.0.0.1", "--port", "{port}"]
    return profile_server(
        command,
        allowances=allowances,
        path="/test",
        ready_path="/readyz",
        driver=kubelab_load_driver,
        window_s=2.0,
        max_windows=8,
        source=f"kubelab serve {model}",
        progress=progress,
    )
