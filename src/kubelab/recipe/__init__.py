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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubelab.recipe._cost import DEFAULT_PRICES, UnitPrices, load_prices
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

_EXPORTS = {
    "DEFAULT_PRICES": "_cost",
    "UnitPrices": "_cost",
    "load_prices": "_cost",
    "Behavior": "_hpa",
    "Decision": "_hpa",
    "HorizontalPodAutoscaler": "_hpa",
    "HPASpec": "_hpa",
    "PodSample": "_replicas",
    "Proposal": "_replicas",
    "ScalingPolicy": "_hpa",
    "ScalingRules": "_hpa",
    "resource_replicas": "_replicas",
    "render": "_manifests",
    "validate": "_manifests",
    "http_driver": "_profile",
    "profile_model": "_profile",
    "profile_server": "_profile",
    "Recipe": "_recipe",
    "load_recipe": "_recipe",
    "Schedule": "_schedule",
    "Candidate": "_search",
    "SearchResult": "_search",
    "SearchSpace": "_search",
    "search": "_search",
    "AllowancePoint": "_server",
    "ServerProfile": "_server",
    "load_profile": "_server",
    "synthetic_profile": "_server",
    "SimConfig": "_sim",
    "SimResult": "_sim",
    "simulate": "_sim",
}

__all__ = [
    "AllowancePoint",
    "Behavior",
    "Candidate",
    "DEFAULT_PRICES",
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kubelab.recipe' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kubelab.recipe.{module}"), name)
    globals()[name] = value
    return value
