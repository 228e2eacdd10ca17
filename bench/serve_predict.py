"""Benchmark of one predict call by batch size: XGBoost's ``inplace_predict`` vs onnxruntime on the converted model.

The same 100-tree (depth 6), 20-feature model as bench/serve_http.py, pinned to one core, one thread; the
onnxruntime path is the one ``kubelab serve`` uses (``kubelab/serve/_xgb_onnx.py``: one session, one thread,
sequential execution). Interleaved, median of ``--runs`` rounds of 300 calls per batch size. This is what sets
``SMALL_BATCH`` there.

    taskset -c 0 python bench/serve_predict.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine, median, table  # noqa: E402
from serve_http import build_model  # noqa: E402

SIZES = (1, 8, 32, 64, 128, 256)


def candidates() -> dict[str, Callable[[Any], Any]]:
    """The predict functions compared, by name: XGBoost's and kubelab's ONNX path for the same booster."""
    import xgboost as xgb

    from kubelab.serve._xgb_onnx import onnx_predictor

    with tempfile.TemporaryDirectory() as tmp:
        path, _ = build_model(Path(tmp))
        booster = xgb.Booster(model_file=str(path))
    booster.set_param({"nthread": 1})
    onnx, why_not = onnx_predictor(booster)
    assert onnx is not None, why_not
    return {"xgboost": booster.inplace_predict, "onnxruntime": onnx}


def measure(fns: dict[str, Callable[[Any], Any]], runs: int) -> list[dict[str, Any]]:
    """Median µs per call of each function by batch size, interleaved; ratios against the first."""
    import numpy as np

    rng = np.random.default_rng(0)
    times: dict[tuple[int, str], list[float]] = {}
    for _ in range(runs):
        for n in SIZES:
            x = np.ascontiguousarray(rng.normal(size=(n, 20)).astype(np.float32))
            for name, fn in fns.items():
                for _ in range(20):
                    fn(x)
                start = time.perf_counter()
                for _ in range(300):
                    fn(x)
                times.setdefault((n, name), []).append((time.perf_counter() - start) / 300 * 1e6)
    first = next(iter(fns))
    rows = []
    for n in SIZES:
        row: dict[str, Any] = {"rows": n}
        for name in fns:
            row[f"{name}_us"] = round(median(times[n, name]))
            if name != first:
                row[f"{first}/{name}"] = f"{median(times[n, first]) / median(times[n, name]):.1f}x"
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows = measure(candidates(), args.runs)
    print(machine())
    print(table(rows, list(rows[0])))


if __name__ == "__main__":
    main()
