"""A real XGBoost grid (48 points, 5-fold CV on turbofan) with kubelab (2 workers) and with scikit-learn's
GridSearchCV(n_jobs=2, refit=False) on the same folds and the same estimator settings, in one run.
Reports wall times, their ratio and whether both found the same best parameters. Each tool runs in a fresh
interpreter with its modules (and XGBoost's, scikit-learn's) imported before the clock starts; loading the
data set, starting the worker processes and every fit are timed, for both.

``--model ridge``: 400 small trials instead (Ridge over 400 alphas, 5-fold CV on the diabetes data, about a
millisecond a fit), where kubelab's cost per fold (one message to the trial process, ``tune/_folds.py``)
shows, against GridSearchCV's batched dispatch.

    python bench/tune_xgb_grid.py [--runs 3] [--units 60] [--model xgboost|ridge]
"""

from __future__ import annotations

import argparse

from _common import in_fresh_python, machine, median, table

MODELS = {  # estimator, fixed params, grid, kubelab's dataset spec, its DatasetSpec arguments
    "xgboost": ("xgboost.XGBRegressor", {"n_jobs": 1, "tree_method": "hist"},
                {"max_depth": [2, 4, 6, 8], "n_estimators": [50, 100, 150, 200], "learning_rate": [0.05, 0.1, 0.2]},
                "{{builtin: turbofan, units: {units}}}", 'builtin="turbofan", options={{"units": {units}}}'),
    "ridge": ("sklearn.linear_model.Ridge", {}, {"alpha": [round(0.001 * 1.03 ** i, 9) for i in range(400)]},
              "{{builtin: diabetes}}", 'builtin="diabetes"'),
}

KUBELAB = """
import json, tempfile, time, pathlib
import kubelab.tune
import kubelab.tune._run, kubelab.tune._spec, sklearn.model_selection, {module}  # modules before the clock
d = pathlib.Path(tempfile.mkdtemp())
(d / "s.yaml").write_text('''study: xgb
dataset: {dataset}
cv: 5
metric: neg_root_mean_squared_error
search: {{method: grid}}
models:
  - estimator: {estimator}
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
from {module} import {cls}
from kubelab.datasets import Dataset, DatasetSpec
t = time.perf_counter()
ds = Dataset(DatasetSpec({dataset_args}))  # kubelab's run loads it too
X, y = ds.X, ds.y
gs = GridSearchCV({cls}(**{fixed}), {grid}, cv=KFold(5), scoring="neg_root_mean_squared_error",
                  n_jobs=2, refit=False)
gs.fit(X, y)
print(json.dumps([time.perf_counter() - t, gs.best_params_, gs.best_score_, len(gs.cv_results_["params"])]))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--units", type=int, default=60, help="synthetic engines (100 ≈ FD001's 20,631 rows)")
    ap.add_argument("--model", choices=sorted(MODELS), default="xgboost")
    args = ap.parse_args()
    estimator, fixed, grid, dataset, dataset_args = MODELS[args.model]
    module, cls = estimator.rsplit(".", 1)
    points = 1
    for values in grid.values():
        points *= len(values)
    fmt = {"units": args.units, "fixed": repr(fixed), "grid": repr(grid), "module": module, "cls": cls,
           "estimator": estimator, "dataset": dataset.format(units=args.units),
           "dataset_args": dataset_args.format(units=args.units)}
    k_times, s_times, same = [], [], []
    for _ in range(args.runs):
        kt, kp, kv, kn = in_fresh_python(KUBELAB.format(**{**fmt, "fixed": str(fixed), "grid": str(grid)}))
        st, sp, sv, sn = in_fresh_python(SKLEARN.format(**fmt))
        assert kn == sn == points
        k_times.append(kt)
        s_times.append(st)
        same.append(kp == sp and abs(kv - sv) < 1e-9)
    rows = [{"tool": "kubelab (2 workers)", "median wall s": f"{median(k_times):.1f}",
             "runs": ", ".join(f"{x:.1f}" for x in k_times)},
            {"tool": "GridSearchCV(n_jobs=2)", "median wall s": f"{median(s_times):.1f}",
             "runs": ", ".join(f"{x:.1f}" for x in s_times)}]
    data = f"turbofan {args.units} units" if args.model == "xgboost" else "diabetes"
    print(f"# {cls} grid, {points} points × 5 folds, {data} ({machine()})\n")
    print(table(rows, ["tool", "median wall s", "runs"]))
    print(f"kubelab / GridSearchCV wall-time ratio: {median(k_times) / median(s_times):.3f}")
    print(f"identical best parameters and score in every run: {all(same)}")


if __name__ == "__main__":
    main()
