"""A load profile sampled once per second: the open-loop rate or the closed-loop users at each second.

The simulator reads any object with ``duration`` and ``tick(t) -> target | None`` where a target has
``rate`` (open loop, requests/s), ``users`` (closed loop, siege ``-c``) and ``delay`` (each user sleeps a
uniform ``[0, delay]`` s between requests, siege ``-d``) — the contract of ``kubelab.load`` profiles.
Sampling happens once, so a search over many recipes pays for it once, and the arrivals drawn from it
are shared (common random numbers: recipes are compared on the same requests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from kubelab.errors import RecipeError

__all__ = ["LoadProfile", "LoadTarget", "Schedule"]


class LoadTarget(Protocol):
    """What a profile asks for at one instant (``kubelab.load.Target``)."""

    @property
    def rate(self) -> float | None: ...
    @property
    def users(self) -> int | None: ...
    @property
    def delay(self) -> float: ...


class LoadProfile(Protocol):
    """A load profile (``kubelab.load.Profile``): ``tick(t)`` until it returns None."""

    @property
    def duration(self) -> float: ...
    def tick(self, t: float) -> LoadTarget | None: ...


@dataclass(frozen=True)
class Schedule:
    """Per-second arrays: ``rate`` (0 where closed loop), ``users`` (0 where open loop), ``delay``."""

    rate: npt.NDArray[np.float64]
    users: npt.NDArray[np.int64]
    delay: npt.NDArray[np.float64]

    @property
    def duration(self) -> int:
        """Seconds of load."""
        return len(self.rate)

    @property
    def closed(self) -> bool:
        """Whether any second is closed loop (users)."""
        return bool(self.users.any())

    @classmethod
    def from_profile(cls, profile: LoadProfile, *, max_seconds: int = 7 * 86400) -> Schedule:
        """Sample ``profile.tick`` at every whole second until it returns None or its duration ends.

        Raises:
            RecipeError: the profile asks for nothing, or for both a rate and users at once.
        """
        limit = min(max_seconds, math.ceil(profile.duration)) if math.isfinite(profile.duration) else max_seconds
        rate, users, delay = [], [], []
        for t in range(limit):
            target = profile.tick(float(t))
            if target is None:
                break
            if target.rate is not None and target.users is not None:
                raise RecipeError(f"load profile at t={t}s sets both rate and users; pick one")
            rate.append(float(target.rate or 0.0))
            users.append(int(target.users or 0))
            delay.append(float(target.delay))
        if not rate:
            raise RecipeError("the load profile is empty (its first tick returned None)")
        return cls(np.asarray(rate), np.asarray(users, dtype=np.int64), np.asarray(delay))

    @classmethod
    def constant(cls, seconds: int, *, rate: float = 0.0, users: int = 0, delay: float = 0.0) -> Schedule:
        """A constant schedule (tests, benchmarks)."""
        return cls(np.full(seconds, rate), np.full(seconds, users, dtype=np.int64), np.full(seconds, delay))

    def open_arrivals(self, rng: np.random.Generator) -> npt.NDArray[np.float64]:
        """Poisson arrival times (sorted) for the open-loop seconds."""
        counts = rng.poisson(self.rate)
        starts = np.repeat(np.arange(self.duration, dtype=np.float64), counts)
        return np.sort(starts + rng.random(starts.size), kind="stable")  # sorted by the second: runs, fast
