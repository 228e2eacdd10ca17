"""The HPA's replica calculator: what one metric proposes (``ReplicaCalculator.GetResourceReplicas``).

Utilisation is the integer percent ``sum(usage) * 100 // sum(requests)`` over pods that have a metric and
are ready (``GetResourceUtilizationRatio``); the proposal is ``ceil(utilisation / target * ready_pods)``
unless ``|1 - ratio| <= tolerance``. Missing pods count as ``max(100, target)`` % of their request on a
scale-down and 0 % on a scale-up; unready CPU pods (``groupPods``) count as 0 % on a scale-up and are
ignored otherwise; a proposal whose direction flips once those pods are counted is dropped.

Times are seconds on one clock (the simulator's); CPU is in milli-cores as the metrics API reports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kubelab.errors import RecipeError

__all__ = ["NoMetrics", "PodSample", "Proposal", "resource_replicas"]


class NoMetrics(RecipeError):
    """No pod yields a usable metric: the controller keeps the current scale (``ScalingActive=False``)."""


@dataclass(frozen=True)
class PodSample:
    """What the controller sees of one pod at a sync.

    Attributes:
        request: CPU request in milli-cores.
        usage: the metric (milli-cores) or None when the metrics API has no sample for the pod.
        phase: ``Pending``, ``Running`` or ``Failed``.
        deleting: the pod has a deletion timestamp.
        ready: status of the pod's Ready condition; None when the pod has no Ready condition yet.
        start_time: when the pod started (``status.startTime``), or None.
        ready_transition: when the Ready condition last changed.
        metric_time: end of the metric's window (``timestamp``).
        metric_window: length of the metric's window (metrics-server reports its scrape resolution).
    """

    request: int
    usage: int | None
    phase: str = "Running"
    deleting: bool = False
    ready: bool | None = True
    start_time: float | None = -1e9
    ready_transition: float = -1e9
    metric_time: float = 0.0
    metric_window: float = 30.0


@dataclass(frozen=True)
class Proposal:
    """The calculator's answer: proposed replicas and the observed utilisation (integer percent)."""

    replicas: int
    utilization: int


def _utilization(usages: dict[int, int], requests: dict[int, int], target: int) -> tuple[float, int]:
    """``GetResourceUtilizationRatio``: integer percent of requests, and its ratio to the target."""
    used = sum(usages.values())
    requested = sum(requests[i] for i in usages)
    if requested == 0:
        raise NoMetrics("no metrics returned matched known pods")
    utilization = used * 100 // requested
    return utilization / target, utilization


def _group(
    pods: list[PodSample], now: float, cpu_initialization_period: float, initial_readiness_delay: float
) -> tuple[int, set[int], set[int], set[int]]:
    """``groupPods`` for the CPU resource: ready count and the unready, missing and ignored pod indices."""
    ready_count, unready, missing, ignored = 0, set(), set(), set()
    for i, pod in enumerate(pods):
        if pod.deleting or pod.phase == "Failed":
            ignored.add(i)
            continue
        if pod.phase == "Pending":
            unready.add(i)
            continue
        if pod.usage is None:
            missing.add(i)
            continue
        if pod.ready is None or pod.start_time is None:
            is_unready = True
        elif pod.start_time + cpu_initialization_period > now:
            # within the initialisation period: unready, or no full metric window since the last transition
            is_unready = (not pod.ready) or pod.metric_time < pod.ready_transition + pod.metric_window
        else:
            # after it: only a pod that has never been ready is ignored
            is_unready = (not pod.ready) and pod.start_time + initial_readiness_delay > pod.ready_transition
        if is_unready:
            unready.add(i)
            continue
        ready_count += 1
    return ready_count, unready, missing, ignored


def resource_replicas(
    pods: list[PodSample],
    current_replicas: int,
    target_utilization: int,
    now: float = 0.0,
    *,
    tolerance: float = 0.1,
    cpu_initialization_period: float = 300.0,
    initial_readiness_delay: float = 30.0,
) -> Proposal:
    """``GetResourceReplicas`` for a CPU utilisation target.

    Raises:
        NoMetrics: no pods, or no ready pod with a metric.
    """
    if not pods:
        raise NoMetrics("no pods returned by selector while calculating replica count")
    ready_count, unready, missing, ignored = _group(pods, now, cpu_initialization_period, initial_readiness_delay)
    usages = {i: p.usage for i, p in enumerate(pods) if p.usage is not None and i not in ignored | unready}
    if not usages:
        raise NoMetrics("did not receive metrics for targeted pods (pods might be unready)")
    requests = {i: p.request for i, p in enumerate(pods)}
    ratio, utilization = _utilization(usages, requests, target_utilization)

    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if abs(1.0 - ratio) <= tolerance:
            return Proposal(current_replicas, utilization)
        return Proposal(math.ceil(ratio * ready_count), utilization)

    if missing:
        if ratio < 1.0:
            fallback = max(100, target_utilization)
            for i in missing:
                usages[i] = requests[i] * fallback // 100
        elif ratio > 1.0:
            for i in missing:
                usages[i] = 0
    if scale_up_with_unready:
        for i in unready:
            usages[i] = 0

    new_ratio, _ = _utilization(usages, requests, target_utilization)
    if abs(1.0 - new_ratio) <= tolerance or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return Proposal(current_replicas, utilization)
    replicas = math.ceil(new_ratio * len(usages))
    if (new_ratio < 1.0 and replicas > current_replicas) or (new_ratio > 1.0 and replicas < current_replicas):
        return Proposal(current_replicas, utilization)
    return Proposal(replicas, utilization)
