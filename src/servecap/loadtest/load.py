"""Load shapes, as pure data: how requests are released, the steps of a sweep, arrival times.

`bench` and `simulate` both read these, so a measured run and its simulation offer the same
load; nothing here does I/O.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

from ..errors import InvalidValueError

MODES = ("single", "users", "concurrency", "rate")


@dataclass(frozen=True)
class LoadProfile:
    """How requests are released. `requests` caps the count; `duration_s` the time."""

    mode: str
    requests: int | None = None
    concurrency: int | None = None
    rate: float | None = None  # requests per second
    burstiness: float = 1.0  # gamma shape of the inter-arrival times; 1 is Poisson
    duration_s: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidValueError(f"unknown load mode {self.mode!r}", f"use {', '.join(MODES)}")
        for name in ("requests", "concurrency", "rate", "duration_s"):
            value = getattr(self, name)
            if value is not None and not (0 < value < math.inf):
                flag = name.removesuffix("_s")
                raise InvalidValueError(
                    f"{flag} must be a positive number, not {value}", f"give a positive {flag}"
                )
        if not 0 < self.burstiness < math.inf:
            raise InvalidValueError("burstiness must be positive", "1 is Poisson; <1 burstier")

    @property
    def unit(self) -> str:
        """What the load of this profile counts."""
        return UNITS[self.mode]


UNITS = {"single": "streams", "users": "users", "concurrency": "streams", "rate": "requests/s"}


@dataclass(frozen=True)
class LoadStep:
    """One load level of a run: its phase label ('' outside sweeps), profile, load, count."""

    phase: str
    profile: LoadProfile
    load: float  # users, streams or requests/s
    requests: int

    @property
    def unit(self) -> str:
        return self.profile.unit


def load_steps(
    profile: LoadProfile,
    sweep_users: list[int] | None = None,
    sweep_rates: list[float] | None = None,
) -> list[LoadStep]:
    """The steps a run takes: each sweep level, or the one profile."""
    if sweep_users:
        return [
            LoadStep(f"users={n}", LoadProfile("users", requests=n), float(n), n)
            for n in sweep_users
        ]
    if sweep_rates:
        count = profile.requests or 100
        return [
            LoadStep(
                f"rate={r:g}",
                LoadProfile("rate", requests=count, rate=r, burstiness=profile.burstiness),
                float(r),
                count,
            )
            for r in sweep_rates
        ]
    if profile.mode in ("users", "single"):
        count = profile.requests or 1
        return [LoadStep("", profile, float(count if profile.mode == "users" else 1), count)]
    count = profile.requests or (
        max(64, (profile.concurrency or 1) * 4) if profile.duration_s else 100
    )
    load = profile.concurrency if profile.mode == "concurrency" else profile.rate
    return [LoadStep("", profile, float(load or 0), count)]


def phase_load(phase: str) -> float:
    """The load a sweep phase label names: 16 for 'users=16' (0 when it names none)."""
    try:
        return float(phase.split("=", 1)[1])
    except (IndexError, ValueError):
        return 0.0


def phase_mode(phase: str, mode: str = "") -> str:
    """The load mode of a phase label's step ('users=16': users), else the run's mode."""
    if phase.startswith("users="):
        return "users"
    if phase.startswith("rate="):
        return "rate"
    return mode


def phase_unit(phase: str, mode: str = "") -> str:
    """The unit of a phase label's load ('users=16': users), else of the run's mode."""
    if phase.startswith("users="):
        return "users"
    if phase.startswith("rate="):
        return "requests/s"
    return UNITS.get(mode, "streams")


def arrival_times(rate: float, count: int, burstiness: float, seed: int) -> list[float]:
    """Absolute send offsets (s) for a Poisson (or gamma) process, fixed before the run."""
    rng = random.Random(seed)
    shape = burstiness
    scale = 1.0 / (rate * shape)
    return list(itertools.accumulate(rng.gammavariate(shape, scale) for _ in range(count)))


def streams_at_start(profile: LoadProfile, requests: int) -> int:
    """How many requests a profile has in flight at once from the start (0: unknown)."""
    if profile.mode == "users":
        return requests
    if profile.mode == "concurrency":
        return min(profile.concurrency or 1, profile.requests or requests)
    return 1 if profile.mode == "single" else 0
