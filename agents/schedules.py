"""Exploration (epsilon) and step-size (alpha) schedules for the tabular and bandit agents.

An epsilon schedule maps the number of steps taken so far, t = 0, 1, 2, ..., to an
exploration rate. Every epsilon schedule here is non-increasing in t and never goes below
its floor:

- constant:     epsilon(t) = start
- linear:       epsilon(t) = start + (floor - start) * min(1, t / decay_steps)
- exponential:  epsilon(t) = floor + (start - floor) * exp(-t / decay_steps)

An alpha schedule maps the number of times a state-action pair has been updated, counting
the current update, n = 1, 2, ..., to a step size:

- constant:        alpha(n) = alpha
- inverse-visits:  alpha(n) = 1 / n            (the sample average of the targets)
- polynomial:      alpha(n) = 1 / n ** power   (power in (0.5, 1], the rates for which
                                                Q-learning converges in the tabular case)

Schedules evaluate scalars with ``__call__`` and numpy arrays with ``values``; both give
the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

EPSILON_SCHEDULES = ("constant", "linear", "exponential")
ALPHA_SCHEDULES = ("constant", "inverse-visits", "polynomial")


def _check_probability(name: str, value: float) -> float:
    if not isinstance(value, (int, float, np.floating, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return value


def _check_positive(name: str, value: float) -> float:
    if not isinstance(value, (int, float, np.floating, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    value = float(value)
    if not value > 0.0 or not math.isfinite(value):
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


@dataclass(frozen=True)
class EpsilonSchedule:
    """An exploration rate that starts at ``start`` and decays to ``floor``, never below it."""

    kind: str
    start: float
    floor: float
    decay_steps: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in EPSILON_SCHEDULES:
            raise ValueError(
                f"unknown epsilon schedule {self.kind!r}; valid schedules: {', '.join(EPSILON_SCHEDULES)}"
            )
        start = _check_probability("epsilon start", self.start)
        floor = _check_probability("epsilon floor", self.floor)
        if self.kind == "constant":
            # A constant schedule is its own floor.
            floor = start
        elif floor > start:
            raise ValueError(
                f"epsilon floor ({floor}) must not exceed the start value ({start}); "
                "lower the floor or raise the start"
            )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "floor", floor)
        object.__setattr__(self, "decay_steps", _check_positive("epsilon decay_steps", self.decay_steps))

    def values(self, steps: np.ndarray) -> np.ndarray:
        """Return epsilon at each step count in ``steps`` (non-negative)."""
        t = np.asarray(steps, dtype=np.float64)
        if np.any(t < 0):
            raise ValueError("step counts for an epsilon schedule must be non-negative")

        if self.kind == "constant":
            eps = np.full_like(t, self.start)
        elif self.kind == "linear":
            fraction = np.minimum(1.0, t / self.decay_steps)
            eps = self.start + (self.floor - self.start) * fraction
        else:
            eps = self.floor + (self.start - self.floor) * np.exp(-t / self.decay_steps)

        # Rounding in the formulas above could land one ulp under the floor; clip it back.
        return np.clip(eps, self.floor, self.start)

    def __call__(self, step: int) -> float:
        # The same formulas as ``values`` on one number, without numpy's per-call overhead.
        t = float(step)
        if t < 0:
            raise ValueError("step counts for an epsilon schedule must be non-negative")
        if self.kind == "constant":
            return self.start
        if self.kind == "linear":
            eps = self.start + (self.floor - self.start) * min(1.0, t / self.decay_steps)
        else:
            eps = self.floor + (self.start - self.floor) * math.exp(-t / self.decay_steps)
        return min(max(eps, self.floor), self.start)


@dataclass(frozen=True)
class AlphaSchedule:
    """A step size for the n-th update of one state-action pair (n counts from 1)."""

    kind: str
    alpha: float = 0.1
    power: float = 0.8

    # Below this power the step sizes shrink too slowly for tabular Q-learning to converge.
    MIN_POWER: ClassVar[float] = 0.5

    def __post_init__(self) -> None:
        if self.kind not in ALPHA_SCHEDULES:
            raise ValueError(
                f"unknown alpha schedule {self.kind!r}; valid schedules: {', '.join(ALPHA_SCHEDULES)}"
            )
        alpha = _check_probability("alpha", self.alpha)
        if alpha == 0.0:
            raise ValueError("alpha must be in (0, 1]; alpha = 0 would never learn")
        object.__setattr__(self, "alpha", alpha)
        power = _check_positive("alpha power", self.power)
        if not self.MIN_POWER < power <= 1.0:
            raise ValueError(f"alpha power must be in (0.5, 1], got {power}")
        object.__setattr__(self, "power", power)

    def values(self, visits: np.ndarray) -> np.ndarray:
        """Return the step size for each update count in ``visits`` (each at least 1)."""
        n = np.asarray(visits, dtype=np.float64)
        if np.any(n < 1):
            raise ValueError("update counts for an alpha schedule start at 1")

        if self.kind == "constant":
            return np.full_like(n, self.alpha)
        if self.kind == "inverse-visits":
            return 1.0 / n
        return 1.0 / n**self.power

    def __call__(self, visits: int) -> float:
        n = float(visits)
        if n < 1:
            raise ValueError("update counts for an alpha schedule start at 1")
        if self.kind == "constant":
            return self.alpha
        if self.kind == "inverse-visits":
            return 1.0 / n
        return 1.0 / n**self.power


def make_epsilon_schedule(
    kind: str, start: float, floor: float = 0.0, decay_steps: float = 1.0
) -> EpsilonSchedule:
    """Build an epsilon schedule by name: constant, linear or exponential."""
    return EpsilonSchedule(kind=kind, start=start, floor=floor, decay_steps=decay_steps)


def make_alpha_schedule(kind: str, alpha: float = 0.1, power: float = 0.8) -> AlphaSchedule:
    """Build an alpha schedule by name: constant, inverse-visits or polynomial."""
    return AlphaSchedule(kind=kind, alpha=alpha, power=power)
