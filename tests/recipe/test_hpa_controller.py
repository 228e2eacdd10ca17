"""The controller's normalisation against hand-derived answers (``reconcileAutoscaler`` and friends).

Each row replays a history of syncs ``(time s, current replicas, calculator proposal)`` and checks the
replica count the next sync sets. The expected answers follow ``pkg/controller/podautoscaler/horizontal.go``
and the HPA documentation (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/):

* current > max -> max, current < min -> min, before any metric is read (no recommendation recorded);
  current == 0 with min != 0 -> autoscaling disabled, stays 0;
* ``behavior`` unset (legacy path, ``normalizeDesiredReplicas``): the highest proposal of the last 300 s
  (a sample exactly 300 s old still counts: it is not ``Before`` the cutoff), then clamp to
  ``[min, min(max, max(2 * current, 4))]``; no scale-down rate limit;
* ``behavior`` set (``normalizeDesiredReplicasWithBehaviors``; unset fields take the API defaults: scale-up
  window 0, policies Pods 4/15 s and Percent 100/15 s, select Max; scale-down window 300 s, Percent 100/15 s,
  select Max): the proposal is held between ``min`` of the proposals in the scale-up window and ``max`` of
  those in the scale-down window (samples strictly newer than the cutoff); then the rate limit: from the
  replica count at the start of each policy's period (current - added + removed by scale events strictly
  newer than ``now - period``), Pods adds/removes ``value`` pods, Percent multiplies by ``1 +/- value/100``
  (ceil going up, truncation going down); select Max takes the largest change, Min the smallest, Disabled
  none; then clamp to ``[min, max]``.
"""

from __future__ import annotations

import pytest

from kubelab.recipe._hpa import Behavior, HorizontalPodAutoscaler, HPASpec, Proposal, ScalingPolicy, ScalingRules

LEGACY = HPASpec(max_replicas=10, min_replicas=1, target_utilization=50)
LEGACY_MIN2 = HPASpec(max_replicas=10, min_replicas=2, target_utilization=50)
LEGACY_MAX3 = HPASpec(max_replicas=3, min_replicas=1, target_utilization=50)
LEGACY_MAX20 = HPASpec(max_replicas=20, min_replicas=1, target_utilization=50)
DEFAULTS = HPASpec(max_replicas=20, min_replicas=1, target_utilization=50, behavior=Behavior())
DEFAULTS_MAX10 = HPASpec(max_replicas=10, min_replicas=1, target_utilization=50, behavior=Behavior())


def rules(window: int | None = None, select: str | None = None, *policies: tuple[str, int, int]) -> ScalingRules:
    return ScalingRules(
        window,
        select,  # type: ignore[arg-type]
        tuple(ScalingPolicy(t, v, p) for t, v, p in policies) if policies else None,  # type: ignore[arg-type]
    )


def spec(up: ScalingRules | None = None, down: ScalingRules | None = None, *, lo: int = 1, hi: int = 20) -> HPASpec:
    return HPASpec(max_replicas=hi, min_replicas=lo, target_utilization=50, behavior=Behavior(up, down))


DOWN_PODS1_60 = spec(down=rules(0, None, ("Pods", 1, 60)))
DOWN_PCT50_60 = spec(down=rules(0, None, ("Percent", 50, 60)))
DOWN_PCT10_15 = spec(down=rules(0, None, ("Percent", 10, 15)))
DOWN_PCT70_15 = spec(down=rules(0, None, ("Percent", 70, 15)))
DOWN_MAX = spec(down=rules(0, "Max", ("Pods", 2, 60), ("Percent", 50, 60)))
DOWN_MIN = spec(down=rules(0, "Min", ("Pods", 2, 60), ("Percent", 50, 60)))
UP_MAX = spec(up=rules(None, "Max", ("Pods", 4, 60), ("Percent", 100, 60)), hi=30)
UP_MIN = spec(up=rules(None, "Min", ("Pods", 4, 60), ("Percent", 100, 60)), hi=30)
UP_DISABLED = spec(up=rules(None, "Disabled"))
DOWN_DISABLED = spec(down=rules(None, "Disabled"))
UP_WINDOW60 = spec(up=rules(60))
DOWN_WINDOW60 = spec(down=rules(60))
UP_PODS2_60 = spec(up=rules(None, None, ("Pods", 2, 60)))
BOTH_PODS2_60 = spec(up=rules(0, None, ("Pods", 2, 60)), down=rules(0, None, ("Pods", 2, 60)))
UP_PCT50_15 = spec(up=rules(None, None, ("Percent", 50, 15)), hi=40)
DEFAULTS_LO2 = spec(down=rules(0), lo=2)

H = list[tuple[float, int, int]]
# (id, spec, history, (t, current, proposal), expected, why)
CASES: list[tuple[str, HPASpec, H, tuple[float, int, int], int, str]] = [
    # ---- legacy path (behavior unset) --------------------------------------------------------------------
    ("leg-up-within", LEGACY, [], (0, 3, 5), 5, "5 <= max(2*3,4)=6"),
    ("leg-up-2x", LEGACY, [], (0, 3, 8), 6, "capped at 2*3=6"),
    ("leg-up-from-1", LEGACY, [], (0, 1, 10), 4, "max(2*1,4)=4"),
    ("leg-up-from-2", LEGACY, [], (0, 2, 10), 4, "max(4,4)=4"),
    ("leg-up-from-3-max", LEGACY, [], (0, 3, 20), 6, "2*3=6 < max 10"),
    ("leg-up-max", LEGACY, [], (0, 6, 20), 10, "2*6=12 > max 10 -> 10"),
    ("leg-up-max3", LEGACY_MAX3, [], (0, 2, 5), 3, "min(max 3, 4) = 3"),
    ("leg-up-from-5-max20", LEGACY_MAX20, [], (0, 5, 18), 10, "2*5=10"),
    ("leg-up-from-10-max20", LEGACY_MAX20, [], (0, 10, 25), 20, "2*10=20=max"),
    ("leg-down-no-history", LEGACY, [], (0, 5, 2), 2, "no higher recommendation, no down rate limit"),
    ("leg-down-stabilised", LEGACY, [(0, 5, 5)], (15, 5, 2), 5, "max(5 @0, 2)=5"),
    ("leg-down-window-edge", LEGACY, [(0, 5, 5)], (300, 5, 2), 5, "sample exactly 300 s old still counts"),
    ("leg-down-window-out", LEGACY, [(0, 5, 5)], (301, 5, 2), 2, "sample 301 s old is out"),
    ("leg-down-steps", LEGACY, [(0, 5, 5), (100, 5, 4), (200, 5, 3)], (310, 5, 2), 4, "cutoff 10: max(4,3,2)"),
    ("leg-down-steps-2", LEGACY, [(0, 5, 5), (100, 5, 4), (200, 5, 3)], (401, 5, 2), 3, "cutoff 101: max(3,2)"),
    ("leg-down-steps-3", LEGACY, [(0, 5, 5), (100, 5, 4), (200, 5, 3)], (501, 5, 2), 2, "cutoff 201: only 2"),
    ("leg-down-min", LEGACY_MIN2, [], (0, 3, 1), 2, "1 < min 2"),
    ("leg-down-zero", LEGACY, [], (0, 4, 0), 1, "0 < min 1"),
    ("leg-up-not-stabilised", LEGACY, [(0, 3, 2)], (15, 3, 6), 6, "max(2,6)=6 <= 2*3"),
    ("leg-equal", LEGACY, [], (0, 4, 4), 4, "no change"),
    ("leg-down-after-up", LEGACY, [(0, 2, 4), (15, 4, 4)], (30, 4, 3), 4, "max(4,4,3)=4"),
    ("leg-stabilised-then-capped", LEGACY, [(0, 2, 9)], (15, 2, 1), 4, "max(9,1)=9, capped at max(4,4)"),
    ("leg-over-max", LEGACY, [], (0, 12, 1), 10, "current 12 > max 10 -> 10"),
    ("leg-over-max-not-recorded", LEGACY, [(0, 12, 12)], (15, 10, 4), 4, "the clamp at t=0 recorded nothing"),
    ("leg-under-min", LEGACY_MIN2, [], (0, 1, 1), 2, "current 1 < min 2 -> 2"),
    ("leg-disabled", LEGACY, [], (0, 0, 5), 0, "spec.replicas 0, min 1: autoscaling disabled"),
    (
        "leg-many-samples",
        LEGACY,
        [(t, 6, 6 - t // 60) for t in range(0, 300, 15)],
        (300, 6, 1),
        6,
        "the 6 at t=0..45 are within [0, 300]",
    ),
    (
        "leg-many-samples-later",
        LEGACY,
        [(t, 6, 6 - t // 60) for t in range(0, 300, 15)],
        (345, 6, 1),
        6,
        "cutoff 45: the 6 @45 is not Before 45, still counts",
    ),
    (
        "leg-many-samples-later-2",
        LEGACY,
        [(t, 6, 6 - t // 60) for t in range(0, 300, 15)],
        (360, 6, 1),
        5,
        "cutoff 60: samples 60..105 are 5 -> 5",
    ),
    (
        "leg-reuse-slot",
        LEGACY,
        [(0, 8, 8), (400, 8, 3)],
        (415, 8, 2),
        3,
        "at 400 the 8@0 slot is reused for 3@400; max(3,2)=3",
    ),
    # ---- behavior path with the API defaults -------------------------------------------------------------
    ("def-up-from-1", DEFAULTS, [], (0, 1, 10), 5, "max(1+4, ceil(1*2)=2)=5 (legacy would give 4)"),
    ("def-up-from-3", DEFAULTS, [], (0, 3, 20), 7, "max(3+4, 6)=7"),
    ("def-up-from-6", DEFAULTS, [], (0, 6, 20), 12, "max(10, 12)=12"),
    ("def-up-from-10-max", DEFAULTS, [], (0, 10, 30), 20, "max(14, 20)=20 = max 20"),
    ("def-up-max10", DEFAULTS_MAX10, [], (0, 8, 30), 10, "max(12,16)=16 > max 10 -> 10"),
    ("def-up-within", DEFAULTS, [], (0, 3, 5), 5, "5 <= 7"),
    ("def-up-next-period", DEFAULTS, [(0, 1, 10)], (15, 5, 10), 10, "@0 not newer than 0: start 5: max(9,10)"),
    ("def-up-same-period", DEFAULTS, [(0, 1, 10)], (10, 5, 10), 5, "+4 @0 within 15 s: start 1: max(5,2)=5"),
    ("def-up-chain", DEFAULTS, [(0, 1, 40), (15, 5, 40)], (30, 10, 40), 20, "start 10: max(14,20)=20"),
    ("def-down-first", DEFAULTS, [], (0, 10, 2), 2, "no history; Percent 100: int(10*0)=0 -> min 1; 2 stays"),
    ("def-down-stabilised", DEFAULTS, [(0, 10, 10)], (15, 10, 2), 10, "max over 300 s window = 10"),
    ("def-down-window-edge", DEFAULTS, [(0, 10, 10)], (300, 10, 2), 2, "sample exactly 300 s old is not After"),
    ("def-down-window-in", DEFAULTS, [(0, 10, 10)], (299, 10, 2), 10, "299 s old: inside"),
    ("def-down-partial", DEFAULTS, [(0, 10, 10), (100, 10, 6)], (350, 10, 2), 6, "cutoff 50: max(6,2)"),
    ("def-up-unaffected-by-down-window", DEFAULTS, [(0, 4, 2)], (15, 4, 6), 6, "up window 0: 6 taken"),
    ("def-down-to-min", DEFAULTS_LO2, [], (0, 5, 1), 2, "down window 0: 1 < min 2"),
    ("def-over-max", DEFAULTS, [], (0, 25, 3), 20, "current 25 > max 20"),
    ("def-under-min", DEFAULTS_LO2, [], (0, 1, 1), 2, "current 1 < min 2"),
    ("def-disabled", DEFAULTS, [], (0, 0, 3), 0, "spec.replicas 0"),
    # ---- scale-down policies -----------------------------------------------------------------------------
    ("down-pods1", DOWN_PODS1_60, [], (0, 5, 1), 4, "start 5 - 1 = 4"),
    ("down-pods1-same-period", DOWN_PODS1_60, [(0, 5, 1)], (15, 4, 1), 4, "-1 @0 in 60 s: start 5: 4 = current"),
    ("down-pods1-45", DOWN_PODS1_60, [(0, 5, 1)], (45, 4, 1), 4, "still within 60 s"),
    ("down-pods1-next-period", DOWN_PODS1_60, [(0, 5, 1)], (60, 4, 1), 3, "@0 not newer than 0: start 4: 3"),
    ("down-pods1-chain", DOWN_PODS1_60, [(0, 5, 1), (60, 4, 1)], (120, 3, 1), 2, "start 3: 2"),
    ("down-pct50-10", DOWN_PCT50_60, [], (0, 10, 1), 5, "int(10*0.5)=5"),
    ("down-pct50-5", DOWN_PCT50_60, [], (0, 5, 1), 2, "int(2.5)=2"),
    ("down-pct50-3", DOWN_PCT50_60, [], (0, 3, 1), 1, "int(1.5)=1"),
    ("down-pct50-2", DOWN_PCT50_60, [], (0, 2, 1), 1, "int(1.0)=1"),
    ("down-pct50-proposal-above", DOWN_PCT50_60, [], (0, 10, 7), 7, "7 >= limit 5"),
    ("down-pct50-same-period", DOWN_PCT50_60, [(0, 10, 1)], (30, 5, 1), 5, "-5 @0: start 10: limit 5 = current"),
    ("down-pct10-5", DOWN_PCT10_15, [], (0, 5, 1), 4, "int(5*0.9)=int(4.5)=4"),
    ("down-pct10-9", DOWN_PCT10_15, [], (0, 9, 1), 8, "int(8.1)=8"),
    ("down-pct10-10", DOWN_PCT10_15, [], (0, 10, 1), 9, "10*0.9=9.0 -> 9"),
    ("down-pct10-1", DOWN_PCT10_15, [], (0, 1, 0), 1, "int(0.9)=0, but min 1"),
    ("down-pct10-chain", DOWN_PCT10_15, [(0, 10, 1)], (15, 9, 1), 8, "@0 not newer than 0: start 9: int(8.1)=8"),
    ("down-pct70-10", DOWN_PCT70_15, [], (0, 10, 1), 3, "1-0.7=0.30000000000000004; *10=3.0000000000000004 -> 3"),
    ("down-pct70-3", DOWN_PCT70_15, [], (0, 3, 1), 1, "int(0.9000000000000001)=0 -> min 1"),
    ("down-select-max", DOWN_MAX, [], (0, 10, 1), 5, "Pods: 8, Percent: 5; Max change -> 5"),
    ("down-select-min", DOWN_MIN, [], (0, 10, 1), 8, "Min change -> 8"),
    ("down-select-max-4", DOWN_MAX, [], (0, 4, 1), 2, "Pods 2, Percent 2"),
    ("down-select-min-3", DOWN_MIN, [], (0, 3, 1), 1, "Pods 1, Percent int(1.5)=1"),
    ("down-select-min-6", DOWN_MIN, [], (0, 6, 1), 4, "Pods 4, Percent 3; Min change -> 4"),
    ("down-select-max-6", DOWN_MAX, [], (0, 6, 1), 3, "Max change -> 3"),
    ("down-disabled", DOWN_DISABLED, [], (0, 5, 1), 5, "Disabled: never scales down"),
    ("down-disabled-up-ok", DOWN_DISABLED, [], (0, 5, 8), 8, "Disabled down does not limit up"),
    # ---- scale-up policies -------------------------------------------------------------------------------
    ("up-max-2", UP_MAX, [], (0, 2, 20), 6, "Pods 6, Percent 4; Max -> 6"),
    ("up-min-2", UP_MIN, [], (0, 2, 20), 4, "Min -> 4"),
    ("up-max-10", UP_MAX, [], (0, 10, 30), 20, "Pods 14, Percent 20 -> 20"),
    ("up-min-10", UP_MIN, [], (0, 10, 30), 14, "-> 14"),
    ("up-min-4", UP_MIN, [], (0, 4, 30), 8, "Pods 8, Percent 8"),
    ("up-max-same-period", UP_MAX, [(0, 2, 20)], (30, 6, 20), 6, "+4 @0 in 60 s: start 2: max(6,4)=6 = current"),
    ("up-max-next-period", UP_MAX, [(0, 2, 20)], (60, 6, 20), 12, "start 6: max(10,12)=12"),
    ("up-disabled", UP_DISABLED, [], (0, 3, 10), 3, "Disabled: never scales up"),
    ("up-disabled-down-ok", UP_DISABLED, [], (0, 3, 2), 2, "no history in the down window: 2; Percent 100 allows"),
    ("up-pods2", UP_PODS2_60, [], (0, 2, 10), 4, "2+2"),
    ("up-pods2-15", UP_PODS2_60, [(0, 2, 10)], (15, 4, 10), 4, "+2 @0 in 60 s: start 2: 4"),
    ("up-pods2-45", UP_PODS2_60, [(0, 2, 10), (15, 4, 10)], (45, 4, 10), 4, "still start 2"),
    ("up-pods2-60", UP_PODS2_60, [(0, 2, 10), (15, 4, 10)], (60, 4, 10), 6, "event @0 not newer: start 4: 6"),
    ("up-pct50-3", UP_PCT50_15, [], (0, 3, 40), 5, "ceil(3*1.5)=ceil(4.5)=5"),
    ("up-pct50-1", UP_PCT50_15, [], (0, 1, 40), 2, "ceil(1.5)=2"),
    ("up-pct50-10", UP_PCT50_15, [], (0, 10, 40), 15, "ceil(15.0)=15"),
    ("mixed-events", BOTH_PODS2_60, [(0, 5, 3)], (15, 3, 9), 7, "-2 @0: start 3-0+2=5: 5+2=7"),
    ("mixed-events-2", BOTH_PODS2_60, [(0, 5, 3), (15, 3, 9)], (30, 7, 1), 3, "+4@15, -2@0: start 7-4+2=5: 5-2=3"),
    # ---- stabilisation windows ---------------------------------------------------------------------------
    ("up-window-hold", UP_WINDOW60, [(0, 4, 4)], (15, 4, 8), 4, "min over up window (4, 8) = 4"),
    ("up-window-hold-2", UP_WINDOW60, [(0, 4, 4), (15, 4, 8)], (30, 4, 8), 4, "min(4, 8, 8) = 4"),
    ("up-window-release", UP_WINDOW60, [(0, 4, 4), (15, 4, 8), (30, 4, 8)], (61, 4, 8), 8, "4@0 out: min 8"),
    ("up-window-partial", UP_WINDOW60, [(0, 4, 4), (15, 4, 6)], (61, 4, 8), 6, "min(6, 8) = 6"),
    ("up-window-edge", UP_WINDOW60, [(0, 4, 4)], (60, 4, 8), 8, "4 @0 exactly 60 s old: not After cutoff"),
    ("down-window60-hold", DOWN_WINDOW60, [(0, 8, 8), (30, 8, 6)], (45, 8, 3), 8, "max(8, 6, 3) = 8"),
    ("down-window60-partial", DOWN_WINDOW60, [(0, 8, 8), (30, 8, 6)], (75, 8, 3), 6, "cutoff 15: max(6, 3)"),
    ("down-window60-release", DOWN_WINDOW60, [(0, 8, 8), (30, 8, 6)], (91, 8, 3), 3, "cutoff 31: only 3"),
    (
        "down-window-not-above-current",
        DOWN_WINDOW60,
        [(0, 4, 9)],
        (15, 8, 5),
        8,
        "up rec 5, down rec 9: min(max(8, 5), 9) = 8 (stabilisation never moves away from current)",
    ),
]


@pytest.mark.parametrize(
    ("spec", "history", "step", "expected"),
    [pytest.param(s, h, st, e, id=i) for i, s, h, st, e, _ in CASES],
)
def test_decision(spec: HPASpec, history: H, step: tuple[float, int, int], expected: int) -> None:
    hpa = HorizontalPodAutoscaler(spec)
    for t, current, proposal in history:
        hpa.decide(t, current, Proposal(proposal, 0))
    t, current, proposal = step
    assert hpa.decide(t, current, Proposal(proposal, 0)).replicas == expected


def test_no_metrics_keeps_scale() -> None:
    hpa = HorizontalPodAutoscaler(LEGACY)
    decision = hpa.decide(0, 4, None)
    assert (decision.replicas, decision.reason) == (4, "FailedGetResourceMetric")


def test_reasons() -> None:
    hpa = HorizontalPodAutoscaler(LEGACY)
    assert hpa.decide(0, 3, Proposal(8, 90)).reason == "ScaleUpLimit"
    assert HorizontalPodAutoscaler(LEGACY_MAX3).decide(0, 2, Proposal(5, 90)).reason == "TooManyReplicas"
    assert HorizontalPodAutoscaler(DOWN_PODS1_60).decide(0, 5, Proposal(1, 5)).reason == "ScaleDownLimit"


def test_table_size() -> None:
    from tests.recipe import test_hpa_calculator as calc

    rows = len(CASES) + sum(
        len(t) for t in (calc.TOLERANCE, calc.INTEGER_UTILIZATION, calc.SCALE, calc.MISSING_UNREADY, calc.GROUPING)
    )
    assert rows >= 200
