"""The Horizontal Pod Autoscaler's controller, decision for decision as Kubernetes makes it.

``HorizontalPodAutoscaler.reconcile`` is ``reconcileAutoscaler`` (``pkg/controller/podautoscaler``): it
asks the replica calculator (``_replicas``) for a proposal, clamps when the current count is out of
``[min, max]``, then normalises the proposal. With ``behavior`` unset the controller's legacy path runs:
the highest recommendation of the last 300 s (scale-down stabilisation), then at most
``max(2 * current, 4)`` replicas. With ``behavior`` set (even partially: the API server fills the rest
with the documented defaults) the behavior path runs: scale-up and scale-down stabilisation windows,
then the ``Pods``/``Percent`` policies over their periods, chosen by ``selectPolicy`` (Max, Min, Disabled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from kubelab.recipe._replicas import NoMetrics, PodSample, Proposal, resource_replicas

__all__ = [
    "DEFAULT_SCALE_DOWN",
    "DEFAULT_SCALE_UP",
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

PolicyType = Literal["Pods", "Percent"]
SelectPolicy = Literal["Max", "Min", "Disabled"]


@dataclass(frozen=True)
class ScalingPolicy:
    """One ``HPAScalingPolicy``: change at most ``value`` pods (or percent) per ``period_seconds``."""

    type: PolicyType
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    """``HPAScalingRules``; None fields take the defaults of their direction."""

    stabilization_window_seconds: int | None = None
    select_policy: SelectPolicy | None = None
    policies: tuple[ScalingPolicy, ...] | None = None


DEFAULT_SCALE_UP = ScalingRules(0, "Max", (ScalingPolicy("Pods", 4, 15), ScalingPolicy("Percent", 100, 15)))
"""API defaults for ``behavior.scaleUp`` (autoscaling/v2 ``GenerateHPAScaleUpRules``)."""
DEFAULT_SCALE_DOWN = ScalingRules(None, "Max", (ScalingPolicy("Percent", 100, 15),))
"""API defaults for ``behavior.scaleDown``; the window comes from the controller flag (300 s)."""


def _fill(rules: ScalingRules | None, default: ScalingRules, window: int) -> ScalingRules:
    """``copyHPAScalingRules`` over the defaults, then ``maybeInitScaleDownStabilizationWindow``."""
    rules = rules or ScalingRules()
    return ScalingRules(
        rules.stabilization_window_seconds
        if rules.stabilization_window_seconds is not None
        else (default.stabilization_window_seconds if default.stabilization_window_seconds is not None else window),
        rules.select_policy or default.select_policy,
        rules.policies if rules.policies is not None else default.policies,
    )


@dataclass(frozen=True)
class Behavior:
    """``spec.behavior``: scale-up and scale-down rules (either may be None for the defaults)."""

    scale_up: ScalingRules | None = None
    scale_down: ScalingRules | None = None


@dataclass(frozen=True)
class HPASpec:
    """The parts of an autoscaling/v2 HPA the simulator needs (one CPU ``Utilization`` metric)."""

    max_replicas: int
    min_replicas: int = 1
    target_utilization: int = 80
    behavior: Behavior | None = None


@dataclass(frozen=True)
class Decision:
    """One reconcile: the replica count to set, the calculator's proposal and the observed utilisation."""

    replicas: int
    proposal: int | None
    utilization: int | None
    reason: str


@dataclass
class HorizontalPodAutoscaler:
    """The controller's state for one HPA: its recommendation history and scale events.

    Args:
        spec: the HPA.
        tolerance: ``--horizontal-pod-autoscaler-tolerance``.
        downscale_stabilization: ``--horizontal-pod-autoscaler-downscale-stabilization`` (seconds).
        cpu_initialization_period: ``--horizontal-pod-autoscaler-cpu-initialization-period``.
        initial_readiness_delay: ``--horizontal-pod-autoscaler-initial-readiness-delay``.
    """

    spec: HPASpec
    tolerance: float = 0.1
    downscale_stabilization: float = 300.0
    cpu_initialization_period: float = 300.0
    initial_readiness_delay: float = 30.0
    _recommendations: list[tuple[int, float]] = field(default_factory=list, repr=False)
    _up_events: list[tuple[int, float]] = field(default_factory=list, repr=False)
    _down_events: list[tuple[int, float]] = field(default_factory=list, repr=False)

    def reconcile(self, now: float, current_replicas: int, pods: list[PodSample]) -> Decision:
        """One sync of the controller at time ``now`` over the pods it sees; records the scale event."""
        try:
            proposal: Proposal | None = resource_replicas(
                pods,
                current_replicas,
                self.spec.target_utilization,
                now,
                tolerance=self.tolerance,
                cpu_initialization_period=self.cpu_initialization_period,
                initial_readiness_delay=self.initial_readiness_delay,
            )
        except NoMetrics:
            proposal = None
        return self.decide(now, current_replicas, proposal)

    def decide(self, now: float, current_replicas: int, proposal: Proposal | None) -> Decision:
        """The part of a sync after the replica calculator: clamps, stabilisation, rate limits.

        ``proposal`` is None when the calculator found no metrics; the scale is then left alone.
        """
        spec = self.spec
        if current_replicas == 0 and spec.min_replicas != 0:
            return Decision(0, None, None, "ScalingDisabled")
        if current_replicas > spec.max_replicas:
            desired, proposed, utilization, reason = spec.max_replicas, None, None, "TooManyReplicas"
        elif current_replicas < spec.min_replicas:
            desired, proposed, utilization, reason = spec.min_replicas, None, None, "TooFewReplicas"
        elif proposal is None:
            return Decision(current_replicas, None, None, "FailedGetResourceMetric")
        else:
            proposed, utilization = proposal.replicas, proposal.utilization
            if spec.behavior is None:
                desired, reason = self._normalize_legacy(now, current_replicas, proposed)
            else:
                desired, reason = self._normalize_with_behavior(now, current_replicas, proposed)
        if desired != current_replicas:
            self._store_event(now, current_replicas, desired)
        return Decision(desired, proposed, utilization, reason)

    # -- legacy path: spec.behavior is nil ------------------------------------------------------------------

    def _normalize_legacy(self, now: float, current: int, proposal: int) -> tuple[int, str]:
        cutoff = now - self.downscale_stabilization
        stabilized = proposal
        old = None
        for i, (rec, at) in enumerate(self._recommendations):
            if at < cutoff:
                old = i
            elif rec > stabilized:
                stabilized = rec
        if old is not None:
            self._recommendations[old] = (proposal, now)
        else:
            self._recommendations.append((proposal, now))
        upper = max(2 * current, 4)
        if self.spec.max_replicas > upper:
            maximum, limit_reason = upper, "ScaleUpLimit"
        else:
            maximum, limit_reason = self.spec.max_replicas, "TooManyReplicas"
        if stabilized < self.spec.min_replicas:
            return self.spec.min_replicas, "TooFewReplicas"
        if stabilized > maximum:
            return maximum, limit_reason
        return stabilized, "DesiredWithinRange"

    # -- behavior path ----------------------------------------------------------------------------------------

    def _rules(self) -> tuple[ScalingRules, ScalingRules]:
        behavior = self.spec.behavior or Behavior()
        window = int(self.downscale_stabilization)
        up = _fill(behavior.scale_up, DEFAULT_SCALE_UP, window)
        return up, _fill(behavior.scale_down, DEFAULT_SCALE_DOWN, window)

    def _normalize_with_behavior(self, now: float, current: int, proposal: int) -> tuple[int, str]:
        up, down = self._rules()
        up_cutoff = now - (up.stabilization_window_seconds or 0)
        down_cutoff = now - (down.stabilization_window_seconds or 0)
        up_rec, down_rec = proposal, proposal
        old = None
        for i, (rec, at) in enumerate(self._recommendations):
            if at > up_cutoff:
                up_rec = min(rec, up_rec)
            if at > down_cutoff:
                down_rec = max(rec, down_rec)
            if at < up_cutoff and at < down_cutoff:
                old = i
        stabilized = min(max(current, up_rec), down_rec)
        if old is not None:
            self._recommendations[old] = (proposal, now)
        else:
            self._recommendations.append((proposal, now))

        spec = self.spec
        if stabilized > current:
            limit = self._scale_limit(now, current, up, up=True)
            limit = max(limit, current)
            if spec.max_replicas > limit:
                maximum, reason = limit, "ScaleUpLimit"
            else:
                maximum, reason = spec.max_replicas, "TooManyReplicas"
            if stabilized > maximum:
                return maximum, reason
        elif stabilized < current:
            limit = self._scale_limit(now, current, down, up=False)
            limit = min(limit, current)
            if spec.min_replicas < limit:
                minimum, reason = limit, "ScaleDownLimit"
            else:
                minimum, reason = spec.min_replicas, "TooFewReplicas"
            if stabilized < minimum:
                return minimum, reason
        return stabilized, "DesiredWithinRange"

    def _change_in_period(self, now: float, period: int, events: list[tuple[int, float]]) -> int:
        cutoff = now - period
        return sum(change for change, at in events if at > cutoff)

    def _scale_limit(self, now: float, current: int, rules: ScalingRules, *, up: bool) -> int:
        """``calculateScaleUpLimitWithScalingRules`` / ``calculateScaleDownLimitWithBehaviors``."""
        if rules.select_policy == "Disabled":
            return current
        pick_max = (rules.select_policy == "Max") == up  # scale-up Max and scale-down Min keep the largest count
        result: int | None = None
        for policy in rules.policies or ():
            added = self._change_in_period(now, policy.period_seconds, self._up_events)
            deleted = self._change_in_period(now, policy.period_seconds, self._down_events)
            start = current - added + deleted
            if up:
                if policy.type == "Pods":
                    proposed = start + policy.value
                else:
                    proposed = math.ceil(start * (1 + policy.value / 100))
            elif policy.type == "Pods":
                proposed = start - policy.value
            else:
                proposed = int(start * (1 - policy.value / 100))
            if result is None:
                result = proposed
            else:
                result = max(result, proposed) if pick_max else min(result, proposed)
        if result is None:  # no policies: Go starts from MinInt32 (up) / MaxInt32 (down), then clamps to current
            return current
        return result

    def _store_event(self, now: float, previous: int, new: int) -> None:
        """``storeScaleEvent``: only the behavior path keeps events; outdated slots are reused."""
        if self.spec.behavior is None:
            return
        up, down = self._rules()
        if new > previous:
            events, rules, change = self._up_events, up, new - previous
        else:
            events, rules, change = self._down_events, down, previous - new
        longest = max((p.period_seconds for p in rules.policies or ()), default=0)
        for i, (_, at) in enumerate(events):
            if at < now - longest:  # markScaleEventsOutdated: timestamp Before(cutoff)
                events[i] = (change, now)
                return
        events.append((change, now))
