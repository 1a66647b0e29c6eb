"""Per-period demand of a single-product market under scenarios, and its oracle.

A schedule holds, for each period ``t`` of an episode, the market-size factor ``m_t``, the
price-sensitivity factor ``s_t`` and the log of the outside-option weight ``log D_t``.
With the base model's purchase probability ``P0`` and log-odds ``L0``:

    P_t(p) = P0(s_t p)                          if no competitor is present (D_t = 1)
    P_t(p) = expit(L0(s_t p) - log D_t)         otherwise
    D_t    = 1 + sum_j exp(L0(s_t c_jt) + offset_j)

and the expected demand is ``m_t M P_t(p)``. For a logit base ``L0(q) = alpha - beta q``, so
``P_t`` is the multinomial logit ``exp(u_p) / (1 + exp(u_p) + sum_j exp(u_j))`` with
``u_p = alpha - beta s_t p`` and ``u_j = alpha - beta s_t c_jt + offset_j``. Log-odds enter
the competitor form clipped to [-50, 50], where ``expit`` is already 1 or below 2e-22.

Demand in each period is stationary and independent of past prices, so the optimal policy
prices every period at that period's own optimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from numpy.typing import ArrayLike
from scipy.special import expit

from envs.demand import DemandModel, LogitDemand
from envs.random_streams import poisson_inverse_cdf_one, poisson_support_max
from envs.scenarios.kinds import (
    MARKET_SIZE,
    CompetitorScenario,
    DemandScenario,
    Scenario,
    make_scenarios,
)

__all__ = ["LOG_ODDS_LIMIT", "ScenarioDemand", "ScenarioMarket", "ScenarioOracle", "Schedule"]

# Log-odds are clipped to +-this in the competitor form, so that two saturated utilities
# (a price where the base model's probability is exactly 0 or 1) never give inf - inf.
LOG_ODDS_LIMIT = 50.0


def scenario_probability(
    base: DemandModel, perceived_prices: np.ndarray, outside_log_odds: ArrayLike
) -> np.ndarray:
    """Return the purchase probability at perceived prices ``s p`` given ``log D``, batched."""
    perceived_prices = np.asarray(perceived_prices, dtype=np.float64)
    probability = np.asarray(base.purchase_probability(perceived_prices), dtype=np.float64)
    probability = np.minimum(np.maximum(probability, 0.0), 1.0)
    outside = np.asarray(outside_log_odds, dtype=np.float64)
    if not np.any(outside > 0.0):
        return probability
    log_odds = np.clip(base._log_odds(perceived_prices), -LOG_ODDS_LIMIT, LOG_ODDS_LIMIT)
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
        probability = scenario_probability(self.base, self.price_factor * prices, self.outside_log_odds)
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

    Raises ``ValueError`` for reference-price demand, where the optimum is not myopic and
    the oracle would need a time-dependent dynamic program.
    """

    def __init__(
        self, market: Any, scenarios: Any, observe_competitor_prices: bool = False
    ) -> None:
        if market.reference_dependent:
            raise ValueError(
                "scenarios do not support reference-price demand: its optimum depends on "
                "future periods, and the oracle has no dynamic program for a changing "
                "demand. Use a stationary demand model (logit, linear, exponential, "
                "constant-elasticity, mixture) with scenarios."
            )
        if not isinstance(observe_competitor_prices, (bool, np.bool_)):
            raise TypeError(
                f"observe_competitor_prices must be a bool, got {observe_competitor_prices!r}"
            )
        self.market = market
        self.base: DemandModel = market.demand
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
        high = [market.max_price, self.max_units, market.max_price, 1.0]
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
        self._oracle: ScenarioOracle | None = None

        # Poisson means of every (period, grid price), rebuilt when the schedule changes.
        self._grid_index = {price: i for i, price in enumerate(market.price_grid.tolist())}
        self._buyer_means: list[list[float]] = []
        self._other_means: list[list[float]] = []
        self._means_version: int | None = None

    # -- schedules ------------------------------------------------------------------------

    def build_schedule(self, rng: np.random.Generator | None) -> Schedule:
        """Compute every period's factors and competitor prices, drawing random paths from ``rng``."""
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
        prices = np.array(competitor_prices, dtype=np.float64).reshape(len(competitor_prices), horizon)

        terms = [np.zeros(horizon)]
        for competitor, path in zip(self.competitors, prices):
            present = ~np.isnan(path)
            log_odds = np.clip(
                self.base._log_odds(price_factors * np.where(present, path, 0.0)),
                -LOG_ODDS_LIMIT,
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

    def purchase_probabilities(self, periods: ArrayLike, prices: ArrayLike) -> np.ndarray:
        """Return purchase probabilities for periods and prices (broadcast against each other)."""
        periods = np.asarray(periods, dtype=np.int64)
        prices = np.asarray(prices, dtype=np.float64)
        schedule = self.schedule
        return scenario_probability(
            self.base,
            schedule.price_factors[periods] * prices,
            schedule.outside_log_odds[periods],
        )

    def expected_rewards(self, periods: ArrayLike, prices: ArrayLike) -> np.ndarray:
        """Return ``(p - unit_cost) * m_t M P_t(p)`` for periods and prices (broadcast)."""
        periods = np.asarray(periods, dtype=np.int64)
        prices = np.asarray(prices, dtype=np.float64)
        means = self.market.market_size * self.schedule.market_factors[periods]
        return (prices - self.market.unit_cost) * means * self.purchase_probabilities(periods, prices)

    def reward_table(self, prices: ArrayLike) -> np.ndarray:
        """Return expected rewards of shape (horizon, len(prices)): every period at every price."""
        prices = np.asarray(prices, dtype=np.float64).reshape(-1)
        return self.expected_rewards(np.arange(self.horizon)[:, None], prices[None, :])

    def period_demand(self, period: int) -> ScenarioDemand:
        """Return period ``period``'s demand as a ``DemandModel``."""
        schedule = self.schedule
        return ScenarioDemand(
            base=self.base,
            market_factor=float(schedule.market_factors[period]),
            price_factor=float(schedule.price_factors[period]),
            outside_log_odds=float(schedule.outside_log_odds[period]),
        )

    def sample_sales_one(
        self, period: int, price: float, buyer_bits: int, other_bits: int
    ) -> tuple[int, int]:
        """Draw (units sold, customers) in period ``period`` from the market's random bits."""
        index = self._grid_index.get(price)
        if index is not None:
            # A grid price: read the Poisson means from the table of this schedule.
            if self._means_version != self.version:
                self._build_grid_means()
            buyer_mean = self._buyer_means[period][index]
            other_mean = self._other_means[period][index]
        else:
            probability = float(self.purchase_probabilities(period, price))
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

    def oracle(self) -> ScenarioOracle:
        """Return the optimal policy (one object that follows the current schedule)."""
        if self._oracle is None:
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
        periods_left = int(round(float(np.asarray(observation, dtype=np.float64)[3]) * self.horizon))
        return min(max(self.horizon - periods_left, 0), self.horizon - 1)

    def act(self, observation: Any) -> Any:
        """Return the optimal action for the period the observation is about to price."""
        self._solve()
        period = self.period_of(observation)
        if self._indices is not None:
            return int(self._indices[period])
        return self.actions.price_to_action(float(self._prices[period]))

    def expected_step_reward(self, period: int) -> float:
        """Return the optimal expected reward of period ``period`` (0-based)."""
        self._solve()
        return float(self._step_rewards[period])

    def expected_return(self) -> float:
        """Return the sum over periods of the optimal expected rewards."""
        self._solve()
        return float(math.fsum(self._step_rewards.tolist()))
