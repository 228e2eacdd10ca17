"""Sizing and autoscaling: profile a model server, simulate the HPA over a load profile, search recipes."""

from __future__ import annotations

from kubelab.recipe._hpa import (
    Behavior,
    Decision,
    HorizontalPodAutoscaler,
    HPASpec,
    NoMetrics,
    PodSample,
    Proposal,
    ScalingPolicy,
    ScalingRules,
    resource_replicas,
)

__all__ = [
    "Behavior",
    "Decision",
    "HPASpec",
    "HorizontalPodAutoscaler",
    "NoMetrics",
    "PodSample",
    "Proposal",
    "ScalingPolicy",
    "ScalingRules",
    "resource_replicas",
]
