"""Search for the cheapest recipe whose simulated p99 meets the objective in enough windows.

The space: CPU request, CPU limit (a multiple of the request), HPA target utilisation, minimum
replicas and the scale-down stabilisation window (None: no ``behavior``, the controller's 300 s; or a
``behavior.scaleDown.stabilizationWindowSeconds``, the other behavior fields at their API defaults).
Memory is fixed by the profile (request = limit = footprint plus headroom, rounded up to 64 MiB:
memory is not compressible, a pod over its limit is killed), and the maximum replica count is whatever
lets the peak load be served at the target (so the HPA is never held back by it).

Candidates are simulated on the same random arrivals (common random numbers). They are tried in order
of a lower bound on their cost (minimum replicas x request x duration, the least any run of them can
reserve); once that bound exceeds the cheapest feasible cost found, no later candidate can win; the
search goes on a little (``runner_margin``) to show runners-up, then stops. A candidate is feasible
when, for every seed, at most ``1 - quantile`` of its windows have a p99 above the objective.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from kubelab.recipe._cost import UnitPrices
from kubelab.recipe._hpa import Behavior, ScalingRules
from kubelab.recipe._recipe import Recipe
from kubelab.recipe._schedule import Schedule
from kubelab.recipe._server import ServerProfile
from kubelab.recipe._sim import SimConfig, SimResult, simulate

__all__ = ["Candidate", "SearchResult", "SearchSpace", "evaluate", "search"]


@dataclass(frozen=True)
class SearchSpace:
    """The values tried for each knob."""

    cpu_requests: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
    limit_ratios: tuple[float, ...] = (1.0, 1.5, 2.0)
    targets: tuple[int, ...] = (30, 40, 50, 60, 70, 80, 90)
    min_replicas: tuple[int, ...] = (1, 2, 3)
    scale_down_windows: tuple[int | None, ...] = (None, 60)
    max_cpu_limit: float = 4.0
    memory_headroom: float = 1.15


@dataclass(frozen=True)
class Candidate:
    """One simulated recipe: what it costs and how often it missed the objective (worst seed)."""

    recipe: Recipe
    cost: float
    cpu_core_hours: float
    memory_gib_hours: float
    violation_fraction: float
    worst_p99: float
    feasible: bool
    seeds_run: int = 1

    def row(self) -> dict[str, object]:
        """A table row."""
        return {
            "recipe": self.recipe.describe(),
            "cost": round(self.cost, 4),
            "cpu_core_hours": round(self.cpu_core_hours, 3),
            "memory_gib_hours": round(self.memory_gib_hours, 3),
            "violations_pct": round(100 * self.violation_fraction, 2),
            "worst_p99_ms": round(self.worst_p99 * 1000, 1) if math.isfinite(self.worst_p99) else None,
            "feasible": self.feasible,
        }


@dataclass(frozen=True)
class SearchResult:
    """The cheapest feasible candidate (None if none is), its simulation, and every candidate simulated."""

    best: Candidate | None
    best_run: SimResult | None
    candidates: tuple[Candidate, ...]
    skipped: int

    def runners_up(self, n: int = 5) -> list[Candidate]:
        """The trade-off: the cheapest feasible candidates after the best, and every candidate cheaper than
        the best (they miss the objective more often), cheapest first, at most ``n`` of each."""
        ranked = sorted(self.candidates, key=lambda c: (c.cost, c.violation_fraction))
        feasible = [c for c in ranked if c.feasible and c is not self.best][:n]
        cheaper = [c for c in ranked if not c.feasible and (self.best is None or c.cost < self.best.cost)]
        pareto: list[Candidate] = []
        for c in cheaper[::-1]:  # most expensive first: keep those that violate less than every cheaper kept
            if not pareto or c.violation_fraction < pareto[-1].violation_fraction:
                pareto.append(c)
        return sorted(feasible + pareto[:n], key=lambda c: c.cost)


def memory_for(profile: ServerProfile, headroom: float) -> float:
    """Memory request and limit (MiB): the footprint with headroom, rounded up to 64 MiB."""
    return float(math.ceil(profile.memory_mib * headroom / 64) * 64)


def max_replicas_for(profile: ServerProfile, schedule: Schedule, cpu_limit: float, target: int) -> int:
    """Replicas the peak load needs at ``target`` utilisation of a replica's capacity (at least 2)."""
    capacity = profile.capacity(cpu_limit)
    service = profile.service_mean(cpu_limit)
    peak_open = float(schedule.rate.max()) if schedule.rate.size else 0.0
    mean_think = schedule.delay / 2 + service
    peak_closed = float((schedule.users / mean_think).max()) if schedule.users.any() else 0.0
    peak = max(peak_open, peak_closed)
    return max(2, math.ceil(peak / (capacity * min(target, 100) / 100) * 1.25))


def evaluate(
    recipe: Recipe,
    profile: ServerProfile,
    schedule: Schedule,
    prices: UnitPrices,
    config: SimConfig,
    *,
    seeds: Sequence[int] = (0,),
    quantile: float = 0.99,
) -> tuple[Candidate, SimResult]:
    """Simulate ``recipe`` with each seed in turn, stopping at the first that misses the objective too often
    (most candidates fail on the first seed, so extra seeds cost little); the candidate carries the mean
    cost and the worst violations of the runs made."""
    allowed = 1 - quantile + 1e-12
    runs: list[SimResult] = []
    for s in seeds:
        runs.append(simulate(recipe, profile, schedule, replace(config, seed=s)))
        if runs[-1].violation_fraction > allowed:
            break
    cpu_h = sum(r.cpu_core_hours for r in runs) / len(runs)
    mem_h = sum(r.memory_gib_hours for r in runs) / len(runs)
    violations = max(r.violation_fraction for r in runs)
    worst = max(float(max(r.p99.max(initial=0.0), 0.0)) for r in runs)
    feasible = violations <= allowed and len(runs) == len(seeds)
    cost = prices.cost(cpu_h, mem_h)
    return Candidate(recipe, cost, cpu_h, mem_h, violations, worst, feasible, len(runs)), runs[0]


def search(
    profile: ServerProfile,
    schedule: Schedule,
    prices: UnitPrices,
    config: SimConfig,
    *,
    space: SearchSpace | None = None,
    seeds: Sequence[int] = (0,),
    quantile: float = 0.99,
    runner_margin: float = 0.25,
    progress: Callable[[int, int, Candidate | None], None] | None = None,
) -> SearchResult:
    """Find the cheapest feasible recipe (module docstring).

    Candidates whose cost bound is within ``runner_margin`` of the best cost are still simulated, so the
    trade-off table has runners-up; past that the search stops.
    """
    space = space or SearchSpace()
    memory = memory_for(profile, space.memory_headroom)
    hours = schedule.duration / 3600
    plans: list[tuple[float, Recipe]] = []
    for cpu in space.cpu_requests:
        for ratio in space.limit_ratios:
            limit = round(cpu * ratio, 3)
            if limit > space.max_cpu_limit:
                continue
            for target in space.targets:
                top = max_replicas_for(profile, schedule, limit, target)
                for lo, window in itertools.product(space.min_replicas, space.scale_down_windows):
                    behavior = None if window is None else Behavior(scale_down=ScalingRules(window))
                    recipe = Recipe(cpu, limit, memory, memory, lo, max(lo, top), target, behavior)
                    plans.append((prices.cost(lo * cpu * hours, lo * memory / 1024 * hours), recipe))
    plans.sort(key=lambda p: (p[0], p[1].cpu_limit, -p[1].target_utilization))
    best: Candidate | None = None
    best_run: SimResult | None = None
    done: list[Candidate] = []
    for i, (bound, recipe) in enumerate(plans):
        if best is not None and bound > best.cost * (1 + runner_margin):
            return SearchResult(best, best_run, tuple(done), len(plans) - i)
        candidate, run = evaluate(recipe, profile, schedule, prices, config, seeds=seeds, quantile=quantile)
        done.append(candidate)
        if candidate.feasible and (best is None or candidate.cost < best.cost):
            best, best_run = candidate, run
        if progress is not None:
            progress(i + 1, len(plans), best)
    return SearchResult(best, best_run, tuple(done), 0)
