"""Dispatch overhead of a search: 2,000 no-op trials with 2 workers, side by side with joblib (loky) and
Optuna on SQLite. Each measurement runs in a fresh interpreter; each tool's modules are imported before the
clock starts (joblib's and Optuna's at their import; kubelab's exports are lazy, so its run path is imported
explicitly), and everything after — worker processes' start-up included — is timed, for all three.

    python bench/tune_dispatch.py [--runs 5] [--trials 2000]
"""

from __future__ import annotations

import argparse

from _common import in_fresh_python, machine, median, table

KUBELAB = """
import json, tempfile, time, pathlib
import kubelab.tune
import kubelab.tune._run, kubelab.tune._spec  # the run path's modules (kubelab's exports are lazy)
d = pathlib.Path(tempfile.mkdtemp())
(d / "fns.py").write_text("def noop(params, dataset):\\n    return 0.0\\n")
(d / "s.yaml").write_text("study: b\\ndataset: {{builtin: diabetes}}\\nsearch: {{method: grid}}\\n"
                          "models: [{{function: fns:noop, space: {{x: {{range: [1, {n}]}}}}}}]\\n")
t = time.perf_counter()
r = kubelab.tune.run(d / "s.yaml", store=f"sqlite:///{{d}}/k.db", workers=2)
assert r.counts["done"] == {n}
print(json.dumps(time.perf_counter() - t))
"""

JOBLIB = """
import json, time
from joblib import Parallel, delayed
def noop(x):
    return 0.0
t = time.perf_counter()
out = Parallel(n_jobs=2, backend="loky", batch_size={batch})(delayed(noop)(i) for i in range({n}))
assert len(out) == {n}
print(json.dumps(time.perf_counter() - t))
"""

OPTUNA = """
import json, tempfile, time, multiprocessing as mp
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
url = f"sqlite:///{{tempfile.mkdtemp()}}/o.db"
optuna.create_study(study_name="b", storage=url)
def work(n):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = optuna.load_study(study_name="b", storage=url)
    s.optimize(lambda t: t.suggest_int("x", 1, 10**6) * 0.0, n_trials=n)
if __name__ == "__main__":
    t = time.perf_counter()
    ps = [mp.Process(target=work, args=({n} // 2,)) for _ in range(2)]
    [p.start() for p in ps]; [p.join() for p in ps]
    print(json.dumps(time.perf_counter() - t))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--optuna-trials", type=int, default=400, help="Optuna is slow: fewer trials")
    args = ap.parse_args()
    n = args.trials
    results: dict[str, list[float]] = {"kubelab (SQLite, 2 workers)": [], "joblib loky (n_jobs=2)": [],
                                       "joblib loky (n_jobs=2, batch_size=1)": [],
                                       "optuna (SQLite, 2 processes)": []}
    for _ in range(args.runs):  # interleaved, so load changes hit every tool alike
        results["kubelab (SQLite, 2 workers)"].append(in_fresh_python(KUBELAB.format(n=n)) / n * 1e3)
        results["joblib loky (n_jobs=2)"].append(in_fresh_python(JOBLIB.format(n=n, batch="'auto'")) / n * 1e3)
        # one call per message, as kubelab sends one trial per message (joblib batches many by default)
        results["joblib loky (n_jobs=2, batch_size=1)"].append(in_fresh_python(JOBLIB.format(n=n, batch=1)) / n * 1e3)
        no = args.optuna_trials
        code = "import sys; sys.argv=['x']\n" + OPTUNA.format(n=no).replace('if __name__ == "__main__":', "if True:")
        results["optuna (SQLite, 2 processes)"].append(in_fresh_python(code) / no * 1e3)
    base = median(results["kubelab (SQLite, 2 workers)"])
    rows = [{"tool": k, "median ms/trial": f"{median(v):.3f}", "runs": ", ".join(f"{x:.2f}" for x in v),
             "ratio to kubelab": f"{median(v) / base:.2f}×"} for k, v in results.items()]
    print(f"# dispatch overhead, {n} no-op trials ({machine()})\n")
    print(table(rows, ["tool", "median ms/trial", "ratio to kubelab", "runs"]))


if __name__ == "__main__":
    main()
