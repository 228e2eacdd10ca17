"""How fast ``kubelab --help`` and ``kubelab tune --help`` answer (goal < 0.3 s), beside a bare interpreter.

    python bench/cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from _common import ROOT, machine, median, table

CASES = {
    "python -c pass": "pass",
    "kubelab --help": "from kubelab.cli import main; main(['--help'])",
    "kubelab tune --help": "from kubelab.cli import main; main(['tune', '--help'])",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    times: dict[str, list[float]] = {k: [] for k in CASES}
    for _ in range(args.runs):  # interleaved, so load changes hit every case alike
        for name, code in CASES.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, cwd=ROOT)
            times[name].append(time.perf_counter() - start)
    rows = [{"command": k, "median s": f"{median(v):.3f}", "min s": f"{min(v):.3f}"} for k, v in times.items()]
    print(f"# CLI start-up, {args.runs} runs each ({machine()})\n")
    print(table(rows, ["command", "median s", "min s"]))


if __name__ == "__main__":
    main()
