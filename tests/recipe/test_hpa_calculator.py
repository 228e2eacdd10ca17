"""The replica calculator against hand-derived answers (``GetResourceReplicas``, ``groupPods``).

Every expected value below is worked out by hand from the upstream algorithm as the HPA documentation
states it (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#algorithm-details) and
as ``pkg/controller/podautoscaler/replica_calculator.go`` and ``metrics/utilization.go`` compute it:

* utilisation = ``sum(usage_m) * 100 // sum(request_m)`` over ready pods with a metric (integer percent);
* ratio = utilisation / target; no change when ``|1 - ratio| <= 0.1`` (the tolerance);
* otherwise proposal = ``ceil(ratio * ready_pods)``;
* missing pods count as ``max(100, target)`` % of their request if ratio < 1, as 0 if ratio > 1;
  unready pods count as 0 when ratio > 1 (else ignored); then the ratio is recomputed over all of them and
  the current count is kept if it falls in the tolerance band, flips direction, or moves the count the
  other way.

Arithmetic is IEEE-754 binary64 as in Go's ``float64``; where that matters (a ratio of exactly 1.1 lies
*outside* the band because ``1 - 1.1 == -0.10000000000000009``; ``145/70*14 == 29.000000000000004``) the
row says so.
"""

from __future__ import annotations

import pytest

from kubelab.recipe._replicas import NoMetrics, PodSample, resource_replicas


def ready(n: int, usage: int, request: int = 1000) -> list[PodSample]:
    return [PodSample(request=request, usage=usage) for _ in range(n)]


def missing(n: int, request: int = 1000) -> list[PodSample]:
    return [PodSample(request=request, usage=None) for _ in range(n)]


def pending(n: int, request: int = 1000) -> list[PodSample]:
    return [PodSample(request=request, usage=None, phase="Pending") for _ in range(n)]


def not_ready(n: int, usage: int, request: int = 1000) -> list[PodSample]:
    return [PodSample(request=request, usage=usage, ready=False) for _ in range(n)]


# (id, pods, target %, current replicas, expected proposal, why)
TOLERANCE = [
    # 10 pods x 1000m, each using 10*u m => utilisation u %, target 50; band is 45..54 (55 is 1.1: outside)
    ("t50-u40", ready(10, 400), 50, 10, 8, "40/50=0.8, ceil(0.8*10)=8"),
    ("t50-u41", ready(10, 410), 50, 10, 9, "0.82*10=8.2 -> 9"),
    ("t50-u42", ready(10, 420), 50, 10, 9, "0.84*10=8.4 -> 9"),
    ("t50-u43", ready(10, 430), 50, 10, 9, "0.86*10=8.6 -> 9"),
    ("t50-u44", ready(10, 440), 50, 10, 9, "0.88: |1-0.88|=0.12>0.1; 8.8 -> 9"),
    ("t50-u45", ready(10, 450), 50, 10, 10, "0.9: |1-0.9|=0.09999999999999998<=0.1, keep 10"),
    ("t50-u46", ready(10, 460), 50, 10, 10, "0.92 in band"),
    ("t50-u47", ready(10, 470), 50, 10, 10, "0.94 in band"),
    ("t50-u48", ready(10, 480), 50, 10, 10, "0.96 in band"),
    ("t50-u49", ready(10, 490), 50, 10, 10, "0.98 in band"),
    ("t50-u50", ready(10, 500), 50, 10, 10, "1.0 in band"),
    ("t50-u51", ready(10, 510), 50, 10, 10, "1.02 in band"),
    ("t50-u52", ready(10, 520), 50, 10, 10, "1.04 in band"),
    ("t50-u53", ready(10, 530), 50, 10, 10, "1.06 in band"),
    ("t50-u54", ready(10, 540), 50, 10, 10, "1.08 in band"),
    ("t50-u55", ready(10, 550), 50, 10, 11, "1.1: |1-1.1|=0.10000000000000009>0.1 (binary64); 1.1*10=11.0 -> 11"),
    ("t50-u56", ready(10, 560), 50, 10, 12, "1.12*10=11.2 -> 12"),
    ("t50-u57", ready(10, 570), 50, 10, 12, "11.4 -> 12"),
    ("t50-u58", ready(10, 580), 50, 10, 12, "11.6 -> 12"),
    ("t50-u59", ready(10, 590), 50, 10, 12, "11.8 -> 12"),
    ("t50-u60", ready(10, 600), 50, 10, 12, "1.2*10=12.0 -> 12"),
    # the band at other targets, same 10 pods: lower edge 0.9*t, upper edge below 1.1*t
    ("t60-u53", ready(10, 530), 60, 10, 9, "53/60=0.883 out; 8.83 -> 9"),
    ("t60-u54", ready(10, 540), 60, 10, 10, "54/60=0.9 in band"),
    ("t60-u65", ready(10, 650), 60, 10, 10, "65/60=1.083 in band"),
    ("t60-u66", ready(10, 660), 60, 10, 11, "66/60=1.1 out (binary64); 11.0 -> 11"),
    ("t60-u67", ready(10, 670), 60, 10, 12, "1.1167*10=11.17 -> 12"),
    ("t70-u62", ready(10, 620), 70, 10, 9, "62/70=0.886 out; 8.86 -> 9"),
    ("t70-u63", ready(10, 630), 70, 10, 10, "63/70=0.9 in band"),
    ("t70-u76", ready(10, 760), 70, 10, 10, "76/70=1.086 in band"),
    ("t70-u77", ready(10, 770), 70, 10, 11, "77/70=1.1 out; 11.0 -> 11"),
    ("t70-u78", ready(10, 780), 70, 10, 12, "1.114*10 -> 12"),
    ("t80-u71", ready(10, 710), 80, 10, 9, "71/80=0.8875 out; 8.875 -> 9"),
    ("t80-u72", ready(10, 720), 80, 10, 10, "72/80=0.9 in band"),
    ("t80-u87", ready(10, 870), 80, 10, 10, "87/80=1.0875 in band"),
    ("t80-u88", ready(10, 880), 80, 10, 11, "88/80=1.1 out; 11.0 -> 11"),
    ("t80-u89", ready(10, 890), 80, 10, 12, "1.1125*10=11.125 -> 12"),
    ("t90-u80", ready(10, 800), 90, 10, 9, "80/90=0.889 out; 8.89 -> 9"),
    ("t90-u81", ready(10, 810), 90, 10, 10, "81/90=0.9 in band"),
    ("t90-u98", ready(10, 980), 90, 10, 10, "98/90=1.089 in band"),
    ("t90-u99", ready(10, 990), 90, 10, 11, "99/90=1.1 out; 11.0 -> 11"),
    ("t90-u100", ready(10, 1000), 90, 10, 12, "1.111*10=11.11 -> 12"),
    ("t40-u36", ready(10, 360), 40, 10, 10, "36/40=0.9 in band"),
    ("t40-u35", ready(10, 350), 40, 10, 9, "0.875*10=8.75 -> 9"),
]

INTEGER_UTILIZATION = [
    # 10 pods x 100m (1000m requested): utilisation = total*100//1000 = total//10 (truncated)
    ("10x100m-449", ready(9, 45, 100) + ready(1, 44, 100), 50, 10, 9, "449m -> 44.9% -> 44; 0.88*10=8.8 -> 9"),
    ("10x100m-450", ready(10, 45, 100), 50, 10, 10, "450m -> 45%; 0.9 in band"),
    ("10x100m-549", ready(9, 55, 100) + ready(1, 54, 100), 50, 10, 10, "549m -> 54.9 -> 54; 1.08 in band"),
    ("10x100m-559", ready(9, 56, 100) + ready(1, 55, 100), 50, 10, 11, "559m -> 55; 1.1 out; 11.0 -> 11"),
    ("10x100m-560", ready(10, 56, 100), 50, 10, 12, "560m -> 56; 11.2 -> 12"),
    ("10x100m-0", ready(10, 0, 100), 50, 10, 0, "0% -> ratio 0 -> ceil(0)=0 (min clamps later)"),
    # 3 pods x 300m (900m requested): utilisation = total*100//900
    ("3x300m-449", ready(2, 150, 300) + ready(1, 149, 300), 50, 3, 3, "44900//900=49; 0.98 in band"),
    ("3x300m-404", ready(2, 135, 300) + ready(1, 134, 300), 50, 3, 3, "40400//900=44; 0.88 out; 2.64 -> 3"),
    ("3x300m-300", ready(3, 100, 300), 50, 3, 2, "30000//900=33; 0.66*3=1.98 -> 2"),
    ("3x300m-296", ready(2, 99, 300) + ready(1, 98, 300), 50, 3, 2, "29600//900=32; 0.64*3=1.92 -> 2"),
    ("3x300m-135", ready(3, 45, 300), 50, 3, 1, "13500//900=15; 0.3*3=0.9 -> 1"),
    ("3x300m-134", ready(2, 45, 300) + ready(1, 44, 300), 50, 3, 1, "13400//900=14; 0.28*3=0.84 -> 1"),
    ("3x300m-0", ready(3, 0, 300), 50, 3, 0, "0 -> 0"),
    # 20 pods x 250m (5000m requested), target 80: utilisation = total//50
    ("20x250m-3599", ready(19, 180, 250) + ready(1, 179, 250), 80, 20, 18, "3599//50=71; 0.8875*20=17.75 -> 18"),
    ("20x250m-3600", ready(20, 180, 250), 80, 20, 20, "72; 0.9 in band"),
    ("20x250m-4399", ready(19, 220, 250) + ready(1, 219, 250), 80, 20, 20, "87; 1.0875 in band"),
    ("20x250m-4400", ready(20, 220, 250), 80, 20, 22, "88; 1.1 out; 1.1*20=22.0 -> 22"),
    # uneven requests: utilisation is total usage over total request, not the mean of pod percentages
    ("mixed-req-a", [PodSample(500, 500), PodSample(1500, 300)], 50, 2, 2, "800*100//2000=40 (not mean 60); 1.6 -> 2"),
    ("mixed-req-b", [PodSample(500, 500), PodSample(1500, 1500)], 50, 2, 4, "100%; 2.0*2=4"),
    ("mixed-req-c", [PodSample(250, 250), PodSample(1750, 0)], 50, 2, 1, "250*100//2000=12; 0.24*2=0.48 -> 1"),
    ("mixed-usage", [PodSample(1000, 0), PodSample(1000, 1000)], 50, 2, 2, "1000/2000=50% in band"),
]

SCALE = [
    ("x2", ready(10, 1000), 50, 10, 20, "100/50=2.0; 2*10=20"),
    ("x5", ready(10, 2500), 50, 10, 50, "250/50=5.0; 50"),
    ("one-pod-x6", ready(1, 3000), 50, 1, 6, "300/50=6"),
    ("to-2", ready(10, 100), 50, 10, 2, "10/50=0.2; 2.0 -> 2"),
    ("to-1", ready(10, 10), 50, 10, 1, "1/50=0.02; 0.2 -> 1"),
    ("3-pods-u70", ready(3, 700), 50, 3, 5, "1.4*3=4.199999999999999 -> 5"),
    ("3-pods-u75", ready(3, 750), 50, 3, 5, "1.5*3=4.5 -> 5"),
    ("3-pods-u67", ready(3, 670), 50, 3, 5, "1.34*3=4.0200000000000005 -> 5"),
    ("3-pods-u66", ready(3, 660), 50, 3, 4, "1.32*3=3.96 -> 4"),
    ("ready-not-current", ready(4, 1000), 50, 5, 8, "ready pods (4), not current (5): 2.0*4=8"),
    ("band-keeps-current", ready(4, 500), 50, 5, 5, "in band: current (5) kept, not pod count"),
    ("target-above-100", ready(4, 1500), 150, 4, 4, "150/150=1.0 in band"),
    ("target-above-100-up", ready(4, 2000), 150, 4, 6, "200/150=1.333; 5.33 -> 6"),
    # binary64 overshoot: the exact product is an integer, the double is just above it
    ("float-60-124-15", ready(15, 1240), 60, 15, 32, "124/60*15 = 31.000000000000004 in binary64 -> 32"),
    ("float-70-145-14", ready(14, 1450), 70, 14, 30, "145/70*14 = 29.000000000000004 in binary64 -> 30"),
]

MISSING_UNREADY = [
    # missing pods (no metric): 0 % on a scale-up, max(100, target) % on a scale-down
    ("miss-up", ready(3, 800) + missing(1), 50, 4, 5, "80%->1.6>1: missing=0: 2400/4000=60; 1.2*4=4.8 -> 5"),
    ("miss-down-keep", ready(3, 200) + missing(1), 50, 4, 4, "20%->0.4: missing=100%: 1600/4000=40; 0.8*4=3.2 -> 4"),
    ("miss-down", ready(3, 100) + missing(1), 50, 4, 3, "10%: missing=100%: 1300/4000=32; 0.64*4=2.56 -> 3"),
    ("miss-flip-down", ready(1, 100) + missing(3), 50, 4, 4, "10%: fill 3000: 3100/4000=77 -> 1.54 >1: flip, keep 4"),
    ("miss-flip-down-2", ready(2, 400) + missing(2), 50, 4, 4, "40%: fill 2000: 2800/4000=70 -> 1.4: flip, keep"),
    ("miss-ratio-1", ready(2, 500) + missing(1), 50, 3, 3, "50% = 1.0: no fill; 1000/2000 again: in band"),
    ("miss-up-band", ready(3, 600) + missing(1), 50, 4, 4, "1.2: fill 0: 1800/4000=45 -> 0.9 in band"),
    ("miss-up-band-2", ready(3, 700) + missing(1), 50, 4, 4, "1.4: 2100/4000=52 -> 1.04 in band"),
    ("miss-up-6", ready(3, 900) + missing(1), 50, 4, 6, "1.8: 2700/4000=67 -> 1.34*4=5.36 -> 6"),
    ("miss-up-to-1.0", ready(2, 1000) + missing(2), 50, 4, 4, "2.0: 2000/4000=50 -> 1.0 in band"),
    ("miss-target-fallback", ready(1, 0) + missing(4), 200, 5, 4, "0%: fill max(100,200)=200%: 8000/5000=160; 0.8*5=4"),
    ("miss-request-2000", [PodSample(1000, 200), PodSample(2000, None)], 50, 2, 2, "20%: fill 2000: 2200/3000=73 flip"),
    ("miss-down-many", ready(8, 0) + missing(2), 50, 10, 4, "0%: fill 2000: 2000/10000=20; 0.4*10=4"),
    ("miss-up-many", ready(8, 2000) + missing(2), 50, 10, 32, "4.0: 16000/10000=160; 3.2*10=32"),
    # unready CPU pods: 0 % on a scale-up, ignored otherwise (pending pods are unready)
    ("pending-up", ready(3, 800) + pending(1), 50, 4, 5, "1.6: pending=0: 2400/4000=60; 1.2*4=4.8 -> 5"),
    ("pending-down-ignored", ready(3, 200) + pending(1), 50, 4, 2, "0.4, no scale-up: ignore; 0.4*3=1.2 -> 2"),
    ("unready-flip", ready(2, 600) + not_ready(2, 1000), 50, 4, 4, "1.2: unready=0: 1200/4000=30 -> 0.6 flip"),
    ("unready-up", ready(3, 1000) + not_ready(1, 1000), 50, 4, 6, "2.0: 3000/4000=75 -> 1.5*4=6"),
    ("unready-up-5", ready(4, 1000) + pending(1), 50, 5, 8, "2.0: 4000/5000=80 -> 1.6*5=8"),
    ("unready-and-missing-flip", ready(1, 1000) + not_ready(1, 0) + missing(1), 50, 3, 3, "2.0: 1000/3000=33 flip"),
    ("unready-and-missing-band", ready(2, 900) + not_ready(1, 0) + missing(1), 50, 4, 4, "1.8: 1800/4000=45 band"),
    ("unready-high-ignored", ready(3, 100) + not_ready(1, 5000), 50, 4, 1, "0.2: unready ignored; 0.6 -> 1"),
    ("unready-in-band", ready(3, 500) + pending(1), 50, 4, 4, "1.0, no scale-up: first branch, in band: keep 4"),
    ("unready-up-band", ready(3, 600) + pending(1), 50, 4, 4, "1.2: 1800/4000=45 -> 0.9 in band: keep"),
    # deleted and failed pods are ignored altogether (neither missing nor unready)
    ("deleting", ready(2, 800) + [PodSample(1000, 0, deleting=True)], 50, 3, 4, "only 2 ready: 1.6*2=3.2 -> 4"),
    ("failed", ready(2, 800) + [PodSample(1000, None, phase="Failed")], 50, 3, 4, "failed not missing: 3.2 -> 4"),
    ("deleting-no-metric", ready(2, 100) + [PodSample(1000, None, deleting=True)], 50, 3, 1, "0.2*2=0.4 -> 1"),
]


@pytest.mark.parametrize(
    ("pods", "target", "current", "expected"),
    [pytest.param(p, t, c, e, id=i) for i, p, t, c, e, _ in TOLERANCE + INTEGER_UTILIZATION + SCALE + MISSING_UNREADY],
)
def test_proposal(pods: list[PodSample], target: int, current: int, expected: int) -> None:
    assert resource_replicas(pods, current, target).replicas == expected


@pytest.mark.parametrize(
    ("pods", "utilization"),
    [
        (ready(9, 45, 100) + ready(1, 44, 100), 44),  # 449*100//1000 truncates 44.9
        (ready(2, 150, 300) + ready(1, 149, 300), 49),  # 44900//900 = 49.88 -> 49
        ([PodSample(500, 500), PodSample(1500, 300)], 40),  # total over total
        (ready(3, 200) + missing(1), 20),  # reported utilisation is of ready pods only, before filling
    ],
)
def test_reported_utilization_is_truncated_percent(pods: list[PodSample], utilization: int) -> None:
    assert resource_replicas(pods, len(pods), 50).utilization == utilization


@pytest.mark.parametrize(
    ("pods", "message"),
    [
        ([], "no pods returned by selector"),
        (missing(3), "did not receive metrics"),
        (pending(2), "did not receive metrics"),
        (not_ready(2, 500), "did not receive metrics"),
        ([PodSample(1000, 500, deleting=True)], "did not receive metrics"),
    ],
)
def test_no_metrics(pods: list[PodSample], message: str) -> None:
    with pytest.raises(NoMetrics, match=message):
        resource_replicas(pods, 3, 50)


# groupPods timing for CPU at now=1000 s, initialisation period 300 s, readiness delay 30 s. One pod using
# 50 % of its request, target 50: counted -> proposal 1 (ratio 1.0); not counted -> NoMetrics.
GROUPING = [
    (
        "init-ready-full-window",
        dict(start_time=900, ready=True, ready_transition=950, metric_time=990),
        True,
        "in init period, ready, 990 >= 950+30: counted",
    ),
    (
        "init-ready-short-window",
        dict(start_time=900, ready=True, ready_transition=950, metric_time=975),
        False,
        "in init period, metric 975 < 950+30: not a full window since becoming ready",
    ),
    (
        "init-window-edge",
        dict(start_time=900, ready=True, ready_transition=950, metric_time=980),
        True,
        "metric exactly at transition+window is not Before it: counted",
    ),
    (
        "init-not-ready",
        dict(start_time=900, ready=False, ready_transition=900, metric_time=990),
        False,
        "in init period and not ready",
    ),
    (
        "after-init-never-ready",
        dict(start_time=600, ready=False, ready_transition=620),
        False,
        "after init, not ready, last transition within 30 s of start: never been ready",
    ),
    (
        "after-init-became-unready",
        dict(start_time=600, ready=False, ready_transition=700),
        True,
        "after init, not ready but it was ready once (transition 100 s after start): counted",
    ),
    (
        "after-init-delay-edge",
        dict(start_time=600, ready=False, ready_transition=630),
        True,
        "start+30 > transition is false at exactly 30 s: counted",
    ),
    (
        "after-init-ready-old-metric",
        dict(start_time=600, ready=True, ready_transition=990, metric_time=991),
        True,
        "after init, ready: the window check does not apply",
    ),
    (
        "init-edge-exact",
        dict(start_time=700, ready=True, ready_transition=995, metric_time=996),
        True,
        "start+300 == now is not After(now): past init, ready: counted",
    ),
    (
        "init-edge-inside",
        dict(start_time=701, ready=True, ready_transition=995, metric_time=996),
        False,
        "start+300 > now: in init, 996 < 995+30: not counted",
    ),
    ("no-condition", dict(start_time=600, ready=None), False, "no Ready condition: unready"),
    ("no-start-time", dict(start_time=None, ready=True), False, "no start time: unready"),
]


@pytest.mark.parametrize(("fields", "counted"), [pytest.param(f, c, id=i) for i, f, c, _ in GROUPING])
def test_readiness_grouping(fields: dict[str, object], counted: bool) -> None:
    pod = PodSample(request=1000, usage=500, **fields)  # type: ignore[arg-type]
    if counted:
        assert resource_replicas([pod], 1, 50, now=1000.0).replicas == 1
    else:
        with pytest.raises(NoMetrics):
            resource_replicas([pod], 1, 50, now=1000.0)


def test_unready_pod_counts_zero_only_on_scale_up_in_init_period() -> None:
    # One ready pod at 200 % (ratio 4 against a 50 % target) and one pod started 60 s ago, ready, whose metric
    # window began before it became ready (990 < 980 + 30: unready for CPU, its 3000m sample is dropped).
    # Scale-up, so it counts as 0: 2000/2000 = 100 % -> ratio 2.0 -> ceil(2.0 * 2) = 4.
    young = PodSample(1000, 3000, start_time=940, ready=True, ready_transition=980, metric_time=990)
    assert resource_replicas([PodSample(1000, 2000), young], 2, 50, now=1000.0).replicas == 4
