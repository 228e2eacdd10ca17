"""How fast ``kubelab --help`` and ``kubelab tune --help`` answer (goal < 0.3 s), and the whole
``kubelab tune results STUDY --top 10`` on 100,000 trials in PostgreSQL (goal: p95 ≤ 0.2 s), beside a bare
interpreter. Every case runs the installed ``kubelab`` console script in a new process, interleaved, so a load
change hits every case alike.

    python bench/cli_startup.py [--runs 25] [--no-results]

The results case seeds a database of its own on the shared PostgreSQL (127.0.0.1:5432) and drops it after.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack

from _common import ROOT, machine, median, table

KUBELAB = os.path.join(os.path.dirname(sys.executable), "kubelab")


def p95(values: list[float]) -> float:
    return float(statistics.quantiles(values, n=20, method="inclusive")[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=25)
    ap.add_argument("--no-results", action="store_true", help="skip the PostgreSQL case")
    args = ap.parse_args()
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "kubelab --help": [KUBELAB, "--help"],
        "kubelab tune --help": [KUBELAB, "tune", "--help"],
    }
    with ExitStack() as stack:
        if not args.no_results:
            sys.path.insert(0, ROOT)
            sys.path.insert(0, os.path.join(ROOT, "src"))
            from tests.servers import postgres_database
            from tune_scale import seed_100k

            store = stack.enter_context(postgres_database())
            study = seed_100k(store)
            # the floor under the results command: the imports it cannot do without (click, the driver)
            cases["python -c 'import click, psycopg'"] = [sys.executable, "-c", "import click, psycopg"]
            cases[f"kubelab tune results {study} --top 10 (100,000 trials, PostgreSQL)"] = [
                KUBELAB, "tune", "results", study, "--top", "10", "--store", store]
        times: dict[str, list[float]] = {k: [] for k in cases}
        cpu: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(args.runs):
            for name, cmd in cases.items():
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                out = subprocess.run(cmd, check=False, capture_output=True, cwd=ROOT)
                times[name].append(time.perf_counter() - start)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
                if out.returncode != 0:
                    raise SystemExit(f"{' '.join(cmd)} failed: {out.stderr.decode()[-2000:]}")
    rows = [{"command": k, "median s": f"{median(v):.3f}", "p95 s": f"{p95(v):.3f}", "min s": f"{min(v):.3f}",
             "CPU s (median)": f"{median(cpu[k]):.3f}"} for k, v in times.items()]
    print(f"# CLI start-up, {args.runs} runs each ({machine()})\n")
    print(table(rows, ["command", "median s", "p95 s", "min s", "CPU s (median)"]))
    print("\nWall times grow with the machine's load; CPU time (user + system of the process) much less so.")


if __name__ == "__main__":
    main()
