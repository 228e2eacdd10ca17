"""Prometheus metrics of the server: requests by status, latency, batch sizes, queue depth, in flight.

With one worker the metrics live in a private registry. With several, every worker process writes to
``PROMETHEUS_MULTIPROC_DIR`` (set by ``kubelab serve`` before the workers start) and ``GET /metrics`` of any
worker answers for all of them, merged: counters and histograms summed, gauges summed over live workers.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Metrics:
    """The server's metrics; children of labelled metrics are cached so a request costs a dict lookup."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        env = os.environ if environ is None else environ
        self.multiprocess_dir = env.get("PROMETHEUS_MULTIPROC_DIR") or None
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self._requests = Counter("kubelab_serve_requests", "HTTP requests answered, by endpoint and status code",
                                 ["endpoint", "code"], registry=reg)
        self._latency = Histogram("kubelab_serve_request_duration_seconds",
                                  "Time from the request's arrival to its response, by endpoint", ["endpoint"],
                                  buckets=_LATENCY_BUCKETS, registry=reg)
        self.batch_size = Histogram("kubelab_serve_batch_size", "Rows per predict call (micro-batches)",
                                    buckets=_BATCH_BUCKETS, registry=reg)
        self.predict_seconds = Histogram("kubelab_serve_predict_duration_seconds", "Time of one predict call",
                                         buckets=_LATENCY_BUCKETS, registry=reg)
        self.shed = Counter("kubelab_serve_shed", "Requests refused with 503 because the queue was full",
                            registry=reg)
        self.queue_depth = Gauge("kubelab_serve_queue_depth", "Requests waiting for a predict call",
                                 multiprocess_mode="livesum", registry=reg)
        self.in_flight = Gauge("kubelab_serve_in_flight", "Requests being handled",
                               multiprocess_mode="livesum", registry=reg)
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}

    def observe(self, endpoint: str, code: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        key = (endpoint, code)
        pair = self._children.get(key)
        if pair is None:
            pair = self._children[key] = (self._requests.labels(endpoint, str(code)), self._latency.labels(endpoint))
        pair[0].inc()
        pair[1].observe(seconds)

    def render(self) -> bytes:
        """The exposition text: this process's metrics, or every worker's merged in multiprocess mode."""
        from prometheus_client import CollectorRegistry, generate_latest

        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(merged)

    def close(self) -> None:
        """Mark this worker dead so its live gauges leave the merged sums."""
        if self.multiprocess_dir is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid(), self.multiprocess_dir)  # type: ignore[no-untyped-call]
