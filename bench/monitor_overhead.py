"""The monitor's own cost: CPU used by the sampler at a 1 s interval, beside `top -b` doing the same job.

Target: a process tree like a pre-forking server (one parent, --workers children, all idle). Each tool
samples the whole tree once a second for --duration seconds in its own process; we read that process's
CPU time (user + system, from wait4) and divide by the wall time. Runs interleave the tools so load
changes hit both alike; medians are reported. Also: the library's CPU per sample, in process.

    python bench/monitor_overhead.py --runs 3 --duration 20 --workers 8
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine, median, table  # noqa: E402

TREE = """
import os, time
for _ in range({n}):
    if os.fork() == 0:
        time.sleep(3600); os._exit(0)
print("ready", flush=True)
time.sleep(3600)
"""


def cpu_of(argv: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of running ``argv`` to its end."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_utime + usage.ru_stime, time.monotonic() - start


def per_sample_ms(pid: int, samples: int) -> float:
    from kubelab.monitor import LocalTarget

    target = LocalTarget(pids=[pid])
    target.prime()
    start = time.process_time()
    for _ in range(samples):
        target.read()
    return (time.process_time() - start) / samples * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    tree = subprocess.Popen([sys.executable, "-c", TREE.format(n=args.workers)], stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    assert tree.stdout is not None and tree.stdout.readline().strip() == "ready"
    pids = [tree.pid, *(int(p) for p in subprocess.run(["pgrep", "-P", str(tree.pid)], capture_output=True,
                                                        text=True).stdout.split())]
    kubelab = [sys.executable, "-m", "kubelab", "monitor", "--pid", str(tree.pid), "--interval", "1s",
               "--duration", f"{args.duration}s", "--out", os.devnull]
    top = ["top", "-b", "-d", "1", "-n", str(args.duration + 1), *(a for p in pids for a in ("-p", str(p)))]
    results: dict[str, list[float]] = {"kubelab monitor": [], "top -b": []}
    loads = []
    try:
        for _ in range(args.runs):
            for name, argv in (("kubelab monitor", kubelab), ("top -b", top)):
                loads.append(os.getloadavg()[0])
                cpu, wall = cpu_of(argv)
                results[name].append(100 * cpu / wall)
        per_sample = median([per_sample_ms(tree.pid, 200) for _ in range(3)])
    finally:
        os.killpg(tree.pid, signal.SIGKILL)
        tree.wait()
    rows = [{"tool": name, "CPU % of one core (median)": f"{median(v):.2f}",
             "runs": ", ".join(f"{x:.2f}" for x in v)} for name, v in results.items()]
    print(f"{machine()}; load during runs {min(loads):.1f}–{max(loads):.1f}; tree of 1 + {args.workers} processes; "
          f"{args.duration} s at 1 s")
    print(table(rows, ["tool", "CPU % of one core (median)", "runs"]))
    ratio = median(results["kubelab monitor"]) / median(results["top -b"])
    print(f"ratio kubelab/top: {ratio:.2f}; library CPU per sample of the tree: {per_sample:.2f} ms")


if __name__ == "__main__":
    main()
