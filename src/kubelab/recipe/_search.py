"""Search for the cheapest recipe whose simulated p99 meets the objective in enough windows.

The space: CPU request, CPU limit (a multiple of the request), HPA target utilisation, minimum
replicas and the scale-down stabilisation window (None: no ``behavior``, the controller's 300 s; or a
``behavior.scaleDown.stabilizationWindowSeconds``, the other behavior fields at their API defaults).
Memory is fixed by the profile (request = limit = footprint plus headroom, rounded up to 64 MiB:
memory is not compressible, a pod over its limit is killed), and the maximum replica count is whatever
lets the peak load be served at the target (so the HPA is never held back by it).

Candidates are simulated on the same random arrivals (common random numbers). They are tried in order
of a lower bound on their cost, the larger of two things any run of them must reserve: the minimum
replicas for the whole duration, and the pods the load's CPU work needs when every pod runs at its limit
(a pod uses at most its limit, so pod-hours >= open-loop work / limit; 95 % of the expected work, for the
randomness of arrivals). Once that bound exceeds the cheapest feasible cost found, no later candidate
can win; the search goes on a little (``runner_margin``) to show runners-up, then stops.

Then a pattern (compass) search refines the best: it tries the CPU request a step either side of the
best's (keeping its limit:request ratio, or keeping its limit), the target a step either side and one
minimum replica more or fewer; it moves to the first neighbour that is feasible and cheaper, and halves
the steps when none is, down to 10 millicores and 1 % of target. It stays inside the grid's range (no
request, limit ratio, target or minimum beyond what the space allows), so the grid's bounds bound the risk.

A candidate is feasible when, for every seed, at most ``1 - quantile`` of its windows have a p99 above
the objective, and over all seeds together at most ``margin`` (default half) of that: the finer the
search, the more candidates just scrape by on the seeds it ran, and those miss more often on others.

Every candidate carries ``burst_cores``: the most CPU (one-minute average, all pods) used above the
pods' requests, i.e. what the nodes must have free beyond the requests they reserved for the recipe to
behave as simulated (the simulator gives a pod CPU up to its limit whenever it needs it).
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

__all__ = ["Candidate", "SearchResult", "SearchSpace", "cost_bound", "evaluate", "search"]


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
    refine: bool = True


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
    burst_cores: float = 0.0

    def row(self) -> dict[str, object]:
        """A table row."""
        return {
            "recipe": self.recipe.describe(),
            "cost": round(self.cost, 4),
            "cpu_core_hours": round(self.cpu_core_hours, 3),
            "memory_gib_hours": round(self.memory_gib_hours, 3),
            "violations_pct": round(100 * self.violation_fraction, 2),
            "worst_p99_ms": round(self.worst_p99 * 1000, 1) if math.isfinite(self.worst_p99) else None,
            "burst_cores": round(self.burst_cores, 2),
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
    margin: float = 0.5,
) -> tuple[Candidate, SimResult]:
    """Simulate ``recipe`` with each seed in turn, stopping at the first that misses the objective too often
    (most candidates fail on the first seed, so extra seeds cost little); the candidate carries the mean
    cost and the worst violations of the runs made.

    Feasible: at most ``1 - quantile`` of the windows miss on every seed, and at most ``margin`` times
    that over all the seeds together (a margin for the seeds the search never saw: a candidate that
    just scrapes by on each seed tends to miss more often on others)."""
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
    pooled = sum(r.violation_fraction for r in runs) / len(runs)
    feasible = violations <= allowed and pooled <= margin * (1 - quantile) + 1e-12 and len(runs) == len(seeds)
    cost = prices.cost(cpu_h, mem_h)
    burst = max(r.burst_cores for r in runs)
    return Candidate(recipe, cost, cpu_h, mem_h, violations, worst, feasible, len(runs), burst), runs[0]


def cost_bound(recipe: Recipe, profile: ServerProfile, schedule: Schedule, prices: UnitPrices) -> float:
    """The least any run of ``recipe`` can cost (module docstring): pod-hours are at least the minimum
    replicas' and at least the open-loop CPU work over the limit (95 % of it, for random arrivals)."""
    hours = schedule.duration / 3600
    work = float(schedule.rate.sum()) * profile.cpu_per_request(recipe.cpu_limit) / 3600  # core-hours expected
    pod_hours = max(recipe.min_replicas * hours, 0.95 * work / recipe.cpu_limit)
    return prices.cost(pod_hours * recipe.cpu_request, pod_hours * recipe.memory_request / 1024)


def _recipe(
    profile: ServerProfile,
    schedule: Schedule,
    memory: float,
    cpu: float,
    limit: float,
    target: int,
    lo: int,
    behavior: Behavior | None,
) -> Recipe:
    top = max_replicas_for(profile, schedule, limit, target)
    return Recipe(cpu, limit, memory, memory, lo, max(lo, top), target, behavior)


def search(
    profile: ServerProfile,
    schedule: Schedule,
    prices: UnitPrices,
    config: SimConfig,
    *,
    space: SearchSpace | None = None,
    seeds: Sequence[int] = (0,),
    quantile: float = 0.99,
    margin: float = 0.5,
    runner_margin: float = 0.25,
    progress: Callable[[int, int, Candidate | None], None] | None = None,
) -> SearchResult:
    """Find the cheapest feasible recipe (module docstring).

    Candidates whose cost bound is within ``runner_margin`` of the best cost are still simulated, so the
    trade-off table has runners-up; past that the search stops.
    """
    space = space or SearchSpace()
    memory = memory_for(profile, space.memory_headroom)
    plans: list[tuple[float, Recipe]] = []
    for cpu in space.cpu_requests:
        for ratio in space.limit_ratios:
            limit = round(cpu * ratio, 3)
            if limit > space.max_cpu_limit:
                continue
            for target in space.targets:
                if target >= 100 * ratio:  # usage never exceeds the limit: the HPA could never scale up
                    continue
                for lo, window in itertools.product(space.min_replicas, space.scale_down_windows):
                    behavior = None if window is None else Behavior(scale_down=ScalingRules(window))
                    recipe = _recipe(profile, schedule, memory, cpu, limit, target, lo, behavior)
                    plans.append((cost_bound(recipe, profile, schedule, prices), recipe))
    plans.sort(key=lambda p: (p[0], p[1].cpu_limit, -p[1].target_utilization))
    best: Candidate | None = None
    best_run: SimResult | None = None
    done: list[Candidate] = []
    skipped = 0
    for i, (bound, recipe) in enumerate(plans):
        if best is not None and bound > best.cost * (1 + runner_margin):
            skipped = len(plans) - i
            break
        candidate, run = evaluate(
            recipe, profile, schedule, prices, config, seeds=seeds, quantile=quantile, margin=margin
        )
        done.append(candidate)
        if candidate.feasible and (best is None or candidate.cost < best.cost):
            best, best_run = candidate, run
        if progress is not None:
            progress(i + 1, len(plans), best)
    if best is not None and space.refine:
        best, best_run = _refine(
            best, best_run, profile, schedule, prices, config, space, seeds, quantile, margin, done
        )
        if progress is not None:
            progress(len(plans), len(plans), best)
    return SearchResult(best, best_run, tuple(done), skipped)


def _refine(
    best: Candidate,
    best_run: SimResult | None,
    profile: ServerProfile,
    schedule: Schedule,
    prices: UnitPrices,
    config: SimConfig,
    space: SearchSpace,
    seeds: Sequence[int],
    quantile: float,
    margin: float,
    done: list[Candidate],
) -> tuple[Candidate, SimResult | None]:
    """Pattern search around ``best`` (module docstring); appends what it simulates to ``done``."""
    memory = best.recipe.memory_request
    cpu_lo, cpu_hi = min(space.cpu_requests), max(space.cpu_requests)
    ratio_hi = max(space.limit_ratios)
    target_lo, target_hi = min(space.targets), max(space.targets)
    lo_lo, lo_hi = min(space.min_replicas), max(space.min_replicas)
    seen = {c.recipe for c in done}
    cpu_step, target_step = cpu_lo / 2, 8
    while True:
        r = best.recipe
        ratio = r.cpu_limit / r.cpu_request
        neighbours: list[tuple[float, float, int, int]] = []  # request, limit, target, min replicas
        for d in (-1, 1):
            cpu = round(r.cpu_request + d * cpu_step, 2)
            neighbours.append((cpu, round(cpu * ratio, 3), r.target_utilization, r.min_replicas))  # same ratio
            neighbours.append((cpu, r.cpu_limit, r.target_utilization, r.min_replicas))  # same limit
            neighbours.append((r.cpu_request, r.cpu_limit, r.target_utilization + d * target_step, r.min_replicas))
            neighbours.append((r.cpu_request, r.cpu_limit, r.target_utilization, r.min_replicas + d))
        improved = False
        for cpu, limit, target, lo in neighbours:
            rat = limit / cpu if cpu > 0 else math.inf
            if not (cpu_lo <= cpu <= cpu_hi and 1 <= rat <= ratio_hi + 1e-9 and target_lo <= target <= target_hi):
                continue
            if target >= 100 * rat:
                continue
            if not (lo_lo <= lo <= lo_hi and limit <= space.max_cpu_limit):
                continue
            recipe = _recipe(profile, schedule, memory, cpu, limit, target, lo, r.behavior)
            if recipe in seen or cost_bound(recipe, profile, schedule, prices) >= best.cost:
                continue
            seen.add(recipe)
            candidate, run = evaluate(
                recipe, profile, schedule, prices, config, seeds=seeds, quantile=quantile, margin=margin
            )
            done.append(candidate)
            if candidate.feasible and candidate.cost < best.cost:
                best, best_run, improved = candidate, run, True
                break
        if improved:
            continue
        if cpu_step <= 0.01 and target_step <= 1:
            return best, best_run
        cpu_step = max(0.01, round(cpu_step / 2, 3))
        target_step = max(1, target_step // 2)
