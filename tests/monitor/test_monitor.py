"""The sampling schedule, with a named fake target that counts its reads."""

from __future__ import annotations

import time

import pytest

from kubelab.errors import MonitorError
from kubelab.monitor import Monitor, Sample, Target


class CountingTarget(Target):
    """A fake target: each read returns the number of reads so far as n_replica, after ``delay`` seconds."""

    def __init__(self, delay: float = 0.0, reads_until_gone: int | None = None) -> None:
        self.delay, self.reads, self.primed, self.closed = delay, 0, 0, False
        self.reads_until_gone = reads_until_gone

    def prime(self) -> None:
        self.primed += 1

    def read(self) -> Sample:
        time.sleep(self.delay)
        self.reads += 1
        return Sample(0.0, self.reads, None, None, None, None, 0.0, 0)

    @property
    def alive(self) -> bool:
        return self.reads_until_gone is None or self.reads < self.reads_until_gone

    def close(self) -> None:
        self.closed = True

    def describe(self) -> str:
        return "counting"


def test_fixed_schedule_and_duration() -> None:
    target = CountingTarget()
    rows = Monitor(target, interval=0.05, duration=0.2).run()
    assert [r.time for r in rows] == [0.05, 0.1, 0.15, 0.2]
    assert [r.n_replica for r in rows] == [1, 2, 3, 4] and target.primed == 1


def test_a_slow_read_skips_ticks_instead_of_drifting() -> None:
    rows = Monitor(CountingTarget(delay=0.12), interval=0.05, duration=0.5).run()
    times = [r.time for r in rows]
    assert times == sorted(set(times)) and all(round(t / 0.05, 6).is_integer() for t in times)
    assert len(rows) < 10  # ticks were skipped, not queued


def test_stops_when_the_target_is_gone_and_the_context_closes_it() -> None:
    target = CountingTarget(reads_until_gone=2)
    with Monitor(target, interval=0.02) as monitor:
        time.sleep(0.3)
    assert len(monitor.rows) == 2 and target.closed


def test_errors_in_the_background_thread_reach_the_caller() -> None:
    class Broken(CountingTarget):
        def read(self) -> Sample:
            raise MonitorError("the pods are gone")

    with pytest.raises(MonitorError, match="the pods are gone"), Monitor(Broken(), interval=0.01):
        time.sleep(0.1)
