"""kubelab recipe against VPA-style, Kubecost-style and the course's recipe, on four load profiles.

For each profile: run the course's example recipe (requests 1 CPU / 2Gi, limits 2 CPU / 4Gi, 1-5
replicas, target 40 %) and read its per-pod CPU use per minute, as a VPA or Kubecost would observe it;
derive
  * VPA-style: CPU request = p90 of per-pod usage x 1.15 (the VPA recommender's target percentile and
    safety margin), limit keeps the course's 2:1 ratio, memory = footprint x 1.15, HPA target 80 %;
  * Kubecost-style: CPU request = p95 of per-pod usage / 0.7, limit 2:1, memory = footprint / 0.7,
    the course's HPA settings (40 %);
both with min 1 replica and the same maximum kubelab gives itself (so no baseline is capped by it). Then
kubelab's search (feasible on seeds 0-2) picks its recipe, and all four are simulated on five seeds the
search never saw (10-14): reserved CPU core-hours and the share of minutes whose p99 missed the
objective, mean and worst over those seeds.

    python bench/recipe_baselines.py [--slo-ms 250] [--profiles course,step,spike,sine]

The server profile is kubelab's synthetic one (labelled as such): `kubelab serve` is not merged yet.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine, table  # noqa: E402

from kubelab.load import parse_profile  # noqa: E402
from kubelab.recipe import DEFAULT_PRICES, Recipe, Schedule, SimConfig, search, simulate, synthetic_profile  # noqa: E402
from kubelab.recipe._search import max_replicas_for, memory_for  # noqa: E402

PROFILES = {
    "course": ("course", None),
    "step": ("step:3,25,8@10m", None),
    "spike": ("spike:base=5,peak=40,at=20m,width=5m", 3600.0),
    "sine": ("sine:mean=15,amp=12,period=1h", 7200.0),
}
COURSE = Recipe(1.0, 2.0, 2048.0, 4096.0, 1, 5, 40)
HELD_OUT = (10, 11, 12, 13, 14)  # seeds the search never saw


def _cores(x: float) -> float:
    return max(0.05, round(x, 3))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slo-ms", type=float, default=250.0)
    parser.add_argument("--profiles", default=",".join(PROFILES))
    args = parser.parse_args()
    server = synthetic_profile()
    config = SimConfig(slo_p99=args.slo_ms / 1000)
    rows = []
    for name in args.profiles.split(","):
        text, duration = PROFILES[name]
        schedule = Schedule.from_profile(parse_profile(text, duration=duration))
        observed = simulate(COURSE, server, schedule, config)
        per_pod = observed.cpu_used / np.maximum(observed.pods, 1)
        vpa_req = _cores(np.percentile(per_pod, 90) * 1.15)
        kc_req = _cores(np.percentile(per_pod, 95) / 0.7)
        vpa = Recipe(
            vpa_req,
            2 * vpa_req,
            memory_for(server, 1.15),
            memory_for(server, 1.15),
            1,
            max_replicas_for(server, schedule, 2 * vpa_req, 80),
            80,
        )
        kubecost = Recipe(
            kc_req,
            2 * kc_req,
            memory_for(server, 1 / 0.7),
            memory_for(server, 1 / 0.7),
            1,
            max_replicas_for(server, schedule, 2 * kc_req, 40),
            40,
        )
        started = time.perf_counter()
        found = search(server, schedule, DEFAULT_PRICES, config, seeds=(0, 1, 2))
        seconds = time.perf_counter() - started
        assert found.best is not None, f"no feasible recipe for {name}"
        for label, plan in (
            ("kubelab", found.best.recipe),
            ("VPA-style", vpa),
            ("Kubecost-style", kubecost),
            ("course", COURSE),
        ):
            runs = [simulate(plan, server, schedule, replace(config, seed=s)) for s in HELD_OUT]
            rows.append(
                {
                    "profile": name,
                    "recipe": label,
                    "settings": plan.describe(),
                    "cpu_core_hours": round(float(np.mean([r.cpu_core_hours for r in runs])), 3),
                    "violating_pct": round(100 * float(np.mean([r.violation_fraction for r in runs])), 2),
                    "worst_seed_pct": round(100 * max(r.violation_fraction for r in runs), 2),
                    "search_s": round(seconds, 1) if label == "kubelab" else "",
                    "candidates": len(found.candidates) if label == "kubelab" else "",
                }
            )
        ours = rows[-4]["cpu_core_hours"]
        for r in rows[-3:]:
            r["kubelab_saves_pct"] = round(100 * (1 - ours / r["cpu_core_hours"]), 1)
        print(f"{name}: done ({seconds:.0f} s search)", file=sys.stderr)
    print(f"# {machine()}, objective p99 <= {args.slo_ms:g} ms, synthetic server profile")
    print(
        table(
            rows,
            [
                "profile",
                "recipe",
                "settings",
                "cpu_core_hours",
                "violating_pct",
                "worst_seed_pct",
                "kubelab_saves_pct",
                "search_s",
                "candidates",
            ],
        )
    )
    os.makedirs(os.path.join(os.path.dirname(__file__), "out"), exist_ok=True)
    with open(os.path.join(os.path.dirname(__file__), "out", "recipe_baselines.json"), "w") as f:
        json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
