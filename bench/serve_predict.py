"""Benchmark of one predict call by batch size: XGBoost's ``inplace_predict`` vs the numpy evaluator.

The same 100-tree (depth 6), 20-feature model as bench/serve_http.py, pinned to one core, one thread.
Interleaved, median of ``--runs`` rounds of 300 calls per batch size. This is what sets ``SMALL_BATCH`` in
``kubelab/serve/_trees.py``.

    taskset -c 0 python bench/serve_predict.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine, median, table  # noqa: E402
from serve_http import build_model  # noqa: E402

SIZES = (1, 4, 16, 32, 64, 256)


def main() -> None:
    import numpy as np
    import xgboost as xgb

    from kubelab.serve._trees import TreeEnsemble

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path, _ = build_model(Path(tmp))
        booster = xgb.Booster(model_file=str(path))
    booster.set_param({"nthread": 1})
    ensemble = TreeEnsemble.from_booster(booster)
    assert ensemble is not None
    rng = np.random.default_rng(0)
    times: dict[tuple[int, str], list[float]] = {}
    for _ in range(args.runs):
        for n in SIZES:
            x = np.ascontiguousarray(rng.normal(size=(n, 20)).astype(np.float32))
            for name, fn in (("xgboost", booster.inplace_predict), ("numpy", ensemble.predict)):
                for _ in range(20):
                    fn(x)
                start = time.perf_counter()
                for _ in range(300):
                    fn(x)
                times.setdefault((n, name), []).append((time.perf_counter() - start) / 300 * 1e6)
    rows = [{"rows": n, "xgboost_us": round(median(times[n, "xgboost"])), "numpy_us": round(median(times[n, "numpy"])),
             "speed-up": f"{median(times[n, 'xgboost']) / median(times[n, 'numpy']):.1f}x"} for n in SIZES]
    print(machine())
    print(table(rows, ["rows", "xgboost_us", "numpy_us", "speed-up"]))


if __name__ == "__main__":
    main()
