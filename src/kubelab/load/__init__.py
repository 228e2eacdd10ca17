"""Load testing: profiles (what to aim for when), the generator, mergeable latency statistics and reports.

``build_request`` checks and encodes the request, ``parse_profile`` the load over time, ``run_load`` runs a
``LoadTest`` and returns a ``LoadResult`` (siege's ``Summary`` plus percentiles, and per-``Interval`` stats),
``load_report`` turns it into an HTML page (with resource samples beside it, if given).
"""

from __future__ import annotations

from kubelab.load._page import load_report
from kubelab.load._profiles import (
    COURSE_SCHEDULE,
    Constant,
    Profile,
    Ramp,
    Sine,
    Spike,
    Steps,
    Target,
    TimeScaled,
    course,
    parse_duration,
    parse_profile,
)
from kubelab.load._request import Request, build_request
from kubelab.load._run import LoadResult, LoadTest, run_load
from kubelab.load._stats import Interval, Summary

__all__ = [
    "COURSE_SCHEDULE",
    "Constant",
    "Interval",
    "LoadResult",
    "LoadTest",
    "Profile",
    "Ramp",
    "Request",
    "Sine",
    "Spike",
    "Steps",
    "Summary",
    "Target",
    "TimeScaled",
    "build_request",
    "course",
    "load_report",
    "parse_duration",
    "parse_profile",
    "run_load",
]
