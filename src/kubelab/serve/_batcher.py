"""Adaptive micro-batching: concurrent requests share one ``predict`` call; a bounded queue sheds load.

One collector task per worker takes every request queued (up to ``max_batch`` rows), stacks their rows
into one array and calls ``predict`` once. With ``max_wait_s = 0`` (the default) nothing waits on purpose:
a batch is whatever arrived while the previous predict ran, so a lone request is answered at once and a
busy server batches more as load grows. A positive ``max_wait_s`` holds the first request of a batch up to
that long for company. More than ``max_queue`` requests waiting → ``Overloaded`` (the app answers 503
with ``Retry-After``) instead of a queue, and a latency, that grows without bound.

``predict`` runs in one helper thread so the event loop keeps reading requests while the model works
(XGBoost, LightGBM and onnxruntime release the GIL while they predict). Calling it in the event loop instead
measured worse even on one core (871 vs 1,931 requests/s at 4 connections, docs/benchmarks.md): the loop
stalls for the whole predict and batches form later.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy.typing as npt

    from kubelab.serve._metrics import Metrics
    from kubelab.serve._model import Model

__all__ = ["Batcher", "Overloaded"]


class Overloaded(Exception):
    """The queue is full: the request is refused, to be retried later."""


class Batcher:
    """Queue of pending predictions served by one collector task; see the module docstring."""

    def __init__(self, model: Model, metrics: Metrics, *, max_batch: int = 64, max_wait_s: float = 0.0,
                 max_queue: int = 256) -> None:
        self.model = model
        self.metrics = metrics
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.max_queue = max_queue
        self._pending: deque[tuple[npt.NDArray[Any], asyncio.Future[Any]]] = deque()
        self._rows = 0
        self._wake = asyncio.Event()
        self._closing = False
        self._hurry = False  # stop waiting for company: the server is shutting down
        self._task: asyncio.Task[None] | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="kubelab-predict")

    def start(self) -> None:
        """Start the collector task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="kubelab-batcher")

    def hurry(self) -> None:
        """From now on predict what is queued at once, without waiting for company (shutdown has begun)."""
        self._hurry = True
        self._wake.set()

    async def close(self) -> None:
        """Answer everything queued, then stop."""
        self._closing = self._hurry = True
        self._wake.set()
        if self._task is not None:
            await self._task
        self._pool.shutdown(wait=True)

    async def predict(self, rows: npt.NDArray[Any]) -> Any:
        """Predictions for ``rows`` (a 2-D array of the model's dtype), computed in a shared batch.

        Raises:
            Overloaded: ``max_queue`` requests are waiting already.
        """
        if len(self._pending) >= self.max_queue or self._closing:
            self.metrics.shed.inc()
            raise Overloaded
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((rows, future))
        self._rows += len(rows)
        self.metrics.queue_depth.inc()
        self._wake.set()
        return await future

    async def _gather(self) -> None:
        """Wait for company for the first request, at most ``max_wait_s``, until a batch is full."""
        deadline = time.monotonic() + self.max_wait_s
        while self._rows < self.max_batch and not self._hurry:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), left)
            except TimeoutError:
                return

    def _take(self) -> list[tuple[npt.NDArray[Any], asyncio.Future[Any]]]:
        batch = [self._pending.popleft()]
        rows = len(batch[0][0])
        while self._pending and rows + len(self._pending[0][0]) <= self.max_batch:
            item = self._pending.popleft()
            rows += len(item[0])
            batch.append(item)
        self._rows -= rows
        self.metrics.queue_depth.dec(len(batch))
        return batch

    async def _run(self) -> None:
        import numpy as np

        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if self.max_wait_s > 0 and not self._hurry:
                await self._gather()
            else:
                await asyncio.sleep(0)  # let requests already read in this loop turn join the batch
            batch = self._take()
            live = [(rows, fut) for rows, fut in batch if not fut.done()]
            if not live:
                continue
            x = live[0][0] if len(live) == 1 else np.concatenate([rows for rows, _ in live])
            start = time.perf_counter()
            try:
                out = await loop.run_in_executor(self._pool, self.model.predict, x)
            except Exception as exc:  # noqa: BLE001 - the model's failure goes to each waiting request
                for _, fut in live:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            self.metrics.predict_seconds.observe(time.perf_counter() - start)
            self.metrics.batch_size.observe(len(x))
            at = 0
            for rows, fut in live:
                if not fut.done():
                    fut.set_result(out[at:at + len(rows)])
                at += len(rows)
