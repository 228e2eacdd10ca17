"""The search on a case small enough to solve by hand, and the price catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kubelab.errors import SpecError
from kubelab.recipe._cost import DEFAULT_PRICES, UnitPrices, load_prices
from kubelab.recipe._schedule import Schedule
from kubelab.recipe._search import SearchSpace, search
from kubelab.recipe._server import QUANTILES, AllowancePoint, ServerProfile
from kubelab.recipe._sim import SimConfig


def _constant(cpu: float, seconds: float, cpu_per_request: float = 0.05) -> AllowancePoint:
    return AllowancePoint(cpu, tuple(seconds for _ in QUANTILES), cpu_per_request, 1 / seconds)


# Service takes 1 s with a quarter core and 0.1 s from half a core up, always exactly.
STEP_SERVER = ServerProfile(
    (_constant(0.25, 1.0), _constant(0.5, 0.1), _constant(1.0, 0.1), _constant(2.0, 0.1)), 200.0, 5.0
)
PRICES = UnitPrices(cpu_core_hour=1.0, memory_gib_hour=0.0)


def test_cheapest_feasible_recipe_by_hand() -> None:
    # Objective p99 <= 0.5 s. A limit of 0.25 core means 1 s per request: never feasible. From 0.5 core a
    # request takes 0.1 s; at 0.5 req/s (10 % busy) a window's p99 stays near 0.1 s. CPU use is
    # 0.5 * 0.05 = 0.025 cores, at most 10 % of any request tried, so the HPA never scales above the minimum.
    # Cost (1 $/core-hour, memory free) = min_replicas * request * 1 h. Cheapest feasible: 1 replica,
    # request 250m with a limit of 2 x 250m = 500m: $0.25. Next: request 500m (limit 500m or 1): $0.50.
    space = SearchSpace(cpu_requests=(0.25, 0.5, 1.0), limit_ratios=(1.0, 2.0), targets=(50, 90), min_replicas=(1, 2))
    schedule = Schedule.constant(3600, rate=0.5)
    result = search(STEP_SERVER, schedule, PRICES, SimConfig(slo_p99=0.5), space=space, runner_margin=1.0)
    assert result.best is not None
    best = result.best.recipe
    assert (best.cpu_request, best.cpu_limit, best.min_replicas) == (0.25, 0.5, 1)
    assert result.best.cost == pytest.approx(0.25)
    assert result.best.violation_fraction == 0.0
    infeasible = [c for c in result.candidates if c.recipe.cpu_limit == 0.25]
    assert infeasible and not any(c.feasible for c in infeasible)
    assert all(c.violation_fraction == 1.0 for c in infeasible)  # 1 s > 0.5 s in every window
    # runners-up up to twice the best cost ($0.50) were simulated; dearer candidates never were
    assert result.skipped > 0
    assert max(c.cost for c in result.candidates) == pytest.approx(0.5)
    assert all(c.cost >= 0.25 - 1e-9 or not c.feasible for c in result.candidates)
    runners = result.runners_up()
    # 250m/250m costs the same $0.25 and violates every window: dominated, so not a trade-off worth showing
    assert all(c.feasible for c in runners)
    assert any(c.feasible and c.cost == pytest.approx(0.5) for c in runners)


def test_more_seeds_only_for_candidates_that_pass_the_first() -> None:
    space = SearchSpace(
        cpu_requests=(0.25,), limit_ratios=(1.0, 2.0), targets=(90,), min_replicas=(1,), scale_down_windows=(None,)
    )
    schedule = Schedule.constant(1800, rate=0.5)
    result = search(STEP_SERVER, schedule, PRICES, SimConfig(slo_p99=0.5), space=space, seeds=(0, 1, 2))
    by_limit = {c.recipe.cpu_limit: c for c in result.candidates}
    assert (by_limit[0.25].feasible, by_limit[0.25].seeds_run) == (False, 1)  # 1 s per request: out at once
    assert (by_limit[0.5].feasible, by_limit[0.5].seeds_run) == (True, 3)


def test_no_feasible_recipe() -> None:
    space = SearchSpace(
        cpu_requests=(0.25,), limit_ratios=(1.0,), targets=(50,), min_replicas=(1,), scale_down_windows=(None,)
    )
    result = search(STEP_SERVER, Schedule.constant(600, rate=0.5), PRICES, SimConfig(slo_p99=0.5), space=space)
    assert result.best is None and len(result.candidates) == 1


def test_default_prices_are_derived_from_droplet_prices() -> None:
    # s-2vcpu-2gb $18/mo and s-2vcpu-4gb $24/mo: 2 GB for $6 -> $3/GB-mo; 2 vCPU for $12 -> $6/vCPU-mo; 672 h
    assert DEFAULT_PRICES.cpu_core_hour == pytest.approx(6 / 672)
    assert DEFAULT_PRICES.memory_gib_hour == pytest.approx(3 / 672)
    assert DEFAULT_PRICES.cost(2, 2 * 1) * 672 == pytest.approx(18.0)


def test_price_catalog(tmp_path: Path) -> None:
    good = tmp_path / "prices.yaml"
    good.write_text("currency: EUR\ncpu_core_hour: 0.03\nmemory_gib_hour: 0.004\n")
    prices = load_prices(good)
    assert (prices.cpu_core_hour, prices.memory_gib_hour, prices.currency) == (0.03, 0.004, "EUR")


@pytest.mark.parametrize(
    ("text", "messages"),
    [
        (
            "cpu_core_hour: -1\n",
            ["prices.yaml:1:16: cpu_core_hour: must be a number >= 0, not -1", "memory_gib_hour: is missing"],
        ),
        ("cpu_core_hour: 0.1\nmemory_gib_hour: 0.1\ncpu_hour: 2\n", ["prices.yaml:3:1: cpu_hour: unknown key"]),
        ("- 1\n", ["expected a mapping"]),
        ("cpu_core_hour: [\n", ["not valid YAML"]),
    ],
)
def test_price_catalog_errors(tmp_path: Path, text: str, messages: list[str]) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_prices(path)
    for message in messages:
        assert message in str(info.value)


def test_shorter_scale_down_window_saves_after_a_burst() -> None:
    # 5 min at 0.5 req/s, 1 min at 40 req/s (0.1 s each: 4 busy cores), 14 min at 0.5 req/s. Without behavior
    # the HPA keeps the burst's replicas for 300 s after it; with a 60 s scale-down window it sheds them
    # 240 s earlier, so the same recipe reserves less.
    rate = np.concatenate([np.full(300, 0.5), np.full(60, 40.0), np.full(840, 0.5)])
    schedule = Schedule(rate, np.zeros(rate.size, dtype=np.int64), np.zeros(rate.size))
    space = SearchSpace(
        cpu_requests=(0.5,), limit_ratios=(1.0,), targets=(50,), min_replicas=(1,), scale_down_windows=(None, 60)
    )
    result = search(STEP_SERVER, schedule, PRICES, SimConfig(slo_p99=5.0), space=space, runner_margin=10.0)
    by_window = {c.recipe.behavior is None: c for c in result.candidates}
    assert by_window[False].cpu_core_hours < by_window[True].cpu_core_hours
    assert by_window[False].recipe.describe().endswith("scale-down window 60s")
