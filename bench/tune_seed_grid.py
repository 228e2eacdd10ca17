"""The seed's 26,160-point grid: time to create and enqueue it, and `kubelab tune results --top 10` on it
once every trial has a result (results written straight to the store; no model is trained).

    python bench/tune_seed_grid.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

from _common import ROOT, machine, median, table


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(ROOT, "src"))
    import kubelab.tune
    from kubelab.store import TrialResult, get_store

    spec = kubelab.tune.load_spec(os.path.join(ROOT, "examples", "seed-003-grid.yaml"))
    enqueue, top_cli, top_api = [], [], []
    for _ in range(args.runs):
        d = tempfile.mkdtemp()
        url = f"sqlite:///{d}/k.db"
        t = time.perf_counter()
        kubelab.tune.run(spec, store=url, wait=False)
        enqueue.append(time.perf_counter() - t)
    store = get_store(url)
    study = store.get_study("seed-003-grid")
    assert study is not None and store.counts(study.id)["pending"] == 26160
    rng = random.Random(0)
    for n in range(26160):  # every trial gets a result, as after a finished study
        store.finish_trial(study.id, TrialResult(n, "done", -rng.uniform(20, 60), 1.0), "bench")
    env = {**os.environ, "KUBELAB_STORE": url}
    for _ in range(args.runs * 2):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "kubelab", "tune", "results", "seed-003-grid", "--top", "10"],
                             env=env, capture_output=True, text=True, check=True)
        top_cli.append(time.perf_counter() - t)
        assert len(out.stdout.splitlines()) == 11
        t = time.perf_counter()
        kubelab.tune.results("seed-003-grid", store, top=10)
        top_api.append(time.perf_counter() - t)
    rows = [{"measure": "create + enqueue 26,160 trials (goal < 2 s)", "median": f"{median(enqueue):.3f} s",
             "runs": ", ".join(f"{x:.3f}" for x in enqueue)},
            {"measure": "`kubelab tune results --top 10`, whole command (goal < 0.2 s)",
             "median": f"{median(top_cli):.3f} s", "runs": ", ".join(f"{x:.3f}" for x in top_cli)},
            {"measure": "the same query through the Python API", "median": f"{median(top_api) * 1e3:.2f} ms",
             "runs": ", ".join(f"{x * 1e3:.2f}" for x in top_api)}]
    print(f"# seed 003 grid ({machine()})\n")
    print(table(rows, ["measure", "median", "runs"]))


if __name__ == "__main__":
    main()
