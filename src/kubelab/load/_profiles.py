"""Load profiles: what the load generator aims for at each moment of a run.

A profile is a tiny class with one method, ``tick(t) -> Target | None`` (locust's ``LoadTestShape``, minus the
users/spawn-rate coupling). A target is either open loop (``rate`` requests per second on a fixed schedule) or
closed loop (``users`` concurrent users, each sleeping uniform ``[0, delay]`` seconds between requests, like
``siege -c users -d delay``).

Profiles are built from text by ``parse_profile``; the syntax (documented in docs/loadtest.md) is ``KIND`` or
``KIND:ARGS``, values in the loop's unit (requests/s open loop, users closed loop), durations as ``90``,
``90s``, ``1.5m``, ``500ms`` or ``1h``::

    constant[:V][@DUR]                       V (default: --rate or --concurrency) for DUR (default --duration)
    step:V1,V2,...@DUR                       each value held DUR
    ramp:FROM..TO[@DUR]                      a straight line over DUR
    spike:base=B,peak=P,at=T,width=W         B, with P from T to T+W (length: --duration)
    sine:mean=M,amp=A,period=P               M + A sin(2 pi t / P) (length: --duration)
    csv:FILE  (or FILE.csv)                  rows of seconds,target; each target holds until the next row
    course                                   seed 001: 30 one-minute siege runs, closed loop
"""

from __future__ import annotations

import abc
import bisect
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kubelab.errors import LoadTestError, Problem, SpecError

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


@dataclass(frozen=True)
class Target:
    """What the generator aims for at one moment.

    Attributes:
        rate: Open loop: requests per second, sent on a fixed schedule whatever the server does.
        users: Closed loop: concurrent users, each sending its next request when the last one is answered
            (``siege -c``).
        delay: Closed loop: each user sleeps uniform ``[0, delay]`` seconds between requests (``siege -d``).
    """

    rate: float | None = None
    users: int | None = None
    delay: float = 0.0

    @property
    def closed(self) -> bool:
        """True for a closed-loop target (users), False for an open-loop one (rate)."""
        return self.users is not None


class Profile(abc.ABC):
    """A load shape over time.

    Contract: ``tick(t)`` is pure (same ``t``, same answer) and cheap (the generator calls it often); it returns
    a ``Target`` for ``0 <= t < duration`` and ``None`` from ``duration`` on. Every target of one profile is of
    the same kind (all open loop or all closed loop). ``duration`` may be ``math.inf`` for a constant load that
    only ``--requests`` or an interrupt ends.
    """

    duration: float

    @abc.abstractmethod
    def tick(self, t: float) -> Target | None:
        """The target at ``t`` seconds after the start, or ``None`` once the profile is finished."""

    @property
    def closed(self) -> bool:
        """True when this profile drives concurrent users (closed loop) rather than a request rate."""
        first = self.tick(0.0)
        return first is not None and first.closed


def _target(value: float, closed: bool, delay: float) -> Target:
    if closed:
        return Target(users=max(0, round(value)), delay=delay)
    return Target(rate=max(0.0, value))


@dataclass(frozen=True)
class Constant(Profile):
    """The same target from start to ``duration``."""

    target: Target
    duration: float = math.inf

    def tick(self, t: float) -> Target | None:
        return self.target if t < self.duration else None


@dataclass(frozen=True)
class Steps(Profile):
    """Targets held one after another: ``targets[i]`` from ``starts[i]`` until the next start or ``duration``."""

    starts: tuple[float, ...]
    targets: tuple[Target, ...]
    duration: float

    def __post_init__(self) -> None:
        if len(self.starts) != len(self.targets) or not self.starts:
            raise ValueError("Steps needs as many start times as targets, at least one")
        if list(self.starts) != sorted(self.starts) or self.starts[0] != 0:
            raise ValueError("Steps start at 0 and their start times increase")

    @classmethod
    def uniform(cls, targets: Sequence[Target], each: float) -> Steps:
        """``targets`` held ``each`` seconds apiece."""
        return cls(tuple(i * each for i in range(len(targets))), tuple(targets), len(targets) * each)

    def tick(self, t: float) -> Target | None:
        if t >= self.duration or t < 0:
            return None
        return self.targets[bisect.bisect_right(self.starts, t) - 1]


class _Curve(Profile):
    """A load given by a formula: ``value(t)`` requests/s (open loop) or users, rounded (closed loop)."""

    closed_loop: bool
    delay: float

    @abc.abstractmethod
    def value(self, t: float) -> float:
        """The load at ``t`` seconds, in the loop's unit."""

    def tick(self, t: float) -> Target | None:
        if t >= self.duration:
            return None
        return _target(self.value(t), self.closed_loop, self.delay)


@dataclass(frozen=True)
class Ramp(_Curve):
    """A straight line from ``start`` to ``end`` over ``duration`` seconds (rate, or users rounded)."""

    start: float
    end: float
    duration: float
    closed_loop: bool = False
    delay: float = 0.0

    def value(self, t: float) -> float:
        return self.start + (self.end - self.start) * t / self.duration


@dataclass(frozen=True)
class Spike(_Curve):
    """``base`` load with a burst of ``peak`` from ``at`` for ``width`` seconds."""

    base: float
    peak: float
    at: float
    width: float
    duration: float
    closed_loop: bool = False
    delay: float = 0.0

    def value(self, t: float) -> float:
        return self.peak if self.at <= t < self.at + self.width else self.base


@dataclass(frozen=True)
class Sine(_Curve):
    """``mean + amp * sin(2 pi t / period)``: a day's traffic squeezed into ``period`` seconds."""

    mean: float
    amp: float
    period: float
    duration: float
    closed_loop: bool = False
    delay: float = 0.0

    def value(self, t: float) -> float:
        return self.mean + self.amp * math.sin(2 * math.pi * t / self.period)


@dataclass(frozen=True)
class TimeScaled(Profile):
    """``profile`` replayed ``factor`` times faster: ``tick(t) = profile.tick(t * factor)``.

    Only the schedule is compressed; rates, users and each user's delay stay as they are, so the server sees
    the same load levels in the same order, each for a shorter time.
    """

    profile: Profile
    factor: float

    def __post_init__(self) -> None:
        if not self.factor > 0 or not math.isfinite(self.factor):
            raise ValueError(f"time scale must be a positive number, not {self.factor}")

    @property
    def duration(self) -> float:  # type: ignore[override]
        return self.profile.duration / self.factor

    def tick(self, t: float) -> Target | None:
        return self.profile.tick(t * self.factor)


#: Seed 001's variable load: 30 one-minute siege runs as (minutes, delay D, users C), in order.
COURSE_SCHEDULE: tuple[tuple[int, float, int], ...] = (
    (5, 100, 20), (2, 50, 20), (2, 10, 20), (1, 3, 20), (5, 1, 20),
    (5, 1, 30), (1, 3, 20), (2, 60, 20), (7, 80, 20),
)


def course() -> Steps:
    """Seed 001's 30-minute schedule of one-minute closed-loop runs (``siege -c C -d D -t 60s``)."""
    targets = [Target(users=c, delay=d) for minutes, d, c in COURSE_SCHEDULE for _ in range(minutes)]
    return Steps.uniform(targets, 60.0)


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|min|m|h)?\s*$")


def parse_duration(text: str) -> float:
    """Seconds in ``text``: ``90``, ``90s``, ``1.5m``, ``500ms``, ``1h``.

    Raises:
        LoadTestError: ``text`` is not a positive duration.
    """
    match = _DURATION.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise LoadTestError(f"bad duration {text!r}; hint: a positive number with an optional unit: 90, 90s, "
                            "1.5m, 500ms, 1h")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def parse_profile(text: str, *, rate: float | None = None, users: int | None = None, delay: float = 0.0,
                  duration: float | None = None) -> Profile:
    """Build a profile from its text form (module docstring; docs/loadtest.md).

    Args:
        text: The profile, e.g. ``"step:10,50,100@60s"`` or ``"sine:mean=50,amp=30,period=300"``.
        rate: ``--rate``: makes the profile open loop; the default value of ``constant``.
        users: ``--concurrency``: makes it closed loop (values are users); the default value of ``constant``.
        delay: ``--delay``: closed loop, each user sleeps uniform ``[0, delay]`` s between requests.
        duration: ``--duration`` in seconds: the length of profiles whose text gives none.

    Raises:
        LoadTestError: the text is not a profile, with the expected syntax of its kind.
        SpecError: a CSV profile file with bad rows (all of them, each with file:line).
    """
    if rate is not None and users is not None:
        raise LoadTestError("give either a rate (open loop) or a number of users (closed loop), not both")
    kind, sep, args = text.strip().partition(":")
    if not sep and kind.endswith(".csv"):
        kind, args = "csv", kind
    if kind not in _KINDS:
        raise LoadTestError(f"unknown profile {kind!r} in {text!r}; hint: one of {', '.join(_KINDS)}")
    make, syntax = _KINDS[kind]
    timed = "@DURATION" in syntax and "@" in args  # a CSV path may hold an @
    body, at, dur_text = args.rpartition("@") if timed else (args, "", "")
    try:
        length = parse_duration(dur_text) if at else duration
        return make(_Args(text, kind, body, users is not None, rate if rate is not None else users, delay, length))
    except _BadArgs as exc:
        raise LoadTestError(f"bad profile {text!r}: {exc}; hint: {syntax}") from None


class _BadArgs(LoadTestError):
    pass


@dataclass(frozen=True)
class _Args:
    text: str
    kind: str
    body: str
    closed: bool
    default: float | None
    delay: float
    duration: float | None

    def value(self, raw: str, name: str = "value") -> float:
        try:
            number = float(raw)
        except ValueError:
            raise _BadArgs(f"{name} {raw!r} is not a number") from None
        if not math.isfinite(number) or number < 0:
            raise _BadArgs(f"{name} {raw!r} must be a number >= 0")
        if self.closed and number != int(number):
            raise _BadArgs(f"{name} {raw!r} must be a whole number of users in a closed loop")
        return number

    def keywords(self, names: tuple[str, ...], durations: tuple[str, ...] = ()) -> list[float]:
        """The values of ``name=value`` pairs in the order of ``names``, each given once."""
        found: dict[str, float] = {}
        for item in filter(None, (i.strip() for i in self.body.split(","))):
            key, eq, raw = item.partition("=")
            if not eq or key not in names:
                raise _BadArgs(f"{item!r} is not one of {', '.join(n + '=' for n in names)}")
            found[key] = _duration(raw, key) if key in durations else self.value(raw, key)
        missing = [n for n in names if n not in found]
        if missing:
            raise _BadArgs(f"missing {', '.join(missing)}")
        return [found[n] for n in names]

    def length(self) -> float:
        if self.duration is None:
            raise _BadArgs("needs a length: give --duration (or @DURATION where the syntax has one)")
        return self.duration

    def target(self, value: float) -> Target:
        return _target(value, self.closed, self.delay)

    def curve(self, cls: Callable[..., Profile], *values: float) -> Profile:
        """``cls(*values, length, closed_loop, delay)``: a ``_Curve`` of this loop, as long as the profile."""
        return cls(*values, self.length(), self.closed, self.delay)


def _duration(raw: str, name: str) -> float:
    try:
        return parse_duration(raw)
    except LoadTestError:
        raise _BadArgs(f"{name} {raw!r} is not a duration (90, 90s, 1.5m, 500ms)") from None


def _constant(a: _Args) -> Profile:
    if a.body:
        value = a.value(a.body)
    elif a.default is not None:
        value = a.default
    else:
        raise _BadArgs("no value: give one (constant:100) or --rate / --concurrency")
    return Constant(a.target(value), a.duration if a.duration is not None else math.inf)


def _step(a: _Args) -> Profile:
    values = [a.value(v.strip()) for v in a.body.split(",")] if a.body.strip() else []
    if not values:
        raise _BadArgs("no values")
    if a.duration is None:
        raise _BadArgs("no step length: end with @DURATION")
    return Steps.uniform([a.target(v) for v in values], a.duration)


def _ramp(a: _Args) -> Profile:
    start, dots, end = a.body.partition("..")
    if not dots:
        raise _BadArgs(f"{a.body!r} is not FROM..TO")
    return a.curve(Ramp, a.value(start.strip(), "FROM"), a.value(end.strip(), "TO"))


def _spike(a: _Args) -> Profile:
    return a.curve(Spike, *a.keywords(("base", "peak", "at", "width"), durations=("at", "width")))


def _sine(a: _Args) -> Profile:
    mean, amp, period = a.keywords(("mean", "amp", "period"), durations=("period",))
    if amp > mean:
        raise _BadArgs(f"amp {amp:g} exceeds mean {mean:g}: the load would go below zero")
    return a.curve(Sine, mean, amp, period)


def _course(a: _Args) -> Profile:
    if a.body:
        raise _BadArgs("course takes no arguments")
    if a.default is not None and not a.closed:
        raise _BadArgs("course is closed loop (users and delays of its own); drop --rate")
    return course()


def _csv(a: _Args) -> Profile:
    path = Path(a.body)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise LoadTestError(f"profile file {a.body}: {exc.strerror or exc}; hint: a CSV of seconds,target "
                            "rows") from None
    rows: list[tuple[float, float]] = []
    problems: list[Problem] = []
    for number, line in enumerate(lines, start=1):
        cells = [c.strip() for c in line.split(",")]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if number == 1 and not _is_number(cells[0]):
            continue  # a header
        if len(cells) != 2 or not all(_is_number(c) for c in cells):
            problems.append(Problem(str(path), number, 1, "", f"{line.strip()!r} is not seconds,target"))
            continue
        t, value = float(cells[0]), float(cells[1])
        if value < 0 or (a.closed and value != int(value)):
            what = "a whole number of users" if a.closed else "a rate >= 0"
            problems.append(Problem(str(path), number, len(cells[0]) + 2, "target", f"{cells[1]} is not {what}"))
        elif rows and t <= rows[-1][0]:
            problems.append(Problem(str(path), number, 1, "seconds", f"{cells[0]} does not increase",
                                    "rows in time order, each time once"))
        elif not rows and t != 0:
            problems.append(Problem(str(path), number, 1, "seconds", "the first row must be at 0 s"))
        rows.append((t, value))
    if not rows and not problems:
        problems.append(Problem(str(path), None, None, "", "no rows", "rows of seconds,target, from 0 s"))
    if problems:
        raise SpecError(problems)
    starts = tuple(t for t, _ in rows)
    last_gap = starts[-1] - starts[-2] if len(starts) > 1 else 0.0
    end = a.duration if a.duration is not None else starts[-1] + last_gap
    if end <= starts[-1]:
        raise LoadTestError(f"profile file {path}: the last row holds for no time; hint: give --duration")
    return Steps(starts, tuple(a.target(v) for _, v in rows), end)


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


#: Each kind of profile: what builds it, and its syntax (the hint of an error; ``@DURATION`` when it takes one).
_KINDS: dict[str, tuple[Callable[[_Args], Profile], str]] = {
    "constant": (_constant, "constant[:VALUE][@DURATION], e.g. constant:100@60s"),
    "step": (_step, "step:V1,V2,...@DURATION (each value held DURATION), e.g. step:10,50,100@60s"),
    "ramp": (_ramp, "ramp:FROM..TO[@DURATION], e.g. ramp:10..200@2m"),
    "spike": (_spike, "spike:base=B,peak=P,at=T,width=W, e.g. spike:base=50,peak=500,at=30s,width=10s"),
    "sine": (_sine, "sine:mean=M,amp=A,period=P, e.g. sine:mean=50,amp=30,period=300s"),
    "csv": (_csv, "csv:FILE with rows of seconds,target (or just FILE.csv)"),
    "course": (_course, "course (seed 001's 30 one-minute closed-loop runs)"),
}
