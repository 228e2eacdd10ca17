"""Parallel efficiency with 2 workers on 50 ms trials (time.sleep), kubelab beside joblib (loky).
Efficiency = ideal wall time (trials × 50 ms / 2) ÷ measured wall time, worker start-up included.

    python bench/tune_efficiency.py [--runs 3] [--trials 200]
"""

from __future__ import annotations

import argparse

from _common import in_fresh_python, machine, median, table

KUBELAB = """
import json, tempfile, time, pathlib
import kubelab.tune
d = pathlib.Path(tempfile.mkdtemp())
(d / "fns.py").write_text("import time\\ndef nap(params, dataset):\\n    time.sleep(0.05)\\n    return 0.0\\n")
(d / "s.yaml").write_text("study: e\\ndataset: {{builtin: diabetes}}\\nsearch: {{method: grid}}\\n"
                          "models: [{{function: fns:nap, space: {{x: {{range: [1, {n}]}}}}}}]\\n")
t = time.perf_counter()
kubelab.tune.run(d / "s.yaml", store=f"sqlite:///{{d}}/k.db", workers=2)
print(json.dumps(time.perf_counter() - t))
"""

JOBLIB = """
import json, time
from joblib import Parallel, delayed
def nap(x):
    time.sleep(0.05)
    return 0.0
t = time.perf_counter()
Parallel(n_jobs=2)(delayed(nap)(i) for i in range({n}))
print(json.dumps(time.perf_counter() - t))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--trials", type=int, default=200)
    args = ap.parse_args()
    ideal = args.trials * 0.05 / 2
    res: dict[str, list[float]] = {"kubelab": [], "joblib loky": []}
    for _ in range(args.runs):
        res["kubelab"].append(ideal / in_fresh_python(KUBELAB.format(n=args.trials)))
        res["joblib loky"].append(ideal / in_fresh_python(JOBLIB.format(n=args.trials)))
    rows = [{"tool": k, "median efficiency": f"{median(v):.3f}", "runs": ", ".join(f"{x:.3f}" for x in v)}
            for k, v in res.items()]
    print(f"# efficiency, {args.trials} × 50 ms trials on 2 workers ({machine()})\n")
    print(table(rows, ["tool", "median efficiency", "runs"]))


if __name__ == "__main__":
    main()
