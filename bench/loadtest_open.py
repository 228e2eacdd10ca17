"""The highest open-loop rate one generator core holds: achieved within 1 % of the target.

    python bench/loadtest_open.py [--runs 3] [--seconds 5] [--rates 2000,4000,8000,12000,16000,20000]

The server is tests/load/http_server.py --trivial pinned to CPU 0; ``kubelab loadtest URL --rate R`` runs
pinned to CPU 1 for each rate, ``--runs`` times, in interleaved order. For each rate it prints the median
achieved rate, p99 latency (from the intended send time) and how many runs warned that the generator was the
bottleneck. A closed loop's throughput (bench/loadtest_rate.py) is an upper bound; this is what the open
loop can promise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, machine, median, table  # noqa: E402


def _run(url: str, rate: float, seconds: float) -> dict[str, object]:
    out = subprocess.run(["taskset", "-c", "1", sys.executable, "-m", "kubelab", "loadtest", url, "--rate",
                          str(rate), "-t", f"{seconds}s", "--format", "json"], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    data: dict[str, object] = json.loads(out.stdout)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rates", default="2000,4000,8000,12000,16000,20000")
    opts = parser.parse_args()
    rates = [float(r) for r in opts.rates.split(",")]
    server = subprocess.Popen(["taskset", "-c", "0", sys.executable, str(Path(ROOT) / "tests/load/http_server.py"),
                               "--trivial"], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    url = f"http://127.0.0.1:{int(server.stdout.readline())}/"
    results: dict[float, list[dict[str, object]]] = {r: [] for r in rates}
    loads = []
    try:
        for run in range(opts.runs):
            for rate in rates:
                results[rate].append(_run(url, rate, opts.seconds))
                loads.append(os.getloadavg()[0])
            print(f"run {run + 1}/{opts.runs} done", file=sys.stderr)
    finally:
        server.terminate()
    rows = []
    for rate, runs in results.items():
        achieved = median([float(str(r["achieved_rate"])) for r in runs])
        p99 = median([float(str(r["latency_ms"]["p99"])) for r in runs])  # type: ignore[index]
        warned = sum(1 for r in runs if r["warnings"])
        rows.append({"target req/s": f"{rate:,.0f}", "median achieved": f"{achieved:,.0f}",
                     "achieved/target": f"{achieved / rate:.3f}", "median p99 ms": f"{p99:.2f}",
                     "runs warning": f"{warned}/{len(runs)}"})
    print(f"{machine()}; load average during the runs {min(loads):.1f}-{max(loads):.1f}; "
          f"{opts.seconds:g} s per run, {opts.runs} runs per rate\n")
    print(table(rows, ["target req/s", "median achieved", "achieved/target", "median p99 ms", "runs warning"]))


if __name__ == "__main__":
    main()
