"""Load testing: profiles (what to aim for when), the generator, mergeable latency statistics and reports."""

from __future__ import annotations

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

__all__ = [
    "COURSE_SCHEDULE",
    "Constant",
    "Profile",
    "Ramp",
    "Sine",
    "Spike",
    "Steps",
    "Target",
    "TimeScaled",
    "course",
    "parse_duration",
    "parse_profile",
]
