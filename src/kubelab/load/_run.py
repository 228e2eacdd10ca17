"""Run a load test: one generator in this process, or several processes whose intervals merge.

Every process runs the same profile with a ``Share`` of the rate, users and request budget, on a common start
time (``time.monotonic`` is one clock for the whole host), and streams its intervals (HDR-encoded) to the
parent, which merges the slices with the same start. The result carries siege's summary, the intervals for
the CSV, log and HTML outputs, and warnings when the generator rather than the server was the limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from kubelab.errors import LoadTestError
from kubelab.load._generator import Generator, Share
from kubelab.load._profiles import Profile
from kubelab.load._request import Request
from kubelab.load._stats import Interval, Summary, merge_by_start, summarize

__all__ = ["LoadResult", "LoadTest", "run_load"]

_CPU_SATURATED = 0.9
_LAGGED_SHARE = 0.01


@dataclass(frozen=True)
class LoadTest:
    """What to run.

    Args:
        request: The request to send (``build_request``).
        profile: The load over time (``parse_profile``), possibly ``TimeScaled``.
        workers: Generator processes (each drives one core).
        max_requests: Stop after this many requests (``--requests``).
        timeout: A request without a response after this many seconds fails as ``timeout``.
        interval: Seconds per statistics interval (CSV rows, chart points).
        max_connections: Open loop: the most connections, all processes together.
    """

    request: Request
    profile: Profile
    workers: int = 1
    max_requests: int | None = None
    timeout: float = 30.0
    interval: float = 1.0
    max_connections: int = 10_000


@dataclass
class LoadResult:
    """A finished (or interrupted) run: the summary, every interval and the warnings about the generator."""

    summary: Summary
    intervals: list[Interval]
    started_at: float
    open_loop: bool
    warnings: list[str] = field(default_factory=list)
    interrupted: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: the summary's keys plus ``warnings`` and ``interrupted``."""
        return {**self.summary.as_dict(), "warnings": self.warnings, "interrupted": self.interrupted}


def run_load(test: LoadTest, *, on_interval: Callable[[Interval], None] | None = None) -> LoadResult:
    """Run ``test`` to the end (Ctrl-C stops it early and keeps what was measured).

    Args:
        test: The plan.
        on_interval: Called with each finished interval, merged over processes (for progress).
    """
    started_at = time.time()
    interrupted = False
    if test.workers <= 1:
        gen = _generator(test, Share(), None, on_interval)
        try:
            intervals = gen.run()
        except KeyboardInterrupt:
            intervals, interrupted = gen.intervals, True
        elapsed = gen.elapsed or (sum(i.length for i in intervals))
    else:
        intervals, elapsed, interrupted = _run_processes(test, on_interval)
    busy_s = sum(i.generator_busy_s for i in intervals)
    _, summary = summarize(intervals, elapsed, duration=test.profile.duration if test.max_requests is None else None,
                           open_loop=not test.profile.closed)
    result = LoadResult(summary, intervals, started_at, not test.profile.closed, interrupted=interrupted)
    result.warnings = _warnings(result, busy_s / max(elapsed, 1e-9) / max(test.workers, 1))
    return result


def _generator(test: LoadTest, share: Share, start_at: float | None,
               on_interval: Callable[[Interval], None] | None) -> Generator:
    return Generator(test.request, test.profile, share=share, start_at=start_at, max_requests=test.max_requests,
                     timeout=test.timeout, interval=test.interval,
                     max_connections=max(1, test.max_connections // share.parts), on_interval=on_interval,
                     seed=share.part)


def _worker(test: LoadTest, share: Share, start_at: float, conn: Any) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it terminates us on Ctrl-C
    gen = _generator(test, share, start_at, lambda i: conn.send(("interval", i.to_dict())))
    gen.run()
    conn.send(("done", gen.elapsed))
    conn.close()


def _run_processes(test: LoadTest, on_interval: Callable[[Interval], None] | None,
                   ) -> tuple[list[Interval], float, bool]:
    import multiprocessing
    from multiprocessing.connection import wait

    ctx = multiprocessing.get_context("spawn")
    start_at = time.monotonic() + 1.0 + 0.25 * test.workers  # time for every process to import and connect
    pipes, procs = [], []
    for part in range(test.workers):
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_worker, args=(test, Share(part, test.workers), start_at, child), daemon=True)
        proc.start()
        child.close()
        pipes.append(parent)
        procs.append(proc)
    parts: list[Interval] = []
    pending: dict[float, list[Interval]] = {}
    elapsed, interrupted, open_pipes = 0.0, False, list[Any](pipes)
    try:
        while open_pipes:
            for ready in wait(open_pipes):
                pipe = cast(Any, ready)
                try:
                    kind, payload = pipe.recv()
                except EOFError:
                    open_pipes.remove(pipe)
                    continue
                if kind == "done":
                    elapsed = max(elapsed, payload)
                    continue
                interval = Interval.from_dict(payload)
                parts.append(interval)
                same = pending.setdefault(interval.start, [])
                same.append(interval)
                if on_interval is not None and len(same) == test.workers:
                    on_interval(merge_by_start(_copies(pending.pop(interval.start)))[0])
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for proc in procs:
            if interrupted:
                proc.terminate()
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    died = [f"{i} (exit code {p.exitcode})" for i, p in enumerate(procs) if p.exitcode and not interrupted]
    if died:
        raise LoadTestError(f"generator process {', '.join(died)} died; hint: rerun with KUBELAB_DEBUG=1 -v")
    intervals = merge_by_start(parts)
    return intervals, elapsed or sum(i.length for i in intervals), interrupted


def _copies(intervals: list[Interval]) -> list[Interval]:
    return [Interval.from_dict(i.to_dict()) for i in intervals]


def _warnings(result: LoadResult, busy: float) -> list[str]:
    s = result.summary
    out: list[str] = []
    if busy >= _CPU_SATURATED:
        out.append(f"the load generator was busy {busy:.0%} of the time (its CPU saturated, or waiting for a CPU "
                   "other processes held): these numbers may show the generator's limit, not the server's; hint: "
                   "add --workers if cores are free, or run the generator on another machine")
    sends = sum(i.scheduled for i in result.intervals)
    lagged = sum(i.lagged for i in result.intervals)
    if sends and lagged / sends > _LAGGED_SHARE:
        out.append(f"{lagged / sends:.1%} of requests left more than 1 ms after their scheduled time (worst "
                   f"{s.max_schedule_lag_ms:.1f} ms): the generator could not keep its schedule; its latency "
                   "figures include that lag; hint: add --workers or lower the load")
    if result.open_loop and s.target_rate and s.achieved_rate < 0.99 * s.target_rate and not result.interrupted:
        out.append(f"achieved {s.achieved_rate:g} requests/s of the {s.target_rate:g} targeted")
    return out
