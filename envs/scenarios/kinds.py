"""Scenario definitions: what changes in the market, from which period, and by how much.

Each scenario is a frozen dataclass validated on construction. Demand scenarios return one
multiplier per period for their target (``factors``); competitor scenarios return one price
per period (``prices``), NaN while the competitor is absent. Scenarios marked ``random``
draw their path from the generator passed to ``factors`` or ``prices``; the market passes
its own ``np_random`` at every reset.

``make_scenario(spec)`` builds one from a config mapping such as
``{"kind": "shock", "start": 50, "factor": 0.5, "target": "market_size"}``.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "TARGETS",
    "CompetitorScenario",
    "DemandScenario",
    "DemandShock",
    "FixedCompetitor",
    "JumpingCompetitor",
    "LinearDrift",
    "RandomWalkDrift",
    "Scenario",
    "Seasonality",
    "UndercuttingCompetitor",
    "make_scenario",
    "make_scenarios",
]

MARKET_SIZE = "market_size"
PRICE_SENSITIVITY = "price_sensitivity"
TARGETS = (MARKET_SIZE, PRICE_SENSITIVITY)


# --------------------------------------------------------------------------------------------
# Validation helpers


def _number(owner: str, name: str, value: Any, rule: str, ok) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{owner}: {name} must be a real number {rule}, got {value!r} "
            f"of type {type(value).__name__}"
        )
    number = float(value)
    if not math.isfinite(number) or not ok(number):
        raise ValueError(f"{owner}: {name} must be a finite number {rule}, got {value!r}")
    return number


def _period(owner: str, name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _target(owner: str, value: Any) -> str:
    key = value.strip().lower().replace("-", "_") if isinstance(value, str) else value
    if key not in TARGETS:
        raise ValueError(f"{owner}: target must be one of {', '.join(TARGETS)}, got {value!r}")
    return key


def _set(instance: Any, name: str, value: Any) -> None:
    object.__setattr__(instance, name, value)


def _active(horizon: int, start: int, duration: int | None) -> np.ndarray:
    """Return a boolean mask of the periods in ``[start, start + duration)``."""
    periods = np.arange(horizon)
    end = horizon if duration is None else start + duration
    return (periods >= start) & (periods < end)


# --------------------------------------------------------------------------------------------
# The interface


@dataclass(frozen=True, kw_only=True)
class Scenario(ABC):
    """A change to a single-product market's demand over the periods of an episode."""

    kind: ClassVar[str]
    variant_key: ClassVar[str | None] = None  # "mode" or "process" where a kind has variants
    variant: ClassVar[str | None] = None
    random: ClassVar[bool] = False  # True when the path is drawn at every reset

    def check_horizon(self, horizon: int) -> None:
        """Raise ``ValueError`` if the scenario cannot act in an episode of ``horizon`` periods."""
        start = getattr(self, "start", 0)
        if start >= horizon:
            raise ValueError(
                f"{self.label}: start must be below the horizon ({horizon} periods), got "
                f"{start!r}; the scenario would never act"
            )

    @property
    def label(self) -> str:
        """The config name, such as ``"shock"`` or ``"competitor (undercut)"``."""
        return self.kind if self.variant is None else f"{self.kind} ({self.variant})"

    def to_dict(self) -> dict[str, Any]:
        """Return the config mapping, so that ``make_scenario(s.to_dict())`` rebuilds ``s``."""
        spec: dict[str, Any] = {"kind": self.kind}
        if self.variant_key is not None:
            spec[self.variant_key] = self.variant
        spec.update({field.name: getattr(self, field.name) for field in fields(self)})
        return spec


@dataclass(frozen=True, kw_only=True)
class DemandScenario(Scenario):
    """A scenario that multiplies the market size or the price sensitivity period by period."""

    target: str = MARKET_SIZE

    @abstractmethod
    def factors(self, horizon: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Return the multiplier of ``target`` in each period, shape ``(horizon,)``.

        A random scenario draws its path from ``rng``; with ``rng=None`` it returns its
        nominal path (no noise).
        """

    @abstractmethod
    def upper_bound(self, horizon: int) -> float:
        """Return an upper bound on the multiplier over every path of ``horizon`` periods."""


@dataclass(frozen=True, kw_only=True)
class CompetitorScenario(Scenario):
    """A competitor whose product is the customers' alternative to buying from the market.

    While the competitor is present its price ``c`` enters the customers' choice as an
    outside option with utility ``u(c) + utility_offset``, where ``u`` is the market's own
    log-odds of buying at a price.
    """

    start: int = 0
    utility_offset: float = 0.0

    @abstractmethod
    def prices(self, horizon: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Return the competitor's price in each period, NaN before ``start``."""

    @abstractmethod
    def max_price(self) -> float:
        """Return an upper bound on the competitor's price."""


# --------------------------------------------------------------------------------------------
# Demand scenarios


@dataclass(frozen=True, kw_only=True)
class DemandShock(DemandScenario):
    """Multiply the target by ``factor`` in periods ``[start, start + duration)``.

    Args:
        target: ``"market_size"`` or ``"price_sensitivity"``.
        factor: the multiplier, >= 0 for the market size and > 0 for the price sensitivity.
        start: first shocked period (0-based), >= 0.
        duration: number of shocked periods, >= 1, or None for a permanent shock.
    """

    factor: float = 1.0
    start: int = 0
    duration: int | None = None

    kind: ClassVar[str] = "shock"

    def __post_init__(self) -> None:
        owner = self.label
        _set(self, "target", _target(owner, self.target))
        if self.target == PRICE_SENSITIVITY:
            factor = _number(
                owner, "factor", self.factor, "> 0 for price_sensitivity", lambda x: x > 0
            )
        else:
            factor = _number(owner, "factor", self.factor, ">= 0", lambda x: x >= 0)
        _set(self, "factor", factor)
        _set(self, "start", _period(owner, "start", self.start, 0))
        if self.duration is not None:
            _set(self, "duration", _period(owner, "duration", self.duration, 1))

    def factors(self, horizon: int, rng: np.random.Generator | None = None) -> np.ndarray:
        return np.where(_active(horizon, self.start, self.duration), self.factor, 1.0)

    def upper_bound(self, horizon: int) -> float:
        return max(1.0, self.factor)


@dataclass(frozen=True, kw_only=True)
class LinearDrift(DemandScenario):
    """Let the target drift linearly: factor ``1 + rate * (min(t, start + duration) - start)``.

    The factor is 1 up to ``start`` and stays at its last value after ``start + duration``.

    Args:
        target: ``"market_size"`` or ``"price_sensitivity"``.
        rate: change of the factor per period, any sign. The factor must stay >= 0 (market
            size) or > 0 (price sensitivity) over the horizon, which the market checks.
        start: period where the drift begins, >= 0.
        duration: periods of drift, >= 1, or None to drift until the end.
    """

    rate: float = 0.0
    start: int = 0
    duration: int | None = None

    kind: ClassVar[str] = "drift"
    variant_key: ClassVar[str | None] = "mode"
    variant: ClassVar[str | None] = "linear"

    def __post_init__(self) -> None:
        owner = self.label
        _set(self, "target", _target(owner, self.target))
        _set(self, "rate", _number(owner, "rate", self.rate, "(any sign)", lambda x: True))
        _set(self, "start", _period(owner, "start", self.start, 0))
        if self.duration is not None:
            _set(self, "duration", _period(owner, "duration", self.duration, 1))

    def factors(self, horizon: int, rng: np.random.Generator | None = None) -> np.ndarray:
        periods = np.arange(horizon)
        end = horizon if self.duration is None else self.start + self.duration
        elapsed = np.clip(np.minimum(periods, end) - self.start, 0, None)
        return 1.0 + self.rate * elapsed

    def upper_bound(self, horizon: int) -> float:
        return float(max(1.0, self.factors(horizon).max()))

    def check_horizon(self, horizon: int) -> None:
        super().check_horizon(horizon)
        lowest = float(self.factors(horizon).min())
        if self.target == PRICE_SENSITIVITY and lowest <= 0:
            raise ValueError(
                f"{self.label}: rate={self.rate!r} takes the price-sensitivity factor to "
                f"{lowest:.6g} within {horizon} periods; it must stay > 0, so use a smaller "
                "rate or a duration"
            )
        if lowest < 0:
            raise ValueError(
                f"{self.label}: rate={self.rate!r} takes the market-size factor to "
                f"{lowest:.6g} within {horizon} periods; it must stay >= 0, so use a smaller "
                "rate or a duration"
            )


@dataclass(frozen=True, kw_only=True)
class RandomWalkDrift(DemandScenario):
    """Let the target follow a bounded geometric random walk drawn at every reset.

    ``log f_t = clip(log f_(t-1) + eps_t, log min_factor, log max_factor)`` with
    ``eps_t ~ Normal(0, volatility^2)`` for ``start < t < start + duration`` and
    ``f_t = 1`` up to ``start``; after ``start + duration`` the factor stays put.

    Args:
        target: ``"market_size"`` or ``"price_sensitivity"``.
        volatility: standard deviation of the log-factor's step per period, >= 0.
        start: period where the walk begins, >= 0.
        duration: periods of walk, >= 1, or None to walk until the end.
        min_factor: lower bound of the factor, > 0 and <= 1.
        max_factor: upper bound of the factor, >= 1 (it also bounds the units-sold
            observation when the target is the market size).
    """

    volatility: float = 0.05
    start: int = 0
    duration: int | None = None
    min_factor: float = 0.25
    max_factor: float = 4.0

    kind: ClassVar[str] = "drift"
    variant_key: ClassVar[str | None] = "mode"
    variant: ClassVar[str | None] = "random-walk"
    random: ClassVar[bool] = True

    def __post_init__(self) -> None:
        owner = self.label
        _set(self, "target", _target(owner, self.target))
        volatility = _number(owner, "volatility", self.volatility, ">= 0", lambda x: x >= 0)
        _set(self, "volatility", volatility)
        _set(self, "start", _period(owner, "start", self.start, 0))
        if self.duration is not None:
            _set(self, "duration", _period(owner, "duration", self.duration, 1))
        low = _number(owner, "min_factor", self.min_factor, "in (0, 1]", lambda x: 0 < x <= 1)
        _set(self, "min_factor", low)
        high = _number(owner, "max_factor", self.max_factor, ">= 1", lambda x: x >= 1)
        _set(self, "max_factor", high)

    def factors(self, horizon: int, rng: np.random.Generator | None = None) -> np.ndarray:
        # Draw every step, whatever start and duration are, so that a scenario list
        # consumes the same amount of the generator for every setting.
        steps = np.zeros(horizon) if rng is None else rng.normal(0.0, self.volatility, horizon)
        walk_length = None if self.duration is None else self.duration - 1
        walking = _active(horizon, self.start + 1, walk_length)
        low, high = math.log(self.min_factor), math.log(self.max_factor)
        log_factor = 0.0
        path = np.empty(horizon)
        for period in range(horizon):
            if walking[period]:
                log_factor = min(max(log_factor + float(steps[period]), low), high)
            path[period] = log_factor
        return np.exp(path)

    def upper_bound(self, horizon: int) -> float:
        return float(self.max_factor)


@dataclass(frozen=True, kw_only=True)
class Seasonality(DemandScenario):
    """Multiply the target by ``1 + amplitude * sin(2 pi t / period + phase)``.

    Args:
        amplitude: in [0, 1] for the market size and in [0, 1) for the price sensitivity,
            so the factor stays >= 0 (or > 0).
        period: length of one cycle in periods, > 0 (need not be an integer).
        phase: phase shift in radians, any finite number.
        target: ``"market_size"`` (default) or ``"price_sensitivity"``.
    """

    amplitude: float = 0.0
    period: float = 1.0
    phase: float = 0.0

    kind: ClassVar[str] = "seasonality"

    def __post_init__(self) -> None:
        owner = self.label
        _set(self, "target", _target(owner, self.target))
        if self.target == PRICE_SENSITIVITY:
            amplitude = _number(
                owner,
                "amplitude",
                self.amplitude,
                "in [0, 1) for price_sensitivity",
                lambda x: 0 <= x < 1,
            )
        else:
            amplitude = _number(
                owner, "amplitude", self.amplitude, "in [0, 1]", lambda x: 0 <= x <= 1
            )
        _set(self, "amplitude", amplitude)
        _set(self, "period", _number(owner, "period", self.period, "> 0", lambda x: x > 0))
        _set(self, "phase", _number(owner, "phase", self.phase, "(any sign)", lambda x: True))

    def factors(self, horizon: int, rng: np.random.Generator | None = None) -> np.ndarray:
        periods = np.arange(horizon, dtype=np.float64)
        factors = 1.0 + self.amplitude * np.sin(2.0 * np.pi * periods / self.period + self.phase)
        # With amplitude 1, rounding may leave a tiny negative factor where the sine is -1.
        return np.maximum(factors, 0.0)

    def upper_bound(self, horizon: int) -> float:
        return 1.0 + self.amplitude


# --------------------------------------------------------------------------------------------
# Competitors


def _competitor_common(scenario: CompetitorScenario) -> None:
    owner = scenario.label
    _set(scenario, "start", _period(owner, "start", scenario.start, 0))
    _set(
        scenario,
        "utility_offset",
        _number(owner, "utility_offset", scenario.utility_offset, "(any sign)", lambda x: True),
    )


@dataclass(frozen=True, kw_only=True)
class FixedCompetitor(CompetitorScenario):
    """A competitor that enters at ``start`` and keeps its price ``price``.

    Args:
        price: the competitor's price (currency), >= 0.
        start: period where the competitor enters, >= 0.
        utility_offset: extra utility of the competitor's product over the market's at the
            same price (log-odds); 0 makes the products equally attractive.
    """

    price: float = 0.0

    kind: ClassVar[str] = "competitor"
    variant_key: ClassVar[str | None] = "process"
    variant: ClassVar[str | None] = "fixed"

    def __post_init__(self) -> None:
        _competitor_common(self)
        _set(self, "price", _number(self.label, "price", self.price, ">= 0", lambda x: x >= 0))

    def prices(self, horizon: int, rng: np.random.Generator | None = None) -> np.ndarray:
        return np.where(_active(horizon, self.start, None), self.price, np.nan)

    def max_price(self) -> float:
        return self.price


@dataclass(frozen=True, kw_only=True)
class UndercuttingCompetitor(CompetitorScenario):
    """A price war: the competitor enters at ``price`` and cuts it by ``step`` every ``interval``.

    ``c_t = max(floor_price, price - step * floor((t - start) / interval))`` for
    ``t >= start``. The cuts follow a fixed calendar and do not react to the market's prices,
    so the market's optimum stays myopic.

    Args:
        price: the entry price (currency), >= 0.
        step: the cut per interval (currency), >= 0.
        interval: periods between cuts, an integer >= 1.
        floor_price: the lowest price the competitor goes to, in [0, price].
        start: period where the competitor enters, >= 0.
        utility_offset: as ``FixedCompetitor``.
    """

    price: float = 0.0
    step: float = 0.0
    interval: int = 1
    floor_price: float = 0.0

    kind: ClassVar[str] = "competitor"
    variant_key: ClassVar[str | None] = "process"
    variant: ClassVar[str | None] = "undercut"

    def __post_init__(self) -> None:
        _competitor_common(self)
        owner = self.label
        _set(self, "price", _number(owner, "price", self.price, ">= 0", lambda x: x >= 0))
        _set(self, "step", _number(owner, "step", self.step, ">= 0", lambda x: x >= 0))
        _set(self, "interval", _period(owner, "interval", self.interval, 1))
        floor_price = _number(
            owner, "floor_price", self.floor_price, f"in [0, price={self.price}]",
            lambda x: 0 <= x <= self.price,
        )
        _set(self, "floor_price", floor_price)

    def prices(self, horizon: int, rng: np.random.Generator | None = None) -> np.ndarray:
        periods = np.arange(horizon)
        cuts = np.maximum(periods - self.start, 0) // self.interval
        prices = np.maximum(self.floor_price, self.price - self.step * cuts)
        return np.where(periods >= self.start, prices, np.nan)

    def max_price(self) -> float:
        return self.price


@dataclass(frozen=True, kw_only=True)
class JumpingCompetitor(CompetitorScenario):
    """A competitor whose price jumps at random times to a uniformly drawn new price.

    The competitor enters at ``start`` with ``price``. In each later period, with
    probability ``jump_probability``, its price jumps to a draw from Uniform(``low``,
    ``high``) and otherwise stays. Jump times and prices are drawn at every reset.

    Args:
        price: the entry price (currency), >= 0.
        jump_probability: probability of a jump per period, in [0, 1].
        low, high: range of the new prices, ``0 <= low <= high``.
        start: period where the competitor enters, >= 0.
        utility_offset: as ``FixedCompetitor``.
    """

    price: float = 0.0
    jump_probability: float = 0.1
    low: float = 0.0
    high: float = 0.0

    kind: ClassVar[str] = "competitor"
    variant_key: ClassVar[str | None] = "process"
    variant: ClassVar[str | None] = "jumps"
    random: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _competitor_common(self)
        owner = self.label
        _set(self, "price", _number(owner, "price", self.price, ">= 0", lambda x: x >= 0))
        jump_probability = _number(
            owner, "jump_probability", self.jump_probability, "in [0, 1]", lambda x: 0 <= x <= 1
        )
        _set(self, "jump_probability", jump_probability)
        _set(self, "low", _number(owner, "low", self.low, ">= 0", lambda x: x >= 0))
        high = _number(owner, "high", self.high, f">= low={self.low}", lambda x: x >= self.low)
        _set(self, "high", high)

    def prices(self, horizon: int, rng: np.random.Generator | None = None) -> np.ndarray:
        # Draw both arrays in full, whatever start is, for a stable use of the generator.
        if rng is None:
            jumps = np.zeros(horizon, dtype=bool)
            targets = np.zeros(horizon)
        else:
            jumps = rng.random(horizon) < self.jump_probability
            targets = rng.uniform(self.low, self.high, horizon)
        prices = np.full(horizon, np.nan)
        current = self.price
        for period in range(self.start, horizon):
            if period > self.start and jumps[period]:
                current = float(targets[period])
            prices[period] = current
        return prices

    def max_price(self) -> float:
        return max(self.price, self.high)


# --------------------------------------------------------------------------------------------
# Building scenarios from configs


SCENARIO_KINDS: Mapping[str, Mapping[str | None, type[Scenario]]] = MappingProxyType(
    {
        "shock": {None: DemandShock},
        "drift": {"linear": LinearDrift, "random-walk": RandomWalkDrift},
        "seasonality": {None: Seasonality},
        "competitor": {
            "fixed": FixedCompetitor,
            "undercut": UndercuttingCompetitor,
            "jumps": JumpingCompetitor,
        },
    }
)
_DEFAULT_VARIANTS = {"drift": "linear", "competitor": "fixed"}
_VARIANT_KEYS = {"drift": "mode", "competitor": "process"}


def _label(kind: str, variant: str | None) -> str:
    return kind if variant is None else f"{kind} ({variant})"


def _normalize(name: Any) -> Any:
    return name.strip().lower().replace("_", "-") if isinstance(name, str) else name


def make_scenario(spec: Scenario | Mapping[str, Any]) -> Scenario:
    """Build a scenario from a config mapping with a ``kind`` key (or return a ``Scenario``).

    Kinds: ``"shock"``; ``"drift"`` with ``mode`` ``"linear"`` (default) or
    ``"random-walk"``; ``"seasonality"``; ``"competitor"`` with ``process`` ``"fixed"``
    (default), ``"undercut"`` or ``"jumps"``. The other keys are the scenario's parameters.
    Raises ``ValueError`` for an unknown kind, variant or parameter, listing the valid ones.
    """
    if isinstance(spec, Scenario):
        return spec
    if not isinstance(spec, Mapping):
        raise TypeError(
            f"A scenario must be a Scenario or a mapping with a 'kind' key, got {spec!r}"
        )
    params = dict(spec)
    if "kind" not in params:
        raise ValueError(
            f"A scenario mapping needs a 'kind' key (one of {', '.join(SCENARIO_KINDS)}), "
            f"got {spec!r}"
        )
    kind = _normalize(params.pop("kind"))
    if kind not in SCENARIO_KINDS:
        raise ValueError(
            f"Unknown scenario kind {spec['kind']!r}; valid kinds: {', '.join(SCENARIO_KINDS)}"
        )

    variants = SCENARIO_KINDS[kind]
    if kind in _VARIANT_KEYS:
        key = _VARIANT_KEYS[kind]
        variant = _normalize(params.pop(key, _DEFAULT_VARIANTS[kind]))
        if variant not in variants:
            raise ValueError(
                f"Unknown {key} {variant!r} for scenario kind {kind!r}; valid: "
                f"{', '.join(str(v) for v in variants)}"
            )
    else:
        variant = None
    cls = variants[variant]

    specs = fields(cls)
    valid = [field.name for field in specs]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(
            f"Unknown parameter(s) {', '.join(map(repr, unknown))} for scenario "
            f"{_label(kind, variant)!r}; valid parameters: {', '.join(valid)}"
        )
    missing = [
        field.name
        for field in specs
        if field.default is MISSING
        and field.default_factory is MISSING
        and field.name not in params
    ]
    if missing:
        raise ValueError(
            f"Missing parameter(s) {', '.join(map(repr, missing))} for scenario "
            f"{_label(kind, variant)!r}"
        )
    return cls(**params)


def make_scenarios(specs: Any) -> tuple[Scenario, ...]:
    """Build a tuple of scenarios from None, one scenario or mapping, or a sequence of them."""
    if specs is None:
        return ()
    if isinstance(specs, (Scenario, Mapping)):
        specs = [specs]
    if isinstance(specs, (str, bytes)) or not hasattr(specs, "__iter__"):
        raise TypeError(
            "scenarios must be a list of Scenario objects or mappings with a 'kind' key, "
            f"got {specs!r}"
        )
    return tuple(make_scenario(spec) for spec in specs)
