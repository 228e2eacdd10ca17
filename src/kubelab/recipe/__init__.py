"""Sizing and autoscaling: profile a model server, simulate the HPA over a load profile, search recipes.

    >>> from kubelab import recipe
    >>> from kubelab.load import course
    >>> plan = recipe.Recipe(cpu_request=1, cpu_limit=2, memory_request=2048, memory_limit=4096,
    ...                      min_replicas=1, max_replicas=5, target_utilization=40)
    >>> run = recipe.simulate(plan, recipe.synthetic_profile(), recipe.Schedule.from_profile(course()),
    ...                       recipe.SimConfig(slo_p99=0.2))
    >>> round(run.cpu_core_hours, 2)  # doctest: +SKIP
    1.56

Exports are imported on first use (the simulator needs numpy; the HPA model does not).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubelab._lazy import lazy_exports

if TYPE_CHECKING:
    from kubelab.recipe._cost import UnitPrices, catalog_prices, load_prices
    from kubelab.recipe._hpa import (
        Behavior,
        Decision,
        HorizontalPodAutoscaler,
        HPASpec,
        ScalingPolicy,
        ScalingRules,
    )
    from kubelab.recipe._manifests import render, validate
    from kubelab.recipe._profile import http_driver, profile_model, profile_server
    from kubelab.recipe._recipe import Recipe, load_recipe
    from kubelab.recipe._replicas import PodSample, Proposal, resource_replicas
    from kubelab.recipe._schedule import Schedule
    from kubelab.recipe._search import Candidate, SearchResult, SearchSpace, search
    from kubelab.recipe._server import AllowancePoint, ServerProfile, load_profile, synthetic_profile
    from kubelab.recipe._sim import SimConfig, SimResult, simulate

__all__ = [
    "AllowancePoint",
    "Behavior",
    "Candidate",
    "Decision",
    "HPASpec",
    "HorizontalPodAutoscaler",
    "PodSample",
    "Proposal",
    "Recipe",
    "ScalingPolicy",
    "ScalingRules",
    "Schedule",
    "SearchResult",
    "SearchSpace",
    "ServerProfile",
    "SimConfig",
    "SimResult",
    "UnitPrices",
    "catalog_prices",
    "http_driver",
    "load_prices",
    "load_profile",
    "load_recipe",
    "profile_model",
    "profile_server",
    "render",
    "resource_replicas",
    "search",
    "simulate",
    "synthetic_profile",
    "validate",
]


__getattr__, __dir__ = lazy_exports(__name__, {
    **dict.fromkeys(("UnitPrices", "catalog_prices", "load_prices"), "._cost"),
    **dict.fromkeys(("Behavior", "Decision", "HorizontalPodAutoscaler", "HPASpec", "ScalingPolicy", "ScalingRules"),
                    "._hpa"),
    **dict.fromkeys(("render", "validate"), "._manifests"),
    **dict.fromkeys(("http_driver", "profile_model", "profile_server"), "._profile"),
    **dict.fromkeys(("Recipe", "load_recipe"), "._recipe"),
    **dict.fromkeys(("PodSample", "Proposal", "resource_replicas"), "._replicas"),
    "Schedule": "._schedule",
    **dict.fromkeys(("Candidate", "SearchResult", "SearchSpace", "search"), "._search"),
    **dict.fromkeys(("AllowancePoint", "ServerProfile", "load_profile", "synthetic_profile"), "._server"),
    **dict.fromkeys(("SimConfig", "SimResult", "simulate"), "._sim"),
}, __all__)
