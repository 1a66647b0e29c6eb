"""Per-period demand of a single-product market under scenarios, and its oracles.

A schedule holds, for each period ``t`` of an episode, the market-size factor ``m_t``, the
price-sensitivity factor ``s_t`` and the log of the outside-option weight ``log D_t``.
With the base model's purchase probability ``P0`` and log-odds ``L0``:

    P_t(p) = P0(s_t p)                          if no competitor is present (D_t = 1)
    P_t(p) = expit(L0(s_t p) - log D_t)         otherwise
    D_t    = 1 + sum_j exp(L0(s_t c_jt) + offset_j)

and the expected demand is ``m_t M P_t(p)``. For a logit base ``L0(q) = alpha - beta q``, so
``P_t`` is the multinomial logit ``exp(u_p) / (1 + exp(u_p) + sum_j exp(u_j))`` with
``u_p = alpha - beta s_t p`` and ``u_j = alpha - beta s_t c_jt + offset_j``. Log-odds enter
the competitor form capped at 50, where ``expit`` already rounds to 1.

With stationary base demand, each period's demand is independent of past prices, so the
optimal policy prices every period at that period's own optimum (``ScenarioOracle``).

With reference-price demand the reference shift ``gain (r - p)^+ - loss (p - r)^+`` (in
currency, at the posted price) is added to ``L0(s_t p)`` before the competitor term, and
the reference follows posted prices as without scenarios. The optimum then looks ahead,
and ``ScenarioReferenceOracle`` solves it by backward induction over (period, reference
price) with the period's own rewards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from numpy.typing import ArrayLike
from scipy.special import expit

from envs.demand import DemandModel, LogitDemand, ReferencePriceDemand
from envs.oracles import observation_state
from envs.random_streams import poisson_inverse_cdf_one, poisson_support_max
from envs.scenarios.kinds import (
    MARKET_SIZE,
    CompetitorScenario,
    DemandScenario,
    Scenario,
    make_scenarios,
)

__all__ = [
    "LOG_ODDS_LIMIT",
    "ScenarioDemand",
    "ScenarioMarket",
    "ScenarioOracle",
    "ScenarioReferenceOracle",
    "Schedule",
]

# Log-odds are capped at this in the competitor form, so that two saturated utilities
# (prices where the base model's probability is exactly 1) never give inf - inf.
LOG_ODDS_LIMIT = 50.0

# Reference shifts are clipped to +-this, as ReferencePriceDemand clips them.
_MAX_REFERENCE_SHIFT = 1e300

# Reference-price grid points of ScenarioReferenceOracle, as ReferencePriceOracle uses.
DEFAULT_REFERENCE_POINTS = 201


def scenario_probability(
    base: DemandModel,
    perceived_prices: np.ndarray,
    outside_log_odds: ArrayLike,
    reference_shift: np.ndarray | None = None,
) -> np.ndarray:
    """Return the purchase probability at perceived prices ``s p`` given ``log D``, batched.

    ``reference_shift`` is the reference-price shift of the log-odds, or None for
    stationary demand.
    """
    perceived_prices = np.asarray(perceived_prices, dtype=np.float64)
    outside = np.asarray(outside_log_odds, dtype=np.float64)
    if reference_shift is None:
        probability = np.asarray(base.purchase_probability(perceived_prices), dtype=np.float64)
        probability = np.minimum(np.maximum(probability, 0.0), 1.0)
        if not np.any(outside > 0.0):
            return probability
        log_odds = base._log_odds(perceived_prices)
    else:
        # The same operations as ReferencePriceDemand.purchase_probability.
        shift = np.minimum(np.maximum(reference_shift, -_MAX_REFERENCE_SHIFT), _MAX_REFERENCE_SHIFT)
        log_odds = base._log_odds(perceived_prices) + shift
        probability = np.asarray(expit(log_odds), dtype=np.float64)
        if not np.any(outside > 0.0):
            return probability
    log_odds = np.minimum(log_odds, LOG_ODDS_LIMIT)
    return np.where(outside > 0.0, expit(log_odds - outside), probability)


@dataclass(frozen=True)
class ScenarioDemand(DemandModel):
    """The demand model of one period under scenarios.

    ``P(p) = P0(s p)`` without a competitor and ``expit(L0(s p) - log D)`` with one, and
    ``market_size = m * base.market_size``. Without a competitor the optimum is the base
    model's own, ``p* = q* / s``, where ``q*`` is the base optimum for unit cost ``s c``
    inside the bounds times ``s``. With a competitor and a logit base it is the logit closed
    form with ``alpha - log D`` and ``beta s``. Other cases use the numeric search.

    Args:
        base: the market's stationary demand model.
        market_factor: ``m``, >= 0.
        price_factor: ``s``, > 0.
        outside_log_odds: ``log D`` >= 0; 0 means no competitor.
    """

    base: DemandModel
    market_factor: float = 1.0
    price_factor: float = 1.0
    outside_log_odds: float = 0.0

    name: ClassVar[str] = "scenario-period"

    @property
    def market_size(self) -> float:  # type: ignore[override]
        return self.market_factor * self.base.market_size

    def purchase_probability(self, prices: ArrayLike) -> np.ndarray | np.float64:
        prices = np.asarray(prices, dtype=np.float64)
        probability = scenario_probability(
            self.base, self.price_factor * prices, self.outside_log_odds
        )
        return probability[()] if probability.ndim == 0 else probability

    def _optimal_price(self, unit_cost: float, bounds: tuple[float, float] | None) -> float:
        scale = self.price_factor
        if self.outside_log_odds <= 0.0:
            scaled = None if bounds is None else (bounds[0] * scale, bounds[1] * scale)
            price = self.base._optimal_price(unit_cost * scale, scaled) / scale
            # Dividing the scaled optimum may round just outside the bounds.
            return price if bounds is None else min(max(price, bounds[0]), bounds[1])
        if isinstance(self.base, LogitDemand):
            shifted = LogitDemand(
                alpha=self.base.alpha - self.outside_log_odds,
                beta=self.base.beta * scale,
                market_size=self.base.market_size,
            )
            return shifted._optimal_price(unit_cost, bounds)
        return super()._optimal_price(unit_cost, bounds)

    def _negligible_demand_price(self) -> float:
        return self.base._negligible_demand_price() / self.price_factor

    def _kink_prices(self) -> tuple[float, ...]:
        return tuple(price / self.price_factor for price in self.base._kink_prices())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "base": self.base.to_dict(),
            "market_factor": self.market_factor,
            "price_factor": self.price_factor,
            "outside_log_odds": self.outside_log_odds,
        }


@dataclass(frozen=True)
class Schedule:
    """The scenario values of every period of one episode, each an array of shape (horizon,).

    Attributes:
        market_factors: ``m_t``, the product of every market-size multiplier.
        price_factors: ``s_t``, the product of every price-sensitivity multiplier.
        competitor_prices: shape (n_competitors, horizon), NaN while a competitor is absent.
        outside_log_odds: ``log D_t``, 0 in periods without a competitor.
    """

    market_factors: np.ndarray
    price_factors: np.ndarray
    competitor_prices: np.ndarray
    outside_log_odds: np.ndarray


class ScenarioMarket:
    """A single-product market's demand under a list of scenarios, period by period.

    ``SingleProductEnv`` builds one when it gets ``scenarios``; it is
    ``env.unwrapped.market.scenario``. Scenarios compose: market-size and price-sensitivity
    multipliers multiply, and competitors add their terms to ``D_t``.

    Args:
        market: the ``SingleProductMarket`` whose demand the scenarios change.
        scenarios: ``Scenario`` objects or config mappings (see ``make_scenario``).
        observe_competitor_prices: append each competitor's price in the coming period
            (0 while it is absent) to the observation.

    With reference-price demand the oracle is a ``ScenarioReferenceOracle``; otherwise a
    ``ScenarioOracle``.
    """

    def __init__(
        self, market: Any, scenarios: Any, observe_competitor_prices: bool = False
    ) -> None:
        if not isinstance(observe_competitor_prices, (bool, np.bool_)):
            raise TypeError(
                f"observe_competitor_prices must be a bool, got {observe_competitor_prices!r}"
            )
        self.market = market
        self.reference_dependent = bool(market.reference_dependent)
        self.reference_model: ReferencePriceDemand | None = None
        if self.reference_dependent:
            self.reference_model = market.demand
            self.base: DemandModel = market.demand.base
        else:
            self.base = market.demand
        self.horizon = int(market.horizon)
        self.scenarios: tuple[Scenario, ...] = make_scenarios(scenarios)
        for scenario in self.scenarios:
            scenario.check_horizon(self.horizon)
        self.competitors = [s for s in self.scenarios if isinstance(s, CompetitorScenario)]
        self.observe_competitor_prices = bool(observe_competitor_prices)
        if self.observe_competitor_prices and not self.competitors:
            raise ValueError(
                "observe_competitor_prices=True needs at least one scenario of kind "
                "'competitor', got none"
            )
        self.random = any(scenario.random for scenario in self.scenarios)

        # Units sold never exceed the Poisson sampler's largest value for the largest
        # market size any path can reach.
        size_bound = 1.0
        for scenario in self.scenarios:
            if isinstance(scenario, DemandScenario) and scenario.target == MARKET_SIZE:
                size_bound *= scenario.upper_bound(self.horizon)
        self.max_units = max(
            market.max_units, poisson_support_max(market.market_size * size_bound)
        )
        high = [market.max_price, max(self.max_units, 1), market.max_price, 1.0]
        if self.observe_competitor_prices:
            high += [competitor.max_price() for competitor in self.competitors]
        self.observation_space = spaces.Box(
            low=np.zeros(len(high), dtype=np.float32),
            high=np.array(high, dtype=np.float32),
            dtype=np.float32,
        )

        # Before the first reset the schedule is the nominal one (random paths without noise).
        self.schedule = self.build_schedule(None)
        self.version = 0
        self._oracle: ScenarioOracle | ScenarioReferenceOracle | None = None

        # Poisson means of every (period, grid price), rebuilt when the schedule changes.
        self._grid_index = {price: i for i, price in enumerate(market.price_grid.tolist())}
        self._buyer_means: list[list[float]] = []
        self._other_means: list[list[float]] = []
        self._means_version: int | None = None

    # -- schedules ------------------------------------------------------------------------

    def build_schedule(self, rng: np.random.Generator | None) -> Schedule:
        """Compute every period's factors and competitor prices, drawing from ``rng``."""
        horizon = self.horizon
        market_factors = np.ones(horizon)
        price_factors = np.ones(horizon)
        competitor_prices = []
        # Scenarios draw from rng in list order.
        for scenario in self.scenarios:
            if isinstance(scenario, DemandScenario):
                factors = scenario.factors(horizon, rng)
                if scenario.target == MARKET_SIZE:
                    market_factors = market_factors * factors
                else:
                    price_factors = price_factors * factors
            else:
                competitor_prices.append(scenario.prices(horizon, rng))
        prices = np.array(competitor_prices, dtype=np.float64)
        prices = prices.reshape(len(competitor_prices), horizon)

        terms = [np.zeros(horizon)]
        for competitor, path in zip(self.competitors, prices):
            present = ~np.isnan(path)
            log_odds = np.minimum(
                self.base._log_odds(price_factors * np.where(present, path, 0.0)),
                LOG_ODDS_LIMIT,
            )
            terms.append(np.where(present, log_odds + competitor.utility_offset, -np.inf))
        outside = np.logaddexp.reduce(np.array(terms), axis=0)
        return Schedule(market_factors, price_factors, prices, outside)

    def reset(self, rng: np.random.Generator) -> None:
        """Draw a new schedule from ``rng`` if any scenario is random."""
        if self.random:
            self.schedule = self.build_schedule(rng)
            self.version += 1

    # -- demand ---------------------------------------------------------------------------

    def purchase_probabilities(
        self, periods: ArrayLike, prices: ArrayLike, references: ArrayLike | None = None
    ) -> np.ndarray:
        """Return purchase probabilities for periods, prices and reference prices (broadcast).

        ``references`` is required with reference-price demand and ignored otherwise.
        """
        periods = np.asarray(periods, dtype=np.int64)
        prices = np.asarray(prices, dtype=np.float64)
        schedule = self.schedule
        shift = None
        if self.reference_model is not None:
            if references is None:
                raise ValueError("reference-price demand needs the reference prices, got None")
            shift = np.asarray(self.reference_model.utility_shift(prices, references))
        return scenario_probability(
            self.base,
            schedule.price_factors[periods] * prices,
            schedule.outside_log_odds[periods],
            shift,
        )

    def expected_rewards(
        self, periods: ArrayLike, prices: ArrayLike, references: ArrayLike | None = None
    ) -> np.ndarray:
        """Return ``(p - unit_cost) * m_t M P_t(p, r)`` for periods, prices and references."""
        periods = np.asarray(periods, dtype=np.int64)
        prices = np.asarray(prices, dtype=np.float64)
        means = self.market.market_size * self.schedule.market_factors[periods]
        probability = self.purchase_probabilities(periods, prices, references)
        return (prices - self.market.unit_cost) * means * probability

    def next_references(self, references: ArrayLike, prices: ArrayLike) -> np.ndarray:
        """Return next period's reference prices (unchanged for stationary demand)."""
        return np.asarray(self.market.next_references(references, prices), dtype=np.float64)

    def reward_table(self, prices: ArrayLike) -> np.ndarray:
        """Return expected rewards of shape (horizon, len(prices)): each price posted every period.

        With reference-price demand the reference follows the posted price from
        ``initial_reference_price``.
        """
        prices = np.asarray(prices, dtype=np.float64).reshape(-1)
        if self.reference_model is None:
            return self.expected_rewards(np.arange(self.horizon)[:, None], prices[None, :])
        references = np.full(prices.shape, self.market.initial_reference_price)
        table = np.empty((self.horizon, prices.size))
        for period in range(self.horizon):
            table[period] = self.expected_rewards(period, prices, references)
            references = self.next_references(references, prices)
        return table

    def period_demand(self, period: int) -> ScenarioDemand:
        """Return period ``period``'s demand as a ``DemandModel`` (stationary demand only)."""
        if self.reference_model is not None:
            raise ValueError(
                "period_demand needs stationary demand; with reference-price demand use "
                "expected_rewards(period, prices, references)"
            )
        schedule = self.schedule
        return ScenarioDemand(
            base=self.base,
            market_factor=float(schedule.market_factors[period]),
            price_factor=float(schedule.price_factors[period]),
            outside_log_odds=float(schedule.outside_log_odds[period]),
        )

    def sample_sales_one(
        self, period: int, price: float, buyer_bits: int, other_bits: int, reference: float = 0.0
    ) -> tuple[int, int]:
        """Draw (units sold, customers) in period ``period`` from the market's random bits.

        ``reference`` is the reference price, used only with reference-price demand.
        """
        index = None if self.reference_model is not None else self._grid_index.get(price)
        if index is not None:
            # A grid price: read the Poisson means from the table of this schedule.
            if self._means_version != self.version:
                self._build_grid_means()
            buyer_mean = self._buyer_means[period][index]
            other_mean = self._other_means[period][index]
        else:
            probability = float(self.purchase_probabilities(period, price, reference))
            mean = self.market.market_size * float(self.schedule.market_factors[period])
            buyer_mean, other_mean = mean * probability, mean * (1.0 - probability)
        units = poisson_inverse_cdf_one(buyer_bits, buyer_mean)
        non_buyers = poisson_inverse_cdf_one(other_bits, other_mean)
        return units, units + non_buyers

    def _build_grid_means(self) -> None:
        grid = self.market.price_grid
        probability = self.purchase_probabilities(np.arange(self.horizon)[:, None], grid[None, :])
        means = self.market.market_size * self.schedule.market_factors[:, None]
        self._buyer_means = (means * probability).tolist()
        self._other_means = (means * (1.0 - probability)).tolist()
        self._means_version = self.version

    def fixed_price_returns(self, prices: ArrayLike) -> np.ndarray:
        """Return the expected episode reward of posting each price in every period."""
        prices = np.asarray(prices, dtype=np.float64)
        return self.reward_table(prices).sum(axis=0).reshape(prices.shape)

    def observation_extras(self, period: int) -> list[float]:
        """Return the competitors' prices in period ``period`` (0 while absent)."""
        column = min(period, self.horizon - 1)
        prices = self.schedule.competitor_prices[:, column]
        return np.nan_to_num(prices, nan=0.0).tolist()

    def oracle(self) -> ScenarioOracle | ScenarioReferenceOracle:
        """Return the optimal policy (one object that follows the current schedule)."""
        if self._oracle is None:
            if self.reference_model is not None:
                self._oracle = ScenarioReferenceOracle(self)
            else:
                self._oracle = ScenarioOracle(self)
        return self._oracle


class ScenarioOracle:
    """The optimal policy under scenarios: each period's own optimal price.

    Demand in each period is stationary and does not depend on past prices, so the best
    price of each period is optimal. On a grid it is the grid price with the highest
    expected reward in that period. In continuous mode it is the period's optimum from
    ``ScenarioDemand``, or the best of the 201 candidate prices if that earns more.
    ``expected_return()`` sums the periods' optimal expected rewards for the schedule of the
    last reset (the nominal schedule before the first reset).
    """

    def __init__(self, scenario_market: ScenarioMarket) -> None:
        self.scenario_market = scenario_market
        self.actions = scenario_market.market.actions
        self.horizon = scenario_market.horizon
        self._version: int | None = None
        self._prices = np.empty(0)
        self._indices: np.ndarray | None = None
        self._step_rewards = np.empty(0)
        # Continuous optima per (price factor, log D): market factors only scale rewards.
        self._optimum_cache: dict[tuple[float, float], float] = {}

    def _solve(self) -> None:
        scenario_market = self.scenario_market
        if self._version == scenario_market.version:
            return
        candidates = np.asarray(self.actions.candidate_prices, dtype=np.float64)
        table = scenario_market.reward_table(candidates)
        best = np.argmax(table, axis=1)
        periods = np.arange(self.horizon)
        if self.actions.discrete:
            self._indices = best
            self._prices = candidates[best]
            self._step_rewards = table[periods, best]
        else:
            prices = np.array([self._continuous_optimum(t) for t in periods])
            rewards = scenario_market.expected_rewards(periods, prices)
            # Never do worse than the candidate grid, in case a numeric optimum missed.
            grid_better = table[periods, best] > rewards
            self._prices = np.where(grid_better, candidates[best], prices)
            self._step_rewards = np.where(grid_better, table[periods, best], rewards)
        self._version = scenario_market.version

    def _continuous_optimum(self, period: int) -> float:
        schedule = self.scenario_market.schedule
        key = (float(schedule.price_factors[period]), float(schedule.outside_log_odds[period]))
        if key not in self._optimum_cache:
            if len(self._optimum_cache) > 4096:
                self._optimum_cache.clear()
            market = self.scenario_market.market
            demand = self.scenario_market.period_demand(period)
            self._optimum_cache[key] = float(
                demand.optimal_price(
                    unit_cost=market.unit_cost, price_bounds=(market.min_price, market.max_price)
                )
            )
        return self._optimum_cache[key]

    @property
    def prices(self) -> np.ndarray:
        """The optimal price of every period (currency), shape (horizon,)."""
        self._solve()
        return self._prices.copy()

    @property
    def step_rewards(self) -> np.ndarray:
        """The optimal expected reward of every period (currency), shape (horizon,)."""
        self._solve()
        return self._step_rewards.copy()

    def period_of(self, observation: Any) -> int:
        """Return the period an observation of ``SingleProduct-v0`` is about to price."""
        _, time_left = observation_state(observation)
        periods_left = int(round(time_left * self.horizon))
        return min(max(self.horizon - periods_left, 0), self.horizon - 1)

    def act(self, observation: Any) -> Any:
        """Return the optimal action for the period the observation is about to price."""
        self._solve()
        period = self.period_of(observation)
        if self._indices is not None:
            return int(self._indices[period])
        return self.actions.price_to_action(float(self._prices[period]))

    def expected_step_reward(self, period: int, reference: float | None = None) -> float:
        """Return the optimal expected reward of period ``period`` (0-based).

        ``reference`` is accepted for the interface of ``ScenarioReferenceOracle`` and unused.
        """
        self._solve()
        return float(self._step_rewards[period])

    def expected_return(self) -> float:
        """Return the sum over periods of the optimal expected rewards."""
        self._solve()
        return float(math.fsum(self._step_rewards.tolist()))


class ScenarioReferenceOracle:
    """Near-optimal policy under scenarios with reference-price demand.

    Backward induction over (period, reference price): ``V_t(r) = max_p [R_t(p, r) +
    V_(t+1)(r')]`` with ``r' = memory r + (1 - memory) p`` and ``V_horizon = 0``. The
    reference price lies on ``n_reference_points`` evenly spaced points of [min_price,
    max_price], with linear interpolation in between, as in ``ReferencePriceOracle``. The
    prices searched are the grid (discrete mode) or the 201 candidate prices (continuous
    mode).

    ``expected_return()`` is the exact expected return of this policy from the start state
    for the schedule of the last reset, computed by a rollout, so it is a lower bound on
    the optimum. ``interpolated_value()`` is the value-iteration estimate.
    """

    def __init__(
        self, scenario_market: ScenarioMarket, n_reference_points: int = DEFAULT_REFERENCE_POINTS
    ) -> None:
        if n_reference_points < 2:
            raise ValueError(f"n_reference_points must be at least 2, got {n_reference_points!r}.")
        market = scenario_market.market
        self.scenario_market = scenario_market
        self.actions = market.actions
        self.horizon = scenario_market.horizon
        self.prices = np.asarray(self.actions.candidate_prices, dtype=np.float64)
        self.references = np.linspace(market.min_price, market.max_price, n_reference_points)
        self._step = self.references[1] - self.references[0]

        # The next reference of each (reference, price) does not depend on the period.
        grid_prices = np.broadcast_to(self.prices, (self.references.size, self.prices.size))
        grid_references = np.broadcast_to(self.references[:, None], grid_prices.shape)
        self._lower, self._weight = self._interpolation(
            scenario_market.next_references(grid_references, grid_prices)
        )
        self._version: int | None = None
        self.values = np.zeros((self.horizon + 1, self.references.size))
        self._expected_return = 0.0

    def _interpolation(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        position = (points - self.references[0]) / self._step
        position = np.clip(position, 0.0, self.references.size - 1.0)
        lower = np.minimum(np.floor(position).astype(np.int64), self.references.size - 2)
        return lower, position - lower

    def _solve(self) -> None:
        scenario_market = self.scenario_market
        if self._version == scenario_market.version:
            return
        values = np.zeros((self.horizon + 1, self.references.size))
        lower, weight = self._lower, self._weight
        for period in range(self.horizon - 1, -1, -1):
            rewards = scenario_market.expected_rewards(
                period, self.prices[None, :], self.references[:, None]
            )
            following = values[period + 1]
            future = following[lower] * (1.0 - weight) + following[lower + 1] * weight
            values[period] = np.max(rewards + future, axis=1)
        self.values = values
        self._version = scenario_market.version

        # The exact return of the induced policy: the reference moves deterministically.
        reference = self.scenario_market.market.initial_reference_price
        total = 0.0
        for period in range(self.horizon):
            index, reward = self._best(period, reference)
            total += reward
            reference = float(scenario_market.next_references(reference, self.prices[index]))
        self._expected_return = total

    def _best(self, period: int, reference: float) -> tuple[int, float]:
        """Return (price index, expected reward) of the best price in one state."""
        scenario_market = self.scenario_market
        rewards = scenario_market.expected_rewards(period, self.prices, reference)
        lower, weight = self._interpolation(scenario_market.next_references(reference, self.prices))
        following = self.values[period + 1]
        future = following[lower] * (1.0 - weight) + following[lower + 1] * weight
        index = int(np.argmax(rewards + future))
        return index, float(rewards[index])

    def act(self, observation: Any) -> Any:
        """Return the best action for an observation of ``SingleProduct-v0``."""
        self._solve()
        reference, time_left = observation_state(observation)
        periods_left = int(round(time_left * self.horizon))
        period = min(max(self.horizon - periods_left, 0), self.horizon - 1)
        index, _ = self._best(period, reference)
        if self.actions.discrete:
            return index
        return self.actions.price_to_action(float(self.prices[index]))

    def expected_step_reward(self, period: int, reference: float | None = None) -> float:
        """Return the expected reward of the oracle's price in one (period, reference) state."""
        self._solve()
        if reference is None:
            raise ValueError(
                "expected_step_reward needs the reference price with reference-price demand, "
                "got reference=None"
            )
        return self._best(period, float(reference))[1]

    def expected_return(self) -> float:
        """Return the exact expected return of this policy from the start state."""
        self._solve()
        return self._expected_return

    def interpolated_value(self) -> float:
        """Return the value-iteration estimate of the optimal return from the start state."""
        self._solve()
        start_reference = self.scenario_market.market.initial_reference_price
        lower, weight = self._interpolation(np.array([start_reference]))
        start = self.values[0]
        return float(start[lower[0]] * (1.0 - weight[0]) + start[lower[0] + 1] * weight[0])
