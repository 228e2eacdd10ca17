"""`kubelab recipe` end to end on a real model: train, save, then time the whole recommendation.

Trains a 100-tree XGBoost regressor on kubelab's built-in turbofan data (synthetic C-MAPSS FD001, 19
features), saves it as XGBoost JSON with the metadata `kubelab tune export` writes (feature names and a
sample row, which `kubelab serve` answers `GET /test` with), then runs, in a fresh process, and times

    kubelab recipe MODEL --slo-p99-ms 100 --load course --out DIR

profiling included (`kubelab serve MODEL` started under each CPU allowance and measured with kubelab's
load generator, then the search). The goal is the whole recommendation in at most 5 minutes.

    python bench/recipe_e2e.py [--out bench/out/recipe-e2e] [--slo-ms 100] [--load course] [--runs 1]

Prints the wall time of each run, what the profile measured, and the recipe found.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, machine, median  # noqa: E402


def train(model_path: Path) -> None:
    """Fit 100 trees on the turbofan data and save model + metadata as `kubelab tune export` does."""
    import xgboost as xgb

    from kubelab.datasets import Dataset, DatasetSpec
    from kubelab.serve._metadata import Metadata, write_metadata

    data = Dataset(DatasetSpec(builtin="turbofan"))
    model = xgb.XGBRegressor(n_estimators=100, max_depth=6, learning_rate=0.1, tree_method="hist", n_jobs=2)
    model.fit(data.X, data.y)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    model.save_model(str(model_path))
    meta = Metadata(
        feature_names=tuple(data.feature_names),
        sample=tuple(float(v) for v in data.X[0]),
        dataset="builtin:turbofan",
        model="xgboost.XGBRegressor",
        params={"n_estimators": 100, "max_depth": 6, "learning_rate": 0.1},
    )
    write_metadata(model_path, meta)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "recipe-e2e"))
    parser.add_argument("--slo-ms", type=float, default=100.0)
    parser.add_argument("--load", default="course")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    out = Path(args.out)
    model = out / "turbofan-xgb100.json"
    started = time.perf_counter()
    train(model)
    print(f"trained and saved {model} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    seconds = []
    for i in range(args.runs):
        target = out / f"run{i}"
        command = [
            sys.executable, "-m", "kubelab", "recipe", str(model), "--slo-p99-ms", f"{args.slo_ms:g}",
            "--load", args.load, "--out", str(target), "--format", "json",
        ]  # fmt: skip
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        seconds.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"run {i} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        found = json.loads(done.stdout)
        profile = (target / "profile.yaml").read_text(encoding="utf-8")
        print(
            f"run {i}: {seconds[-1]:.1f} s wall (load {load_before:.2f} before); kubelab's own count "
            f"{found['seconds']:.1f} s (profiling, search, files)"
        )
        print("  " + " ".join(command[1:]))
        print(f"  recipe: {json.dumps(found['recipe'])}")
        print(f"  best: {found['candidates'][0]}")
        (target / "stderr.txt").write_text(done.stderr, encoding="utf-8")
        print("  profile.yaml:\n" + "\n".join("    " + line for line in profile.splitlines()[:60]))
    print(f"# {machine()}: median {median(seconds):.1f} s over {len(seconds)} run(s); goal <= 300 s")


if __name__ == "__main__":
    main()
