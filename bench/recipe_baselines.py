"""kubelab recipe against VPA-style, Kubecost-style and the course's recipe, on four load profiles.

For each profile: run the course's example recipe (requests 1 CPU / 2Gi, limits 2 CPU / 4Gi, 1-5
replicas, target 40 %) and read its per-pod CPU use per minute, as a VPA or Kubecost would observe it;
derive
  * VPA-style: CPU request = p90 of per-pod usage x 1.15 (the VPA recommender's target percentile and
    safety margin), limit keeps the course's 2:1 ratio, memory = footprint x 1.15, HPA target 80 %;
  * Kubecost-style: CPU request = p95 of per-pod usage / 0.7, limit 2:1, memory = footprint / 0.7,
    the course's HPA settings (40 %);
both with min 1 replica and the same maximum kubelab gives itself (so no baseline is capped by it).

A baseline that misses the objective in more than 1 % of minutes does not meet the issue's bar, so each
such baseline is also shown *made feasible* by the operator's obvious fix, the smallest step that gets
it to <= 1 % violating minutes on every search seed (0-2): one more minimum replica at a time, or (VPA
and Kubecost) a larger safety margin, 5 points at a time (VPA x1.20, x1.25, ...; Kubecost / 0.65,
/ 0.60, ...); the cheaper of the two fixes is kept.

kubelab's search (feasible on seeds 0-2) runs twice:
  * ``kubelab``: the default space (limit at most 2x the request, the baselines' ratio; targets <= 90 %);
  * ``kubelab burstable``: limits up to 4x the request and targets up to 300 % of it: cheaper in reserved
    CPU because pods run above their requests, which the nodes must have free (``burst`` column).
Every recipe is then simulated on five seeds the search never saw (10-14): reserved CPU core-hours, the
share of minutes whose p99 missed the objective (mean and worst seed), and ``burst``: the most CPU used
above requests in any minute (all pods, worst seed), what the nodes must have free beyond the requests.

    python bench/recipe_baselines.py [--slo-ms 250] [--profiles course,step,spike,sine]

The server profile is kubelab's synthetic one (labelled as such): a measured model (bench/recipe_e2e.py
profiles a real XGBoost model with `kubelab serve`) is so fast that every recipe is trivially cheap, so
this comparison keeps a server slow enough for the recipe to matter.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine, table  # noqa: E402

from kubelab.load import parse_profile  # noqa: E402
from kubelab.recipe import Recipe, Schedule, SimConfig, search, simulate, synthetic_profile  # noqa: E402
from kubelab.recipe._cost import load_prices  # noqa: E402
from kubelab.recipe._search import SearchSpace, max_replicas_for, memory_for  # noqa: E402
from kubelab.recipe._server import ServerProfile  # noqa: E402

PROFILES = {
    "course": ("course", None),
    "step": ("step:3,25,8@10m", None),
    "spike": ("spike:base=5,peak=40,at=20m,width=5m", 3600.0),
    "sine": ("sine:mean=15,amp=12,period=1h", 7200.0),
}
COURSE = Recipe(1.0, 2.0, 2048.0, 4096.0, 1, 5, 40)
HELD_OUT = (10, 11, 12, 13, 14)  # seeds the search never saw


SEARCH_SEEDS = (0, 1, 2)
BURSTABLE = SearchSpace(
    limit_ratios=(1.0, 1.5, 2.0, 3.0, 4.0), targets=(30, 40, 50, 60, 70, 80, 90, 120, 150, 200, 300)
)


def _cores(x: float) -> float:
    return max(0.05, round(x, 3))


def _vpa(server: ServerProfile, schedule: Schedule, per_pod: np.ndarray, margin: float, lo: int) -> Recipe:
    req = _cores(np.percentile(per_pod, 90) * margin)
    memory = memory_for(server, 1.15)
    return Recipe(req, 2 * req, memory, memory, lo, max(lo, max_replicas_for(server, schedule, 2 * req, 80)), 80)


def _kubecost(server: ServerProfile, schedule: Schedule, per_pod: np.ndarray, util: float, lo: int) -> Recipe:
    req = _cores(np.percentile(per_pod, 95) / util)
    memory = memory_for(server, 1 / 0.7)
    return Recipe(req, 2 * req, memory, memory, lo, max(lo, max_replicas_for(server, schedule, 2 * req, 40)), 40)


def _worst(plan: Recipe, server: ServerProfile, schedule: Schedule, config: SimConfig) -> tuple[float, float]:
    """Worst violating share over the search seeds, and the mean reserved core-hours."""
    runs = [simulate(plan, server, schedule, replace(config, seed=s)) for s in SEARCH_SEEDS]
    return max(r.violation_fraction for r in runs), float(np.mean([r.cpu_core_hours for r in runs]))


Fix = Callable[[int], tuple[str, Recipe]]  # step k >= 1 -> (what was changed, the recipe)


def _baselines(server: ServerProfile, schedule: Schedule, per_pod: np.ndarray) -> list[tuple[str, Recipe, list[Fix]]]:
    """The three baselines as the issue defines them, each with the operator's fixes, step by step."""

    def vpa_min(k: int) -> tuple[str, Recipe]:
        return f"min replicas {1 + k}", _vpa(server, schedule, per_pod, 1.15, 1 + k)

    def vpa_margin(k: int) -> tuple[str, Recipe]:
        return f"margin x{1.15 + 0.05 * k:.2f}", _vpa(server, schedule, per_pod, 1.15 + 0.05 * k, 1)

    def kc_min(k: int) -> tuple[str, Recipe]:
        return f"min replicas {1 + k}", _kubecost(server, schedule, per_pod, 0.7, 1 + k)

    def kc_margin(k: int) -> tuple[str, Recipe]:
        util = round(0.7 - 0.05 * k, 2)
        return f"/ {util:.2f}", _kubecost(server, schedule, per_pod, util, 1)

    def course_min(k: int) -> tuple[str, Recipe]:
        return f"min replicas {1 + k}", replace(COURSE, min_replicas=1 + k, max_replicas=max(5, 1 + k))

    return [
        ("VPA-style", _vpa(server, schedule, per_pod, 1.15, 1), [vpa_min, vpa_margin]),
        ("Kubecost-style", _kubecost(server, schedule, per_pod, 0.7, 1), [kc_min, kc_margin]),
        ("course's recipe", COURSE, [course_min]),
    ]


def _made_feasible(
    fixes: list[Fix], server: ServerProfile, schedule: Schedule, config: SimConfig
) -> tuple[str, Recipe] | None:
    """For each fix, the smallest step with <= 1 % violating minutes on every search seed; the cheapest of
    those (mean reserved core-hours on the search seeds), or None if no fix gets there in 13 steps."""
    found: list[tuple[float, str, Recipe]] = []
    for fix in fixes:
        for step in range(1, 14):  # Kubecost's divisor stays above 0
            note, plan = fix(step)
            violating, cost = _worst(plan, server, schedule, config)
            if violating <= 0.01 + 1e-12:
                found.append((cost, note, plan))
                break
    if not found:
        return None
    _, note, plan = min(found, key=lambda f: f[0])
    return note, plan


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slo-ms", type=float, default=250.0)
    parser.add_argument("--profiles", default=",".join(PROFILES))
    args = parser.parse_args()
    server = synthetic_profile()
    config = SimConfig(slo_p99=args.slo_ms / 1000)
    prices = load_prices()
    rows: list[dict[str, Any]] = []
    for name in args.profiles.split(","):
        text, duration = PROFILES[name]
        schedule = Schedule.from_profile(parse_profile(text, duration=duration))
        observed = simulate(COURSE, server, schedule, config)
        per_pod = observed.cpu_used / np.maximum(observed.pods, 1)
        plans: list[tuple[str, Recipe, str]] = []
        timing: dict[str, str] = {}
        for label, space in (("kubelab", SearchSpace()), ("kubelab burstable", BURSTABLE)):
            started = time.perf_counter()
            found = search(server, schedule, prices, config, space=space, seeds=SEARCH_SEEDS)
            seconds = time.perf_counter() - started
            assert found.best is not None, f"no feasible recipe for {name} ({label})"
            plans.append((label, found.best.recipe, ""))
            timing[label] = f"{seconds:.0f} s, {len(found.candidates)} candidates"
        baselines = _baselines(server, schedule, per_pod)
        for label, plan, fixes in baselines:
            plans.append((label, plan, "raw"))
            if _worst(plan, server, schedule, config)[0] > 0.01 + 1e-12:
                fixed = _made_feasible(fixes, server, schedule, config)
                if fixed is None:
                    print(f"{name}: {label} could not be made feasible", file=sys.stderr)
                else:
                    plans.append((f"{label}, feasible", fixed[1], fixed[0]))
        block = []
        for label, plan, note in plans:
            runs = [simulate(plan, server, schedule, replace(config, seed=s)) for s in HELD_OUT]
            block.append(
                {
                    "profile": name,
                    "recipe": label,
                    "settings": plan.describe(),
                    "fix": note,
                    "cpu_core_hours": round(float(np.mean([r.cpu_core_hours for r in runs])), 3),
                    "violating_pct": round(100 * float(np.mean([r.violation_fraction for r in runs])), 2),
                    "worst_seed_pct": round(100 * max(r.violation_fraction for r in runs), 2),
                    "burst_cores": round(max(r.burst_cores for r in runs), 2),
                    "search": timing.get(label, ""),
                }
            )
        ours, burstable = block[0]["cpu_core_hours"], block[1]["cpu_core_hours"]
        for r in block[2:]:
            r["kubelab_saves_pct"] = round(100 * (1 - ours / r["cpu_core_hours"]), 1)
            r["burstable_saves_pct"] = round(100 * (1 - burstable / r["cpu_core_hours"]), 1)
        rows.extend(block)
        print(f"{name}: done ({timing})", file=sys.stderr)
    print(f"# {machine()}, objective p99 <= {args.slo_ms:g} ms, synthetic server profile")
    print(
        table(
            rows,
            [
                "profile",
                "recipe",
                "settings",
                "fix",
                "cpu_core_hours",
                "violating_pct",
                "worst_seed_pct",
                "burst_cores",
                "kubelab_saves_pct",
                "burstable_saves_pct",
                "search",
            ],
        )
    )
    os.makedirs(os.path.join(os.path.dirname(__file__), "out"), exist_ok=True)
    with open(os.path.join(os.path.dirname(__file__), "out", "recipe_baselines.json"), "w") as f:
        json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
