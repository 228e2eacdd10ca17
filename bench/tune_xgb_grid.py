"""A real XGBoost grid (48 points, 5-fold CV on turbofan) with kubelab (2 workers) and with scikit-learn's
GridSearchCV(n_jobs=2, refit=False) on the same folds and the same estimator settings, in one run.
Reports wall times, their ratio and whether both found the same best parameters. Each tool runs in a fresh
interpreter with its modules (and XGBoost's, scikit-learn's) imported before the clock starts; loading the
data set, starting the worker processes and every fit are timed, for both.

    python bench/tune_xgb_grid.py [--runs 3] [--units 60]
"""

from __future__ import annotations

import argparse

from _common import in_fresh_python, machine, median, table

GRID = {"max_depth": [2, 4, 6, 8], "n_estimators": [50, 100, 150, 200], "learning_rate": [0.05, 0.1, 0.2]}
FIXED = {"n_jobs": 1, "tree_method": "hist"}

KUBELAB = """
import json, tempfile, time, pathlib
import kubelab.tune
import kubelab.tune._run, kubelab.tune._spec, sklearn.model_selection, xgboost  # modules before the clock
d = pathlib.Path(tempfile.mkdtemp())
(d / "s.yaml").write_text('''study: xgb
dataset: {{builtin: turbofan, units: {units}}}
cv: 5
metric: neg_root_mean_squared_error
search: {{method: grid}}
models:
  - estimator: xgboost.XGBRegressor
    fixed: {fixed}
    space: {grid}
''')
t = time.perf_counter()
r = kubelab.tune.run(d / "s.yaml", store=f"sqlite:///{{d}}/k.db", workers=2)
print(json.dumps([time.perf_counter() - t, r.best.params, r.best.value, r.counts["done"]]))
"""

SKLEARN = """
import json, time
from sklearn.model_selection import GridSearchCV, KFold
from xgboost import XGBRegressor
from kubelab.datasets import Dataset, DatasetSpec
t = time.perf_counter()
ds = Dataset(DatasetSpec(builtin="turbofan", options={{"units": {units}}}))  # kubelab's run loads it too
X, y = ds.X, ds.y
gs = GridSearchCV(XGBRegressor(**{fixed}), {grid}, cv=KFold(5), scoring="neg_root_mean_squared_error",
                  n_jobs=2, refit=False)
gs.fit(X, y)
print(json.dumps([time.perf_counter() - t, gs.best_params_, gs.best_score_, len(gs.cv_results_["params"])]))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--units", type=int, default=60, help="synthetic engines (100 ≈ FD001's 20,631 rows)")
    args = ap.parse_args()
    fmt = {"units": args.units, "fixed": repr(FIXED), "grid": repr(GRID)}
    k_times, s_times, same = [], [], []
    for _ in range(args.runs):
        kt, kp, kv, kn = in_fresh_python(KUBELAB.format(**{**fmt, "fixed": str(FIXED), "grid": str(GRID)}))
        st, sp, sv, sn = in_fresh_python(SKLEARN.format(**fmt))
        assert kn == sn == 48
        k_times.append(kt)
        s_times.append(st)
        same.append(kp == sp and abs(kv - sv) < 1e-9)
    rows = [{"tool": "kubelab (2 workers)", "median wall s": f"{median(k_times):.1f}",
             "runs": ", ".join(f"{x:.1f}" for x in k_times)},
            {"tool": "GridSearchCV(n_jobs=2)", "median wall s": f"{median(s_times):.1f}",
             "runs": ", ".join(f"{x:.1f}" for x in s_times)}]
    print(f"# XGBoost grid, 48 points × 5 folds, turbofan {args.units} units ({machine()})\n")
    print(table(rows, ["tool", "median wall s", "runs"]))
    print(f"kubelab / GridSearchCV wall-time ratio: {median(k_times) / median(s_times):.3f}")
    print(f"identical best parameters and score in every run: {all(same)}")


if __name__ == "__main__":
    main()
