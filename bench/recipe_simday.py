"""How long one simulated day takes: open-loop sine load (mean 30 req/s, 2.6 million requests), the course's
recipe with its HPA, round-robin; median of several runs, wall and CPU time.

``--cfs``: a profile as measured under a CPU quota instead (single-threaded, 20 ms of CPU a request, with its
unthrottled service times and the 100 ms CFS period), and a recipe whose 500m limit throttles it, so every
replica runs the per-period CFS model (``_cfs.cfs_depart``) rather than the plain FCFS queues.

    python bench/recipe_simday.py [--runs 5] [--mean-rate 30] [--cfs]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine  # noqa: E402

from kubelab.recipe import Recipe, Schedule, SimConfig, simulate, synthetic_profile  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mean-rate", type=float, default=30.0)
    parser.add_argument("--cfs", action="store_true", help="a quota-measured profile (the CFS model)")
    args = parser.parse_args()
    t = np.arange(86400)
    rate = args.mean_rate * (1 + 2 / 3 * np.sin(2 * np.pi * t / 86400 * 6))
    schedule = Schedule(rate, np.zeros(t.size, dtype=np.int64), np.zeros(t.size))
    plan = Recipe(1.0, 2.0, 2048.0, 4096.0, 1, 8, 40)
    profile = synthetic_profile()
    if args.cfs:
        single = synthetic_profile(serial_s=0.020, parallel_cpu_s=0.0, max_threads=1)
        free = next(p for p in single.points if p.cpu >= 1.0).service_quantiles
        profile = replace(single, free_quantiles=free, cfs_period=0.1)
        plan = Recipe(0.5, 0.5, 2048.0, 2048.0, 1, 8, 60)
        assert profile.cfs(0.5) is not None, "the profile must run the CFS model at 500m"
    wall, cpu = [], []
    requests = 0
    for _ in range(args.runs):
        w, c = time.perf_counter(), time.process_time()
        result = simulate(plan, profile, schedule, SimConfig(slo_p99=0.25))
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
        requests = int(result.requests.sum())
    print(f"# {machine()}")
    label = "one simulated day (CFS model)" if args.cfs else "one simulated day"
    print(
        f"{label}, {requests:,} requests, {args.runs} runs: median wall {statistics.median(wall):.2f} s "
        f"(min {min(wall):.2f}), median CPU {statistics.median(cpu):.2f} s (min {min(cpu):.2f})"
    )


if __name__ == "__main__":
    main()
