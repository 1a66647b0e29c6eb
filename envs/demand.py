"""Customer response models: how many customers buy at a given price, and the best price.

Every model maps a price ``p`` (currency) to a purchase probability ``P(p)`` in [0, 1] for one
arriving customer. With ``M = market_size`` expected arrivals per period, expected demand is
``D(p) = M * P(p)`` (units/period) and expected profit with unit cost ``c`` is
``R(p) = (p - c) * D(p)`` (currency/period; revenue when ``c = 0``). All methods are batched:
an array of prices gives an array of the same shape, a scalar gives a numpy float. The models
are deterministic; random arrivals and sales are drawn by the markets.

Models, their formulas and their optimum ``p* = argmax_p R(p)``:

``LinearDemand(intercept=a, slope=b)``
    ``D(p) = max(0, a - b p)``, ``M = a``, ``P(p) = clip(1 - b p / a, 0, 1)``.
    ``p* = (a / b + c) / 2``. Revenue is a concave parabola up to the choke price ``a / b`` and
    zero beyond it, so clipping ``p*`` into price bounds gives the bounded optimum.

``LogitDemand(alpha, beta, market_size)``
    ``P(p) = 1 / (1 + exp(-(alpha - beta p)))``.
    ``p* = c + (1 + W(exp(alpha - beta c - 1))) / beta`` with ``W`` the principal branch of the
    Lambert W function. It solves the first-order condition ``beta (p - c) (1 - P(p)) = 1``.
    For ``alpha - beta c - 1 > 700``, where ``exp`` overflows, ``W(exp(z))`` is found by
    Newton's method on ``w + log(w) = z``. Revenue is unimodal, so clipping is exact.

``ExponentialDemand(base_rate=lambda0, sensitivity=alpha)``
    Arrival intensity of buyers ``lambda(p) = lambda0 exp(-alpha p)`` (Gallego and van Ryzin,
    1994), so ``M = lambda0`` and ``P(p) = exp(-alpha p)`` for ``p >= 0`` (1 for ``p < 0``).
    ``p* = c + 1 / alpha``; revenue is unimodal, so clipping is exact.

``ConstantElasticityDemand(scale=A, elasticity=eps, floor, cap)``
    ``D(p) = clip(A p^(-eps), floor, cap)`` for ``p > 0`` and ``D(p) = cap`` for ``p <= 0``;
    ``M = cap`` and ``P(p) = D(p) / cap``. The cap binds below ``p_cap = (A / cap)^(1 / eps)``
    and the floor above ``p_floor = (A / floor)^(1 / eps)``. Between them
    ``dR/dp`` has the sign of ``eps c - (eps - 1) p``, so for ``eps > 1`` profit peaks at the
    markup rule ``p_m = c eps / (eps - 1)``. With ``c = 0`` and ``eps > 1`` revenue
    ``A p^(1 - eps)`` falls with price until the cap binds, so ``p* = p_cap``. For ``eps <= 1``
    profit never falls with price, and with ``floor > 0`` it grows without bound in the floor
    region. In both cases an optimum exists only inside finite price bounds, and
    ``optimal_price`` raises ``ValueError`` without them. The optimum is the best of the candidates
    ``{low, high, p_cap, p_floor, p_m}`` clipped to the bounds: profit is monotone or
    unimodal between consecutive candidates, so this is exact.

``SegmentMixture(segments, market_size=None)``
    Heterogeneous willingness to pay: segment ``k`` is a share ``w_k`` of the arrivals and
    responds by its own model, ``P(p) = sum_k w_k P_k(p)``. ``market_size`` defaults to
    ``sum_k w_k M_k``, so when every segment has the same market size ``M`` the expected
    demand is the weighted sum of the segments' demands. Otherwise the segments' market sizes
    only set that default. The optimum is numeric. Each segment's profit is nondecreasing
    below an interval and nonincreasing above it (for unimodal profit the interval is the
    segment's optimum alone), so the mixture's optimum lies between the lowest and the
    highest end of those intervals. A zooming grid search there finds it, unless its peak is
    narrower than the first grid's step.

``ReferencePriceDemand(base, memory=theta, gain_sensitivity, loss_sensitivity)``
    Customers compare the posted price ``p`` with a reference price ``r`` and the comparison
    shifts the base model's log-odds:
    ``P(p, r) = expit(logit(P_base(p)) + gain (r - p)^+ - loss (p - r)^+)``. For a logit base
    this is ``expit(alpha - beta p + gain (r - p)^+ - loss (p - r)^+)``. A base probability of
    exactly 0 or 1 stays there (its log-odds are infinite). Loss aversion means
    ``loss >= gain``, which is typical but not required. The reference follows posted prices
    by exponential smoothing, ``r' = theta r + (1 - theta) p``, so today's price changes
    tomorrow's demand. Without a reference price the model assumes ``r = p`` (the steady
    state of a fixed price) and behaves as its base. The myopic optimum given ``r`` is exact
    for a logit base (a logit of slope ``beta + gain`` below ``r`` and ``beta + loss`` above
    it) and numeric otherwise.

Build a model from a config with ``make_demand(name, **params)``; ``model.to_dict()`` returns
the ``name`` and parameters so that ``make_demand(**model.to_dict())`` rebuilds it.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, fields
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special

__all__ = [
    "DEMAND_MODELS",
    "ConstantElasticityDemand",
    "DemandModel",
    "ExponentialDemand",
    "LinearDemand",
    "LogitDemand",
    "ReferencePriceDemand",
    "Segment",
    "SegmentMixture",
    "make_demand",
]

# Above this exponent math.exp overflows (float64 max is about exp(709.78)).
_MAX_EXP_ARGUMENT = 700.0

# The numeric optimum starts from a grid of _GRID_SIZE even and as many geometric points.
# Up to _ZOOM_LEVELS finer grids of _ZOOM_GRID_SIZE points follow. Each spans the two cells
# around the previous best point, so each level shrinks the interval 32 times.
_GRID_SIZE = 4097
_ZOOM_GRID_SIZE = 65
_ZOOM_LEVELS = 12

# Reference-price shifts of the log-odds are clipped to +-this (expit saturates long before).
_MAX_LOG_ODDS_SHIFT = 1e300

# Tolerance on the sum of segment weights.
_WEIGHT_SUM_TOLERANCE = 1e-9

# A purchase probability below this is treated as no demand when a search range is needed.
_NEGLIGIBLE_PROBABILITY = 1e-15


# --------------------------------------------------------------------------------------------
# Validation helpers


def _check_number(owner: str, name: str, value: Any, allowed: str, ok) -> float:
    """Return ``value`` as a float, or raise naming ``owner.name``, the value and the rule."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{owner}: {name} must be a real number {allowed}, got {value!r} "
            f"of type {type(value).__name__}"
        )
    number = float(value)
    if not math.isfinite(number) or not ok(number):
        raise ValueError(f"{owner}: {name} must be a finite number {allowed}, got {value!r}")
    return number


def _positive(owner: str, name: str, value: Any) -> float:
    return _check_number(owner, name, value, "> 0", lambda x: x > 0)


def _nonnegative(owner: str, name: str, value: Any) -> float:
    return _check_number(owner, name, value, ">= 0", lambda x: x >= 0)


def _finite(owner: str, name: str, value: Any) -> float:
    return _check_number(owner, name, value, "(any sign)", lambda x: True)


def _set(instance: Any, name: str, value: Any) -> None:
    # Frozen dataclasses store validated, normalized values through object.__setattr__.
    object.__setattr__(instance, name, value)


def _check_unit_cost(unit_cost: Any) -> float:
    return _nonnegative("optimal_price", "unit_cost", unit_cost)


def _check_price_bounds(price_bounds: Any) -> tuple[float, float] | None:
    """Return ``(low, high)`` with ``0 <= low <= high`` finite, or None."""
    if price_bounds is None:
        return None
    try:
        low, high = price_bounds
    except (TypeError, ValueError):
        raise ValueError(
            f"optimal_price: price_bounds must be a pair (low, high) or None, got {price_bounds!r}"
        ) from None
    low = _nonnegative("optimal_price", "price_bounds[0] (low)", low)
    high = _nonnegative("optimal_price", "price_bounds[1] (high)", high)
    if low > high:
        raise ValueError(
            f"optimal_price: price_bounds must satisfy low <= high, got {price_bounds!r}"
        )
    return low, high


def _clip(price: float, bounds: tuple[float, float] | None) -> float:
    if bounds is None:
        return float(price)
    return float(min(max(price, bounds[0]), bounds[1]))


def _as_prices(prices: ArrayLike) -> np.ndarray:
    return np.asarray(prices, dtype=np.float64)


def _result(values: np.ndarray) -> np.ndarray | np.float64:
    # A 0-d array becomes a numpy float, so scalar input gives scalar output.
    values = np.asarray(values, dtype=np.float64)
    return values[()] if values.ndim == 0 else values


def _lambert_w_of_exp(z: float) -> float:
    """Return ``W(exp(z))`` on the principal branch, also where ``exp(z)`` overflows."""
    if z <= _MAX_EXP_ARGUMENT:
        return float(special.lambertw(math.exp(z)).real)

    # w = W(exp(z)) solves w + log(w) = z. Start from the asymptotic expansion and polish
    # with Newton's method, which converges in two or three steps for z > 700.
    w = z - math.log(z) + math.log(z) / z
    for _ in range(50):
        step = (w + math.log(w) - z) / (1.0 + 1.0 / w)
        w -= step
        if abs(step) <= 1e-15 * w:
            break
    return w


def _grid_maximize(objective, low: float, high: float, kinks: Iterable[float] = ()) -> float:
    """Maximize a vectorized ``objective`` on ``[low, high]`` by a zooming grid search.

    A coarse grid locates the best point. Finer grids then zoom into the two cells around it
    until they shrink to rounding, and a bounded Brent step polishes the result. ``kinks``
    are prices where the objective may not be smooth, and they are compared directly. The
    search misses a global maximum only if its peak is narrower than the coarse grid step.
    """
    if not high > low:
        return float(low)

    # An even grid, plus a geometric one that resolves features far smaller than the
    # interval close to its low end (for example a demand that ends just above 0).
    span = high - low
    grid = np.linspace(low, high, _GRID_SIZE)
    if span * 1e-12 > 0.0:
        geometric = low + np.geomspace(span * 1e-12, span, _GRID_SIZE)
        grid = np.unique(np.concatenate([grid, geometric[geometric <= high]]))

    best_price, best_value = low, -math.inf
    for _ in range(_ZOOM_LEVELS):
        values = np.asarray(objective(grid), dtype=np.float64)
        best = int(np.argmax(values))
        if values[best] > best_value:
            best_price, best_value = float(grid[best]), float(values[best])
        left = grid[max(best - 1, 0)]
        right = grid[min(best + 1, grid.size - 1)]
        if right - left <= 1e-15 * max(1.0, abs(right)):
            break
        grid = np.linspace(left, right, _ZOOM_GRID_SIZE)

    refined = optimize.minimize_scalar(
        lambda x: -float(objective(x)),
        bounds=(left, right),
        method="bounded",
        options={"xatol": 1e-15 * max(1.0, abs(right))},
    )
    candidates = [best_price]
    if refined.success:
        candidates.append(float(refined.x))
    candidates += [float(k) for k in kinks if low <= k <= high]
    points = np.asarray(candidates)
    return float(points[int(np.argmax(np.asarray(objective(points))))])


# --------------------------------------------------------------------------------------------
# The interface


class DemandModel(ABC):
    """A customer response model: purchase probability, demand, revenue and optimal price.

    Subclasses are frozen dataclasses (``to_dict`` lists their fields) that set ``market_size``
    and implement ``purchase_probability``. A closed-form optimum overrides ``_optimal_price``
    and ``_optimum_bracket``. Without one, the numeric search runs inside ``price_bounds``,
    or up to ``_negligible_demand_price()`` when a subclass gives it. Prices are in currency.
    Finite non-negative prices never give NaN or inf, and NaN prices give NaN.
    """

    name: ClassVar[str]
    market_size: float  # expected arriving customers per period

    @abstractmethod
    def purchase_probability(self, prices: ArrayLike) -> np.ndarray | np.float64:
        """Return the probability in [0, 1] that one arriving customer buys at each price."""

    def expected_demand(self, prices: ArrayLike) -> np.ndarray | np.float64:
        """Return expected units sold per period, ``market_size * purchase_probability``."""
        return self.market_size * self.purchase_probability(prices)

    def expected_revenue(
        self, prices: ArrayLike, unit_cost: ArrayLike = 0.0
    ) -> np.ndarray | np.float64:
        """Return expected profit per period, ``(price - unit_cost) * expected_demand``.

        With the default ``unit_cost=0`` this is expected revenue.
        """
        prices = _as_prices(prices)
        return _result((prices - unit_cost) * self.expected_demand(prices))

    def optimal_price(
        self,
        unit_cost: float = 0.0,
        price_bounds: tuple[float, float] | None = None,
    ) -> float:
        """Return the price that maximizes expected profit, inside ``price_bounds`` if given.

        ``price_bounds`` is ``(low, high)`` with ``0 <= low <= high``. Raises ``ValueError``
        for a negative or non-finite ``unit_cost`` or invalid bounds, and where profit grows
        without bound and no bounds were given.
        """
        cost = _check_unit_cost(unit_cost)
        bounds = _check_price_bounds(price_bounds)
        return self._optimal_price(cost, bounds)

    def _optimal_price(self, unit_cost: float, bounds: tuple[float, float] | None) -> float:
        # The numeric default: maximize on a bracket that is known to contain the optimum.
        low, high = self._optimum_bracket(unit_cost, bounds)
        return _grid_maximize(
            lambda p: self.expected_revenue(p, unit_cost), low, high, self._kink_prices()
        )

    def _optimum_bracket(
        self, unit_cost: float, bounds: tuple[float, float] | None
    ) -> tuple[float, float]:
        """Return ``(low, high)``: profit is nondecreasing below ``low`` and nonincreasing
        above ``high`` (within ``bounds`` when given).

        The default assumes nothing about the profit's shape, so it returns the bounds, or
        ``(0, price where demand becomes negligible)`` without them.
        """
        if bounds is not None:
            return bounds
        high = self._negligible_demand_price()
        if not math.isfinite(high):
            raise ValueError(
                f"{type(self).__name__}: optimal_price has no search range for this model, "
                "so pass price_bounds=(low, high)"
            )
        return 0.0, high

    def _log_odds(self, prices: np.ndarray) -> np.ndarray:
        """Return ``log(P / (1 - P))``, infinite where ``P`` is exactly 0 or 1."""
        probability = np.asarray(self.purchase_probability(prices), dtype=np.float64)
        with np.errstate(divide="ignore"):
            return np.log(probability) - np.log1p(-probability)

    def _negligible_demand_price(self) -> float:
        """Return a price above which the purchase probability is negligible (or inf)."""
        return math.inf

    def _kink_prices(self) -> tuple[float, ...]:
        """Return the finite prices where the purchase probability is not smooth."""
        return ()

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"name": ..., **parameters}``, so ``make_demand(**d)`` rebuilds the model."""
        params = {spec.name: getattr(self, spec.name) for spec in fields(self)}  # type: ignore[arg-type]
        return {"name": self.name, **params}


# --------------------------------------------------------------------------------------------
# Models with a closed-form optimum


class _UnimodalProfit:
    """Mixin for models whose profit rises up to the closed-form optimum and falls after it."""

    def _optimum_bracket(
        self, unit_cost: float, bounds: tuple[float, float] | None
    ) -> tuple[float, float]:
        price = self._optimal_price(unit_cost, bounds)  # type: ignore[attr-defined]
        return price, price


@dataclass(frozen=True)
class LinearDemand(_UnimodalProfit, DemandModel):
    """Linear demand ``D(p) = max(0, a - b p)``: ``a`` customers, all gone at ``a / b``.

    Args:
        intercept: ``a``, demand at price 0 and the market size (units/period), > 0.
        slope: ``b``, units/period lost per currency unit of price, > 0.
    """

    intercept: float = 100.0
    slope: float = 10.0

    name: ClassVar[str] = "linear"

    def __post_init__(self) -> None:
        _set(self, "intercept", _positive("LinearDemand", "intercept", self.intercept))
        _set(self, "slope", _positive("LinearDemand", "slope", self.slope))

    @property
    def market_size(self) -> float:  # type: ignore[override]
        return self.intercept

    @property
    def choke_price(self) -> float:
        """The price ``a / b`` at and above which demand is zero."""
        return self.intercept / self.slope

    def purchase_probability(self, prices: ArrayLike) -> np.ndarray | np.float64:
        prices = _as_prices(prices)
        # Dividing last keeps a tiny intercept from overflowing slope / intercept, which would
        # give inf * 0 = NaN at price 0. np.minimum and np.maximum beat np.clip on scalars.
        share = (self.intercept - self.slope * prices) / self.intercept
        return _result(np.minimum(np.maximum(share, 0.0), 1.0))

    def _optimal_price(self, unit_cost: float, bounds: tuple[float, float] | None) -> float:
        return _clip(0.5 * (self.choke_price + unit_cost), bounds)

    def _negligible_demand_price(self) -> float:
        return self.choke_price

    def _kink_prices(self) -> tuple[float, ...]:
        return (self.choke_price,)


@dataclass(frozen=True)
class LogitDemand(_UnimodalProfit, DemandModel):
    """Logit purchase probability ``P(p) = 1 / (1 + exp(-(alpha - beta p)))``.

    Args:
        alpha: utility of buying at price 0 (log-odds), any finite number.
        beta: price sensitivity (log-odds per currency unit), > 0.
        market_size: expected arriving customers per period, >= 0.
    """

    alpha: float = 3.0
    beta: float = 0.5
    market_size: float = 100.0

    name: ClassVar[str] = "logit"

    def __post_init__(self) -> None:
        _set(self, "alpha", _finite("LogitDemand", "alpha", self.alpha))
        _set(self, "beta", _positive("LogitDemand", "beta", self.beta))
        _set(self, "market_size", _nonnegative("LogitDemand", "market_size", self.market_size))

    def purchase_probability(self, prices: ArrayLike) -> np.ndarray | np.float64:
        prices = _as_prices(prices)
        return _result(special.expit(self.alpha - self.beta * prices))

    def _log_odds(self, prices: np.ndarray) -> np.ndarray:
        return self.alpha - self.beta * np.asarray(prices, dtype=np.float64)

    def _optimal_price(self, unit_cost: float, bounds: tuple[float, float] | None) -> float:
        w = _lambert_w_of_exp(self.alpha - self.beta * unit_cost - 1.0)
        return _clip(unit_cost + (1.0 + w) / self.beta, bounds)

    def _negligible_demand_price(self) -> float:
        # expit(alpha - beta p) < 1e-15 once alpha - beta p < log(1e-15).
        return max(0.0, (self.alpha - math.log(_NEGLIGIBLE_PROBABILITY)) / self.beta)


@dataclass(frozen=True)
class ExponentialDemand(_UnimodalProfit, DemandModel):
    """Exponential intensity ``lambda(p) = lambda0 exp(-alpha p)`` (Gallego and van Ryzin, 1994).

    Args:
        base_rate: ``lambda0``, buyers per period at price 0 and the market size, >= 0.
        sensitivity: ``alpha``, price sensitivity per currency unit, > 0.
    """

    base_rate: float = 100.0
    sensitivity: float = 0.2

    name: ClassVar[str] = "exponential"

    def __post_init__(self) -> None:
        _set(self, "base_rate", _nonnegative("ExponentialDemand", "base_rate", self.base_rate))
        _set(
            self, "sensitivity", _positive("ExponentialDemand", "sensitivity", self.sensitivity)
        )

    @property
    def market_size(self) -> float:  # type: ignore[override]
        return self.base_rate

    def purchase_probability(self, prices: ArrayLike) -> np.ndarray | np.float64:
        prices = _as_prices(prices)
        return _result(np.exp(-self.sensitivity * np.maximum(prices, 0.0)))

    def _log_odds(self, prices: np.ndarray) -> np.ndarray:
        # log(e^-x / (1 - e^-x)) = -x - log(-expm1(-x)), exact for small x too.
        exponent = self.sensitivity * np.maximum(np.asarray(prices, dtype=np.float64), 0.0)
        with np.errstate(divide="ignore"):
            return -exponent - np.log(-np.expm1(-exponent))

    def _optimal_price(self, unit_cost: float, bounds: tuple[float, float] | None) -> float:
        return _clip(unit_cost + 1.0 / self.sensitivity, bounds)

    def _negligible_demand_price(self) -> float:
        return -math.log(_NEGLIGIBLE_PROBABILITY) / self.sensitivity


@dataclass(frozen=True)
class ConstantElasticityDemand(DemandModel):
    """Constant elasticity ``D(p) = clip(A p^(-eps), floor, cap)``, with ``D(0) = cap``.

    Args:
        scale: ``A``, demand at price 1 before clipping (units/period), > 0.
        elasticity: ``eps``, the price elasticity of demand (in absolute value), > 0.
        floor: demand never falls below this (units/period), >= 0 and <= cap.
        cap: demand never exceeds this; also the market size (units/period), > 0.
    """

    scale: float = 100.0
    elasticity: float = 2.0
    floor: float = 0.0
    cap: float = 1000.0

    name: ClassVar[str] = "constant-elasticity"

    def __post_init__(self) -> None:
        owner = "ConstantElasticityDemand"
        _set(self, "scale", _positive(owner, "scale", self.scale))
        _set(self, "elasticity", _positive(owner, "elasticity", self.elasticity))
        _set(self, "floor", _nonnegative(owner, "floor", self.floor))
        _set(self, "cap", _positive(owner, "cap", self.cap))
        if self.floor > self.cap:
            raise ValueError(
                f"{owner}: floor must be <= cap, got floor={self.floor!r} and cap={self.cap!r}"
            )

    @property
    def market_size(self) -> float:  # type: ignore[override]
        return self.cap

    @property
    def cap_price(self) -> float:
        """The price ``(A / cap)^(1 / eps)`` at and below which demand is capped."""
        return _power_threshold(self.scale, self.cap, self.elasticity)

    @property
    def floor_price(self) -> float:
        """The price ``(A / floor)^(1 / eps)`` at and above which demand is floored (inf if 0)."""
        if self.floor == 0.0:
            return math.inf
        return _power_threshold(self.scale, self.floor, self.elasticity)

    def purchase_probability(self, prices: ArrayLike) -> np.ndarray | np.float64:
        prices = _as_prices(prices)
        cap_price = self.cap_price

        if 0.0 < cap_price < math.inf:
            # D / cap = (max(p, p_cap) / p_cap)^(-eps). The base of the power is >= 1, so the
            # result is exactly 1 where the cap binds and cannot overflow. np.maximum keeps
            # NaN prices NaN.
            share = np.power(np.maximum(prices, cap_price) / cap_price, -self.elasticity)
        elif cap_price == math.inf:
            # (A / cap)^(1 / eps) overflowed, so the cap binds at every price.
            share = np.where(np.isnan(prices), np.nan, 1.0)
        else:
            # (A / cap)^(1 / eps) underflowed to 0, so the cap binds only at p <= 0.
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                raw = (self.scale / self.cap) * np.power(np.abs(prices), -self.elasticity)
            share = np.where(prices <= 0.0, 1.0, np.minimum(raw, 1.0))

        return _result(np.maximum(share, self.floor / self.cap))

    def _candidates(self, unit_cost: float, low: float, high: float) -> list[float]:
        points = [low, high, self.cap_price, self.floor_price]
        if self.elasticity > 1.0:
            points.append(unit_cost * self.elasticity / (self.elasticity - 1.0))
        finite = [min(max(p, low), high) for p in points if math.isfinite(p)]
        return sorted(set(finite))

    def _unbounded_profit_error(self, unit_cost: float) -> ValueError:
        return ValueError(
            "ConstantElasticityDemand: expected profit grows without bound as the price rises "
            f"(floor={self.floor!r}, elasticity={self.elasticity!r}, unit_cost={unit_cost!r}), "
            "so it has an optimum only inside finite bounds: pass price_bounds=(low, high), "
            "or use floor=0 and elasticity > 1"
        )

    def _optimal_price(self, unit_cost: float, bounds: tuple[float, float] | None) -> float:
        if bounds is None:
            if self.floor > 0.0 or self.elasticity <= 1.0:
                raise self._unbounded_profit_error(unit_cost)
            low, high = 0.0, math.inf
        else:
            low, high = bounds

        # Profit is monotone or unimodal between consecutive candidates, so the best
        # candidate is the optimum. Ties go to the lowest price.
        candidates = np.asarray(self._candidates(unit_cost, low, high))
        profits = np.asarray(self.expected_revenue(candidates, unit_cost))
        return float(candidates[int(np.argmax(profits))])

    def _optimum_bracket(
        self, unit_cost: float, bounds: tuple[float, float] | None
    ) -> tuple[float, float]:
        if bounds is None and (self.floor > 0.0 or self.elasticity <= 1.0):
            raise self._unbounded_profit_error(unit_cost)
        low, high = bounds if bounds is not None else (0.0, math.inf)

        # Profit rises up to the first local maximum: the cap price, or the markup price
        # when eps > 1 and it lies beyond. With eps <= 1 it never falls.
        if self.elasticity <= 1.0:
            return high, high
        markup = unit_cost * self.elasticity / (self.elasticity - 1.0)
        first_peak = min(max(max(self.cap_price, markup), low), high)

        # In the floor region profit rises again, up to the upper bound.
        if self.floor > 0.0 and self.floor_price < high:
            return first_peak, high
        return first_peak, first_peak

    def _kink_prices(self) -> tuple[float, ...]:
        return tuple(p for p in (self.cap_price, self.floor_price) if math.isfinite(p))

    def _negligible_demand_price(self) -> float:
        if self.floor > 0.0:
            return math.inf
        return _power_threshold(self.scale, self.cap * _NEGLIGIBLE_PROBABILITY, self.elasticity)


def _power_threshold(scale: float, demand: float, elasticity: float) -> float:
    """Return the price where ``scale * p^(-elasticity) == demand``; inf on overflow."""
    try:
        return (scale / demand) ** (1.0 / elasticity)
    except OverflowError:
        return math.inf


# --------------------------------------------------------------------------------------------
# Compositions of models


def _build_model(owner: str, name: str, model: Any) -> DemandModel:
    """Accept a DemandModel or a config mapping ``{"name": ..., **params}``."""
    if isinstance(model, Mapping):
        config = dict(model)
        if "name" not in config:
            raise ValueError(
                f"{owner}: {name} given as a mapping needs a 'name' key naming the model; "
                f"valid names: {', '.join(DEMAND_MODELS)}; got {model!r}"
            )
        return make_demand(**config)
    if not isinstance(model, DemandModel):
        raise TypeError(
            f"{owner}: {name} must be a DemandModel or a mapping with a 'name' key, "
            f"got {model!r} of type {type(model).__name__}"
        )
    return model


@dataclass(frozen=True)
class Segment:
    """One customer segment of a ``SegmentMixture``.

    Args:
        weight: the segment's share of arriving customers, in [0, 1].
        model: how the segment responds to price: a stationary ``DemandModel`` (not a
            ``ReferencePriceDemand``) or a config mapping for ``make_demand``.
        name: an optional label, for reports.
    """

    weight: float
    model: DemandModel
    name: str = ""

    def __post_init__(self) -> None:
        weight = _check_number("Segment", "weight", self.weight, "in [0, 1]", lambda x: 0 <= x <= 1)
        _set(self, "weight", weight)
        model = _build_model("Segment", "model", self.model)
        if isinstance(model, ReferencePriceDemand):
            raise TypeError(
                "Segment: model must be a stationary demand model, got a ReferencePriceDemand; "
                "wrap the mixture in ReferencePriceDemand instead"
            )
        _set(self, "model", model)
        if not isinstance(self.name, str):
            raise TypeError(f"Segment: name must be a str, got {self.name!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"weight", "model", "name"}`` with the model as its own dict."""
        return {"weight": self.weight, "model": self.model.to_dict(), "name": self.name}


def _build_segment(index: int, item: Any) -> Segment:
    if isinstance(item, Segment):
        return item
    if isinstance(item, Mapping):
        unknown = set(item) - {"weight", "model", "name"}
        if unknown:
            raise ValueError(
                f"SegmentMixture: segments[{index}] has unknown key(s) {sorted(unknown)}; "
                "valid keys: weight, model, name"
            )
        return Segment(**item)
    if isinstance(item, tuple) and len(item) in (2, 3):
        return Segment(*item)
    raise TypeError(
        f"SegmentMixture: segments[{index}] must be a Segment, a (weight, model) pair or a "
        f"mapping with keys weight, model and optional name, got {item!r}"
    )


@dataclass(frozen=True)
class SegmentMixture(DemandModel):
    """A mixture of customer segments: ``P(p) = sum_k w_k P_k(p)``.

    Args:
        segments: non-empty sequence of ``Segment``, ``(weight, model)`` pairs or mappings;
            weights are non-negative and sum to 1.
        market_size: expected arriving customers per period, >= 0. Defaults to the
            weighted mean of the segments' market sizes, ``sum_k w_k M_k``.
    """

    segments: tuple[Segment, ...]
    market_size: float | None = None  # type: ignore[assignment]

    name: ClassVar[str] = "mixture"

    def __post_init__(self) -> None:
        if isinstance(self.segments, (str, bytes, Mapping)) or not isinstance(
            self.segments, Iterable
        ):
            raise TypeError(
                "SegmentMixture: segments must be a sequence of segments, "
                f"got {self.segments!r}"
            )
        segments = tuple(_build_segment(i, item) for i, item in enumerate(self.segments))
        if not segments:
            raise ValueError(
                "SegmentMixture: segments must contain at least one segment, got an empty list"
            )
        total = math.fsum(segment.weight for segment in segments)
        if abs(total - 1.0) > _WEIGHT_SUM_TOLERANCE:
            weights = [segment.weight for segment in segments]
            raise ValueError(
                f"SegmentMixture: segment weights must sum to 1, got {total!r} "
                f"(weights {weights})"
            )
        _set(self, "segments", segments)

        if self.market_size is None:
            market_size = math.fsum(s.weight * s.model.market_size for s in segments)
        else:
            market_size = _nonnegative("SegmentMixture", "market_size", self.market_size)
        _set(self, "market_size", market_size)

    @property
    def weights(self) -> np.ndarray:
        """The segment weights, in segment order."""
        return np.array([segment.weight for segment in self.segments])

    def purchase_probability(self, prices: ArrayLike) -> np.ndarray | np.float64:
        prices = _as_prices(prices)
        total = 0.0
        for segment in self.segments:
            total = total + segment.weight * segment.model.purchase_probability(prices)
        # Weights may sum to 1 only within rounding.
        return _result(np.minimum(np.maximum(total, 0.0), 1.0))

    def _optimum_bracket(
        self, unit_cost: float, bounds: tuple[float, float] | None
    ) -> tuple[float, float]:
        # A sum of functions, each nondecreasing below its bracket and nonincreasing above,
        # is nondecreasing below the smallest bracket and nonincreasing above the largest.
        brackets = [s.model._optimum_bracket(unit_cost, bounds) for s in self.segments]
        return min(b[0] for b in brackets), max(b[1] for b in brackets)

    def _negligible_demand_price(self) -> float:
        return max(s.model._negligible_demand_price() for s in self.segments)

    def _kink_prices(self) -> tuple[float, ...]:
        return tuple(sorted({p for s in self.segments for p in s.model._kink_prices()}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "segments": [segment.to_dict() for segment in self.segments],
            "market_size": self.market_size,
        }


@dataclass(frozen=True)
class ReferencePriceDemand(DemandModel):
    """Reference-price effects on top of a base model, with gains and losses.

    ``P(p, r) = expit(logit(P_base(p)) + gain (r - p)^+ - loss (p - r)^+)`` and the reference
    moves as ``r' = memory * r + (1 - memory) * p``. Methods take ``reference_price``; when it
    is None they assume ``r = p`` and return the base model's values.

    Args:
        base: the stationary model customers use when the price equals their reference: a
            ``DemandModel`` (not another ``ReferencePriceDemand``) or a config mapping.
        memory: ``theta`` in [0, 1), the weight of the old reference in the next one.
        gain_sensitivity: log-odds gained per currency unit the price is below the reference,
            >= 0.
        loss_sensitivity: log-odds lost per currency unit the price is above the reference,
            >= 0. Loss aversion is ``loss_sensitivity >= gain_sensitivity`` (typical, not
            required).
    """

    base: DemandModel
    memory: float = 0.8
    gain_sensitivity: float = 0.2
    loss_sensitivity: float = 0.4

    name: ClassVar[str] = "reference-price"

    def __post_init__(self) -> None:
        owner = "ReferencePriceDemand"
        base = _build_model(owner, "base", self.base)
        if isinstance(base, ReferencePriceDemand):
            raise TypeError(f"{owner}: base must be a stationary model, got a {owner}")
        _set(self, "base", base)
        memory = _check_number(owner, "memory", self.memory, "in [0, 1)", lambda x: 0 <= x < 1)
        _set(self, "memory", memory)
        _set(self, "gain_sensitivity", _nonnegative(owner, "gain_sensitivity", self.gain_sensitivity))
        _set(self, "loss_sensitivity", _nonnegative(owner, "loss_sensitivity", self.loss_sensitivity))

    @property
    def market_size(self) -> float:  # type: ignore[override]
        return self.base.market_size

    def next_reference_price(
        self, reference_price: ArrayLike, price: ArrayLike
    ) -> np.ndarray | np.float64:
        """Return the next reference price, ``memory * reference + (1 - memory) * price``."""
        reference = _as_prices(reference_price)
        return _result(self.memory * reference + (1.0 - self.memory) * _as_prices(price))

    def utility_shift(
        self, prices: ArrayLike, reference_price: ArrayLike
    ) -> np.ndarray | np.float64:
        """Return the log-odds shift ``gain (r - p)^+ - loss (p - r)^+`` (broadcast)."""
        prices = _as_prices(prices)
        reference = _as_prices(reference_price)
        gain = self.gain_sensitivity * np.maximum(reference - prices, 0.0)
        loss = self.loss_sensitivity * np.maximum(prices - reference, 0.0)
        return _result(gain - loss)

    def purchase_probability(
        self, prices: ArrayLike, reference_price: ArrayLike | None = None
    ) -> np.ndarray | np.float64:
        """Return the purchase probability at ``prices`` given ``reference_price``.

        Prices and reference prices broadcast against each other; a shape mismatch raises
        ``ValueError``. ``reference_price=None`` means ``r = p``, the base model.
        """
        prices = _as_prices(prices)
        if reference_price is None:
            return self.base.purchase_probability(prices)

        reference = _as_prices(reference_price)
        gain = self.gain_sensitivity * np.maximum(reference - prices, 0.0)
        shift = gain - self.loss_sensitivity * np.maximum(prices - reference, 0.0)
        # An overflowing shift (inf) added to infinite base log-odds would give NaN.
        shift = np.minimum(np.maximum(shift, -_MAX_LOG_ODDS_SHIFT), _MAX_LOG_ODDS_SHIFT)
        if shift.shape != prices.shape:
            prices = np.broadcast_to(prices, shift.shape)
        return _result(special.expit(self.base._log_odds(prices) + shift))

    def expected_demand(
        self, prices: ArrayLike, reference_price: ArrayLike | None = None
    ) -> np.ndarray | np.float64:
        """Return expected units per period, ``market_size * purchase_probability``."""
        return self.market_size * self.purchase_probability(prices, reference_price)

    def expected_revenue(
        self,
        prices: ArrayLike,
        unit_cost: ArrayLike = 0.0,
        reference_price: ArrayLike | None = None,
    ) -> np.ndarray | np.float64:
        """Return expected profit ``(price - unit_cost) * expected_demand`` given the reference.

        ``unit_cost`` keeps the second position of ``DemandModel.expected_revenue``; pass
        ``reference_price`` by keyword.
        """
        prices = _as_prices(prices)
        return _result((prices - unit_cost) * self.expected_demand(prices, reference_price))

    def optimal_price(
        self,
        unit_cost: float = 0.0,
        price_bounds: tuple[float, float] | None = None,
        reference_price: float | None = None,
    ) -> float:
        """Return the myopic optimum: the price maximizing this period's expected profit.

        It ignores the price's effect on future references. ``reference_price=None`` gives
        the base model's optimum (the steady state of a fixed price). Exact for a logit base;
        numeric otherwise, where a base whose profit can grow without bound (a constant
        elasticity part with a floor or elasticity <= 1) needs ``price_bounds``.
        """
        cost = _check_unit_cost(unit_cost)
        bounds = _check_price_bounds(price_bounds)
        if reference_price is None:
            return self.base._optimal_price(cost, bounds)
        reference = _nonnegative("optimal_price", "reference_price", reference_price)

        low, high = bounds if bounds is not None else (0.0, math.inf)
        candidates = [min(max(reference, low), high)]
        if isinstance(self.base, LogitDemand):
            candidates += self._logit_piece_optima(cost, reference, low, high)
        else:
            # Above the reference the shift only lowers the base probability, so the search
            # ends where the base's demand is negligible, unless the reference or the base's
            # own optimum lies further out.
            # NOTE: "negligible" is a purchase probability below 1e-15; the search assumes
            # no better profit hides beyond it.
            demand_ends = max(
                reference,
                self.base._optimum_bracket(cost, bounds)[1],
                self.base._negligible_demand_price(),
            )
            if bounds is None and not math.isfinite(demand_ends):
                raise ValueError(
                    "ReferencePriceDemand: the base model's profit can grow without bound "
                    "as the price rises, so optimal_price needs finite "
                    "price_bounds=(low, high); got price_bounds=None"
                )
            high = max(low, min(high, demand_ends))

            def profit(p):
                return self.expected_revenue(p, cost, reference_price=reference)

            if low < reference:
                candidates.append(
                    _grid_maximize(profit, low, min(reference, high), self.base._kink_prices())
                )
            if high > reference:
                candidates.append(
                    _grid_maximize(profit, max(reference, low), high, self.base._kink_prices())
                )

        points = np.asarray(sorted(candidates))
        profits = np.asarray(self.expected_revenue(points, cost, reference_price=reference))
        return float(points[int(np.argmax(profits))])

    def _logit_piece_optima(
        self, unit_cost: float, reference: float, low: float, high: float
    ) -> list[float]:
        # Below r the log-odds are (alpha + gain r) - (beta + gain) p, above r they are
        # (alpha + loss r) - (beta + loss) p: two logit models, each with unimodal profit.
        base = self.base
        assert isinstance(base, LogitDemand)
        optima = []
        if low <= reference:
            below = LogitDemand(
                base.alpha + self.gain_sensitivity * reference,
                base.beta + self.gain_sensitivity,
                base.market_size,
            )
            optima.append(below._optimal_price(unit_cost, (low, min(reference, high))))
        if high >= reference:
            above = LogitDemand(
                base.alpha + self.loss_sensitivity * reference,
                base.beta + self.loss_sensitivity,
                base.market_size,
            )
            optima.append(above._optimal_price(unit_cost, (max(reference, low), high)))
        return optima

    def _optimum_bracket(
        self, unit_cost: float, bounds: tuple[float, float] | None
    ) -> tuple[float, float]:
        return self.base._optimum_bracket(unit_cost, bounds)

    def _negligible_demand_price(self) -> float:
        return self.base._negligible_demand_price()

    def _kink_prices(self) -> tuple[float, ...]:
        return self.base._kink_prices()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "base": self.base.to_dict(),
            "memory": self.memory,
            "gain_sensitivity": self.gain_sensitivity,
            "loss_sensitivity": self.loss_sensitivity,
        }


# --------------------------------------------------------------------------------------------
# Building models from configs


DEMAND_MODELS: Mapping[str, type[DemandModel]] = MappingProxyType(
    {
        LinearDemand.name: LinearDemand,
        LogitDemand.name: LogitDemand,
        ExponentialDemand.name: ExponentialDemand,
        ConstantElasticityDemand.name: ConstantElasticityDemand,
        SegmentMixture.name: SegmentMixture,
        ReferencePriceDemand.name: ReferencePriceDemand,
    }
)


def make_demand(name: str, **params: Any) -> DemandModel:
    """Build a demand model from its config name and parameters.

    ``name`` is one of ``DEMAND_MODELS`` (case and ``_`` versus ``-`` do not matter):
    "linear", "logit", "exponential", "constant-elasticity", "mixture", "reference-price".
    Nested models (mixture segments, the reference-price base) may be mappings with a
    ``name`` key. Raises ``ValueError`` for an unknown name, an unknown or missing parameter
    (listing the valid ones) or an invalid value.
    """
    if not isinstance(name, str):
        raise TypeError(f"make_demand: name must be a str, got {name!r}")
    key = name.strip().lower().replace("_", "-")
    if key not in DEMAND_MODELS:
        raise ValueError(
            f"make_demand: unknown demand model {name!r}; valid names: {', '.join(DEMAND_MODELS)}"
        )
    cls = DEMAND_MODELS[key]

    specs = fields(cls)
    valid = [spec.name for spec in specs]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(
            f"make_demand: unknown parameter(s) {', '.join(map(repr, unknown))} for demand model "
            f"{key!r}; valid parameters: {', '.join(valid)}"
        )
    missing = [
        spec.name
        for spec in specs
        if spec.default is MISSING and spec.default_factory is MISSING and spec.name not in params
    ]
    if missing:
        raise ValueError(
            f"make_demand: missing parameter(s) {', '.join(map(repr, missing))} for demand model "
            f"{key!r}; valid parameters: {', '.join(valid)}"
        )
    return cls(**params)
