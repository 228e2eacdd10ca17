from __future__ import annotations

import math

from kubelab.load._page import load_report
from kubelab.load._run import LoadResult
from kubelab.load._stats import Interval, summarize


def _result() -> LoadResult:
    intervals = []
    for second in range(3):
        iv = Interval(float(second), 1.0, users=4)
        for _ in range(10):
            iv.sent += 1
            iv.record(2000 + 1000 * second, 200, 50)
        intervals.append(iv)
    _, summary = summarize(intervals, 3.0, duration=3.0, open_loop=False)
    return LoadResult(summary, intervals, 0.0, open_loop=False, warnings=["the generator was busy"])


def test_resource_samples_are_charted_beside_latency() -> None:
    """The hook for ``kubelab monitor``: rows of its CSV become CPU, memory and replica charts."""
    samples = [{"time": t, "n_replica": 1 + t // 5, "cpu_req_core": 0.5, "mem_req_KB": None, "cpu_lim_core": None,
                "mem_lim_KB": None, "cpu_use_core": 0.1 * t, "mem_use_KB": 1000.0 + t} for t in (0, 5, 10)]
    page = load_report(_result(), "Load test of http://127.0.0.1:1/", resources=samples, resources_offset=-1.0,
                       extra={"Queue depth": {"depth": ([0, 1, 2], [0, 3, math.nan])}}).html()
    assert "warning: the generator was busy" in page
    for title in ("Latency percentiles per interval", "Request rate", "Concurrent users", "Errors per interval",
                  "Resources", "CPU", "Memory", "Replicas", "Queue depth"):
        assert title in page, title
    assert "cpu_use_core" in page and "cpu_req_core" in page and "mem_use_KB" in page
    assert "mem_req_KB" not in page and "cpu_lim_core" not in page  # empty columns are left out
    assert page.count("<svg") == 8
