from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

LOADS = Path(__file__).parent / "loads.py"


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """``spawn("burn", "1", log)`` starts a known load in its own session; all are killed after the test."""
    started: list[subprocess.Popen[str]] = []

    def _spawn(*args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, str(LOADS), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True, start_new_session=True)
        started.append(proc)
        return proc

    yield _spawn
    for proc in started:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


def self_reported_cpu(log: Path, start: float, end: float) -> float:
    """Cores the burner says it used between wall times ``start`` and ``end`` (linear interpolation)."""
    points = [tuple(map(float, line.split())) for line in log.read_text().splitlines() if line.strip()]

    def at(t: float) -> float:
        before = [p for p in points if p[0] <= t]
        after = [p for p in points if p[0] >= t]
        assert before and after, f"the burner's log does not cover {t}"
        (t0, c0), (t1, c1) = before[-1], after[0]
        return c0 if t1 == t0 else c0 + (c1 - c0) * (t - t0) / (t1 - t0)

    return (at(end) - at(start)) / (end - start)
