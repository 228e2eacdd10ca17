"""``Monitor``: sample a target every ``interval`` seconds, in the caller's thread or in the background."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator

from kubelab.errors import MonitorError
from kubelab.monitor._sample import Sample
from kubelab.monitor._target import Target

__all__ = ["Monitor"]


class Monitor:
    """Samples ``target`` at ``interval``, ``interval * 2``, … seconds after it starts, for ``duration``.

    Samples keep to a fixed schedule (no drift: a slow read shortens the next wait; after a stall longer than
    an interval, the ticks it missed are skipped rather than taken back to back). Sampling stops at
    ``duration``, when ``stop()`` is called, or when the target has nothing left to monitor.

    Use it in one of two ways::

        for sample in Monitor(target, interval=1, duration=60).samples():   # blocking
            ...
        with Monitor(target, interval=1) as monitor:                        # a background thread
            run_the_load_test()
        rows = monitor.rows                                                 # list of Sample

    Args:
        target: What to sample (``LocalTarget`` or ``KubeTarget``).
        interval: Seconds between samples (> 0).
        duration: Seconds to sample for; None: until ``stop()`` (or the target is gone).
        on_sample: Called with each sample as it is taken (in the sampling thread).
    """

    def __init__(self, target: Target, *, interval: float = 5.0, duration: float | None = None,
                 on_sample: Callable[[Sample], None] | None = None) -> None:
        if not interval > 0:
            raise MonitorError(f"interval must be more than 0 seconds, not {interval}")
        if duration is not None and not duration > 0:
            raise MonitorError(f"duration must be more than 0 seconds, not {duration}")
        self.target = target
        self.interval = float(interval)
        self.duration = duration
        self.rows: list[Sample] = []
        self._on_sample = on_sample
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def samples(self) -> Iterator[Sample]:
        """Take samples on schedule, yielding each one (this blocks between samples)."""
        self.target.prime()
        start = time.monotonic()
        tick = 1
        while not self._stop.is_set():
            due = tick * self.interval
            if self.duration is not None and due > self.duration + 1e-9:
                return
            if self._stop.wait(max(0.0, start + due - time.monotonic())):
                return
            if not self.target.alive:
                return
            sample = dataclasses.replace(self.target.read(), time=round(due, 3))
            self.rows.append(sample)
            if self._on_sample is not None:
                self._on_sample(sample)
            yield sample
            # The next tick, unless a stall has already passed it by a whole interval: then the latest due one.
            tick = max(tick + 1, int((time.monotonic() - start) / self.interval))

    def run(self) -> list[Sample]:
        """Sample until done; returns every sample."""
        for _ in self.samples():
            pass
        return self.rows

    def start(self) -> Monitor:
        """Sample in a background thread (``rows`` fills as it goes)."""
        def loop() -> None:
            try:
                self.run()
            except BaseException as exc:  # handed to stop()
                self._error = exc

        self._thread = threading.Thread(target=loop, name="kubelab-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[Sample]:
        """Stop sampling (the background thread too) and return every sample; re-raises its error."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self.rows

    def __enter__(self) -> Monitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            self.target.close()
