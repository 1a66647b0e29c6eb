"""One product sold over a finite horizon to Poisson arrivals: ``PricingSim/SingleProduct-v0``."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.demand import DemandModel, ReferencePriceDemand, make_demand
from envs.pricing import MarketProperties, PriceActions, build_price_grid
from envs.random_streams import (
    DRAW_BUYERS,
    DRAW_NON_BUYERS,
    PoissonTable,
    draw_stream_key,
    episode_bits,
    poisson_inverse_cdf,
    poisson_inverse_cdf_one,
    poisson_support_max,
)

DEFAULT_DEMAND = "logit"
# Logit demand whose optimal price, about 5.35, lies between the grid prices 5.0 and 5.5 of
# the default grid. A uniformly random grid price earns about 70% of the optimum.
DEFAULT_LOGIT_PARAMS: Mapping[str, float] = {"alpha": 4.0, "beta": 0.6, "market_size": 20.0}
DEFAULT_HORIZON = 100
DEFAULT_N_PRICES = 19
DEFAULT_MIN_PRICE = 1.0
DEFAULT_MAX_PRICE = 10.0

# Largest Poisson lookup table a market builds (entries of 8 bytes, about 16 MiB).
MAX_POISSON_TABLE_ENTRIES = 1 << 21

# Observation layout of SingleProduct-v0.
OBS_LAST_PRICE = 0
OBS_LAST_UNITS = 1
OBS_REFERENCE_PRICE = 2
OBS_TIME_LEFT = 3


def resolve_demand(demand: Any, demand_params: Mapping[str, Any] | None) -> DemandModel:
    """Build the demand model a market's constructor arguments describe.

    ``demand`` is a ``DemandModel``, a model name for ``make_demand`` or a mapping with a
    ``name`` key. Default parameters fill in where none are given: the default logit for
    ``"logit"``, and the default logit as the base of ``"reference-price"``.
    """
    if isinstance(demand, DemandModel):
        if demand_params:
            raise ValueError(
                "demand_params must be empty when demand is a DemandModel instance, got "
                f"demand_params={dict(demand_params)!r}; set the parameters on the model instead."
            )
        return demand
    if isinstance(demand, Mapping):
        params = dict(demand)
        if "name" not in params:
            raise ValueError(f"A demand mapping needs a 'name' key, got {params!r}.")
        name = params.pop("name")
        params.update(demand_params or {})
    elif isinstance(demand, str):
        name, params = demand, dict(demand_params or {})
    else:
        raise TypeError(
            f"demand must be a DemandModel, a model name or a mapping, got {demand!r}."
        )

    key = name.strip().lower().replace("_", "-")
    if key == "logit" and not params:
        params = dict(DEFAULT_LOGIT_PARAMS)
    if key == "reference-price" and "base" not in params:
        params["base"] = {"name": "logit", **DEFAULT_LOGIT_PARAMS}
    return make_demand(name, **params)


class SingleProductMarket:
    """The fixed parameters of a single-product market, shared by the scalar and vector envs.

    It builds the demand model, the price actions, the observation space and, for
    stationary demand with a discrete price grid, the Poisson thresholds of every grid price.
    Constructor arguments are those of ``SingleProductEnv``.
    """

    def __init__(
        self,
        demand: str | DemandModel | Mapping[str, Any] = DEFAULT_DEMAND,
        demand_params: Mapping[str, Any] | None = None,
        horizon: int = DEFAULT_HORIZON,
        action_type: str = "discrete",
        n_prices: int | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        price_grid: Any = None,
        unit_cost: float = 0.0,
        initial_reference_price: float | None = None,
    ) -> None:
        self.demand = resolve_demand(demand, demand_params)
        self.reference_dependent = isinstance(self.demand, ReferencePriceDemand)
        self.market_size = float(self.demand.market_size)

        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}.")
        self.horizon = int(horizon)

        if price_grid is None:
            n_prices = DEFAULT_N_PRICES if n_prices is None else n_prices
            min_price = DEFAULT_MIN_PRICE if min_price is None else min_price
            max_price = DEFAULT_MAX_PRICE if max_price is None else max_price
        grid = build_price_grid(n_prices, min_price, max_price, price_grid)
        self.actions = PriceActions(action_type, grid)
        self.action_type = action_type
        self.price_grid = self.actions.price_grid
        self.min_price = self.actions.min_price
        self.max_price = self.actions.max_price

        if (
            isinstance(unit_cost, bool)
            or not isinstance(unit_cost, (int, float, np.floating, np.integer))
            or not np.isfinite(unit_cost)
            or unit_cost < 0
        ):
            raise ValueError(f"unit_cost must be a finite number >= 0, got {unit_cost!r}.")
        self.unit_cost = float(unit_cost)

        if initial_reference_price is None:
            initial_reference_price = (self.min_price + self.max_price) / 2.0
        if isinstance(initial_reference_price, bool) or not isinstance(
            initial_reference_price, (int, float, np.integer, np.floating)
        ):
            raise ValueError(
                "initial_reference_price must be a number in [min_price, max_price], got "
                f"{initial_reference_price!r}."
            )
        reference = float(initial_reference_price)
        if not self.min_price <= reference <= self.max_price:
            raise ValueError(
                f"initial_reference_price must lie in [min_price, max_price] = "
                f"[{self.min_price}, {self.max_price}], got {initial_reference_price!r}."
            )
        self.initial_reference_price = reference

        # Units sold never exceed the largest value the Poisson sampler returns for the
        # market size, because the purchase probability is at most 1.
        self.max_units = poisson_support_max(self.market_size)
        # A bound of at least 1 keeps the Box from collapsing when the market size is 0,
        # which Gymnasium's checker warns about.
        units_high = max(self.max_units, 1)
        self.observation_space = spaces.Box(
            low=np.zeros(4, dtype=np.float32),
            high=np.array([self.max_price, units_high, self.max_price, 1.0], dtype=np.float32),
            dtype=np.float32,
        )

        # Stationary demand on a grid: the Poisson means of each grid price are fixed, so the
        # inverse CDF becomes a table lookup. Rows 0..n-1 are buyers, n..2n-1 non-buyers.
        # Both samplers return the same draws, so the choice only changes speed. Very large
        # markets skip the table, because its rows grow with the market size.
        table_entries = 2 * self.actions.n_prices * (self.max_units + 1)
        self.uses_table = (
            self.actions.discrete
            and not self.reference_dependent
            and table_entries <= MAX_POISSON_TABLE_ENTRIES
        )
        if self.uses_table:
            probability = self.purchase_probabilities(self.price_grid)
            means = np.concatenate(
                [self.market_size * probability, self.market_size * (1.0 - probability)]
            )
            self.poisson_table: PoissonTable | None = PoissonTable(means)
        else:
            self.poisson_table = None

        self._oracle: Any = None
        # A ``ScenarioMarket`` when ``SingleProductEnv`` gets scenarios. It then provides the
        # oracle and the fixed-price returns. The vector env never sets it.
        self.scenario: Any = None

    # -- demand -----------------------------------------------------------------------

    def purchase_probabilities(
        self, prices: np.ndarray, references: np.ndarray | None = None
    ) -> np.ndarray:
        """Return purchase probabilities, clipped to [0, 1], for arrays of prices."""
        if self.reference_dependent:
            probability = self.demand.purchase_probability(prices, references)
        else:
            probability = self.demand.purchase_probability(prices)
        # np.minimum and np.maximum instead of np.clip: same result, less call overhead.
        return np.minimum(np.maximum(np.asarray(probability, dtype=np.float64), 0.0), 1.0)

    def expected_rewards(self, prices: np.ndarray, references: np.ndarray | None = None) -> np.ndarray:
        """Return expected reward per period, ``(p - unit_cost) * market_size * P(p, r)``."""
        prices = np.asarray(prices, dtype=np.float64)
        probability = self.purchase_probabilities(prices, references)
        return (prices - self.unit_cost) * self.market_size * probability

    def next_references(self, references: np.ndarray, prices: np.ndarray) -> np.ndarray:
        """Return next period's reference prices (unchanged for stationary demand)."""
        if not self.reference_dependent:
            return references
        return np.asarray(self.demand.next_reference_price(references, prices), dtype=np.float64)

    def sample_sales(
        self, prices: np.ndarray, references: np.ndarray, buyer_bits: np.ndarray, other_bits: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw (units sold, customers) for arrays of prices with the generic Poisson sampler."""
        probability = self.purchase_probabilities(prices, references)
        units = poisson_inverse_cdf(buyer_bits, self.market_size * probability)
        non_buyers = poisson_inverse_cdf(other_bits, self.market_size * (1.0 - probability))
        return units, units + non_buyers

    def sample_sales_one(
        self, price: float, reference: float, buyer_bits: int, other_bits: int
    ) -> tuple[int, int]:
        """Draw (units sold, customers) for one market: ``sample_sales`` on a batch of one."""
        probability = float(
            self.purchase_probabilities(np.array([price]), np.array([reference]))[0]
        )
        units = poisson_inverse_cdf_one(buyer_bits, self.market_size * probability)
        non_buyers = poisson_inverse_cdf_one(other_bits, self.market_size * (1.0 - probability))
        return units, units + non_buyers

    # -- oracles ----------------------------------------------------------------------

    def oracle(self) -> Any:
        """Return the market's optimal policy (built once, then cached)."""
        if self.scenario is not None:
            return self.scenario.oracle()
        if self._oracle is None:
            from envs import oracles

            if self.reference_dependent:
                self._oracle = oracles.ReferencePriceOracle(self)
            else:
                self._oracle = oracles.myopic_oracle(self)
        return self._oracle

    def fixed_price_returns(self, prices: np.ndarray) -> np.ndarray:
        """Return the expected episode reward of posting each price in every period."""
        prices = np.asarray(prices, dtype=np.float64)
        if self.scenario is not None:
            return self.scenario.fixed_price_returns(prices)
        if not self.reference_dependent:
            return self.horizon * self.expected_rewards(prices)

        # The reference price moves deterministically, so the expectation is a rollout.
        references = np.full(prices.shape, self.initial_reference_price)
        total = np.zeros(prices.shape)
        for _ in range(self.horizon):
            total += self.expected_rewards(prices, references)
            references = self.next_references(references, prices)
        return total


class SingleProductEnv(MarketProperties, gym.Env):
    """Price one product over a finite horizon; customers arrive at random and buy or not.

    Each period a Poisson number of customers with mean ``M`` (the demand model's
    ``market_size``) arrives, and each buys one unit with probability ``P(p, r)`` at the
    posted price ``p``. By Poisson thinning the units sold are Poisson(``M P``) and the
    customers who do not buy are an independent Poisson(``M (1 - P)``).

    Demand is stationary (``P(p)``) for every model except ``ReferencePriceDemand``, where
    customers compare ``p`` with a reference price ``r`` that follows posted prices by
    exponential smoothing, ``r' = memory * r + (1 - memory) * p``. Pricing is then
    sequential: a high price today lowers tomorrow's demand.

    ## Action space

    ``action_type="discrete"`` (default): ``Discrete(n)``; action ``i`` posts
    ``price_grid[i]``. The default grid is 1.0, 1.5, ..., 10.0 (19 prices).
    ``action_type="continuous"``: ``Box(-1, 1, (1,), float32)``; action ``a`` posts
    ``min_price + (a + 1) / 2 * (max_price - min_price)``.
    A NaN, non-integer or out-of-space action raises ``ValueError``.

    ## Observation space

    ``Box(4,)`` of float32:

    | index | observation                                   | min | max         | unit          |
    |-------|-----------------------------------------------|-----|-------------|---------------|
    | 0     | last posted price (0 before the first step)   | 0   | max_price   | currency      |
    | 1     | units sold last period (0 before the first)   | 0   | max_units   | units/period  |
    | 2     | reference price customers use next period     | 0   | max_price   | currency      |
    | 3     | fraction of the horizon left                  | 0   | 1           | -             |

    ``max_units`` is the largest value the Poisson sampler can return for mean ``M``
    (``env.unwrapped.market.max_units``; 67 for the default ``M = 20``), so units sold never
    exceed it. The bound is 1 when ``M = 0``, so that the Box is not degenerate. For stationary demand the reference price stays at
    ``initial_reference_price``: it does not affect demand, and a constant entry keeps the
    state space of tabular agents small. With ``ReferencePriceDemand`` it follows the
    smoothing above and always lies between ``min_price`` and ``max_price``.

    ## Reward

    ``(p - unit_cost) * units_sold`` in currency, a Python float: revenue with the default
    ``unit_cost=0``, profit otherwise.

    ## Starting state

    Last price 0, last units 0, reference price ``initial_reference_price``, time left 1.
    The start is deterministic; ``reset(seed=...)`` seeds the random arrivals.

    ## Episode end

    Truncation after ``horizon`` periods. The market never terminates.

    ## Info

    ``price`` (currency), ``customers`` (arrivals this period), ``units_sold``, ``revenue``
    (``p * units_sold``, currency), ``profit`` (the reward) and ``oracle_revenue``: the
    oracle's expected reward for this period in the state the period started in. For
    stationary demand that is the best expected reward per period, so
    ``oracle_revenue - reward`` has expectation equal to the per-period regret.

    ## Arguments

    - ``demand``: a ``DemandModel``, a name for ``envs.demand.make_demand`` or a mapping with
      a ``name`` key. Default ``"logit"`` with ``alpha=4.0, beta=0.6, market_size=20``,
      whose optimal price is about 5.35.
    - ``demand_params``: parameters for a named model (``"reference-price"`` gets the default
      logit as ``base`` when none is given).
    - ``horizon``: periods per episode, default 100.
    - ``action_type``: ``"discrete"`` or ``"continuous"``.
    - ``n_prices``, ``min_price``, ``max_price``: an evenly spaced grid, default 19 prices
      from 1.0 to 10.0. ``price_grid``: an explicit strictly increasing grid instead.
    - ``unit_cost``: cost per unit sold, default 0.
    - ``initial_reference_price``: default the middle of the price range.
    - ``scenarios``: stress scenarios that change demand over the episode (shocks, drift,
      seasonality, competitors), as ``envs.scenarios`` objects or mappings with a ``kind``
      key; see ``docs/scenarios.md``. The oracle and ``oracle_revenue`` follow them.
    - ``observe_competitor_prices``: with competitor scenarios, append each competitor's
      price in the coming period (0 while absent) as observation entries 4, 5, ...
    - ``render_mode``: None or ``"ansi"`` (a one-line text summary of the last period).

    ## Example

    >>> import gymnasium as gym
    >>> import envs
    >>> env = gym.make("PricingSim/SingleProduct-v0")
    >>> observation, info = env.reset(seed=0)
    >>> oracle = env.unwrapped.oracle()
    >>> observation, reward, terminated, truncated, info = env.step(oracle.act(observation))
    >>> float(info["price"])
    5.5
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        demand: str | DemandModel | Mapping[str, Any] = DEFAULT_DEMAND,
        demand_params: Mapping[str, Any] | None = None,
        horizon: int = DEFAULT_HORIZON,
        action_type: str = "discrete",
        n_prices: int | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        price_grid: Any = None,
        unit_cost: float = 0.0,
        initial_reference_price: float | None = None,
        scenarios: Any = None,
        observe_competitor_prices: bool = False,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}."
            )
        self.render_mode = render_mode
        self.market = SingleProductMarket(
            demand=demand,
            demand_params=demand_params,
            horizon=horizon,
            action_type=action_type,
            n_prices=n_prices,
            min_price=min_price,
            max_price=max_price,
            price_grid=price_grid,
            unit_cost=unit_cost,
            initial_reference_price=initial_reference_price,
        )
        self.action_space = self.market.actions.action_space
        self.observation_space = self.market.observation_space

        # Scenarios make demand change by period, so the stationary Poisson table is unused.
        self._scenario: Any = None
        self._table = self.market.poisson_table
        if scenarios or observe_competitor_prices:
            from envs.scenarios import ScenarioMarket

            self._scenario = ScenarioMarket(self.market, scenarios, observe_competitor_prices)
            self.market.scenario = self._scenario
            self.observation_space = self._scenario.observation_space
            self._table = None
        self._observe_extras = bool(
            self._scenario is not None and self._scenario.observe_competitor_prices
        )

        self._actions = self.market.actions
        self._horizon = self.market.horizon
        self._n_prices = self.market.actions.n_prices
        self._unit_cost = self.market.unit_cost
        self._period = self._horizon
        self._bits: list[list[int]] = []
        self._reference = self.market.initial_reference_price
        self._last_price = 0.0
        self._last_units = 0
        self._last_info: dict[str, Any] = {}
        self._stationary_oracle_reward: float | None = None

    # -- conveniences that read the market ----------------------------------------------

    @property
    def demand(self) -> DemandModel:
        return self.market.demand

    @property
    def horizon(self) -> int:
        return self.market.horizon

    @property
    def unit_cost(self) -> float:
        return self.market.unit_cost

    def oracle(self) -> Any:
        """Return the optimal policy: ``act(observation)`` and ``expected_return()``."""
        return self.market.oracle()

    # -- Gymnasium API ------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        key = draw_stream_key(self.np_random)
        self._bits = episode_bits(key, self._horizon)
        # Scenarios draw after the stream key, so a seed gives the same arrival draws with
        # and without them.
        if self._scenario is not None:
            self._scenario.reset(self.np_random)
        self._period = 0
        self._reference = self.market.initial_reference_price
        self._last_price = 0.0
        self._last_units = 0
        self._last_info = {}
        return self._observation(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        period = self._period
        if period >= self._horizon:
            raise RuntimeError("The episode has ended; call reset() before step().")
        bits = self._bits[period]
        reference = self._reference

        if self._table is not None:
            index = self._actions.discrete_index(action)
            price = self._actions._grid_list[index]
            # PoissonTable.sample_one, inlined because this is the hot path.
            rows = self._table.row_thresholds
            units = bisect_left(rows[index], bits[DRAW_BUYERS])
            customers = units + bisect_left(rows[self._n_prices + index], bits[DRAW_NON_BUYERS])
            oracle_reward = self._stationary_oracle_reward
            if oracle_reward is None:
                oracle_reward = self._stationary_oracle_reward = float(
                    self.market.oracle().expected_step_reward(reference, self._horizon - period)
                )
        elif self._scenario is not None:
            price = self._actions.price(action)
            units, customers = self._scenario.sample_sales_one(
                period, price, bits[DRAW_BUYERS], bits[DRAW_NON_BUYERS], reference
            )
            oracle_reward = self._scenario.oracle().expected_step_reward(period, reference)
            if self.market.reference_dependent:
                self._reference = float(self.market.next_references(reference, price))
        else:
            price = self._actions.price(action)
            units, customers = self.market.sample_sales_one(
                price, reference, bits[DRAW_BUYERS], bits[DRAW_NON_BUYERS]
            )
            oracle_reward = float(
                self.market.oracle().expected_step_reward(reference, self._horizon - period)
            )
            next_reference = self.market.next_references(np.array([reference]), np.array([price]))
            self._reference = float(next_reference[0])

        revenue = price * units
        reward = (price - self._unit_cost) * units
        self._period = period + 1
        self._last_price = price
        self._last_units = units
        info = {
            "price": price,
            "customers": customers,
            "units_sold": units,
            "revenue": revenue,
            "profit": reward,
            "oracle_revenue": oracle_reward,
        }
        self._last_info = info
        truncated = self._period >= self._horizon
        return self._observation(), reward, False, truncated, info

    def _observation(self) -> np.ndarray:
        entries = [
            self._last_price,
            self._last_units,
            self._reference,
            (self._horizon - self._period) / self._horizon,
        ]
        if self._observe_extras:
            entries += self._scenario.observation_extras(self._period)
        return np.array(entries, dtype=np.float32)

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        if not self._last_info:
            return f"period 0/{self._horizon}: no price posted yet"
        info = self._last_info
        return (
            f"period {self._period}/{self._horizon}: price {info['price']:.2f}, "
            f"{info['customers']} customers, {info['units_sold']} units sold, "
            f"revenue {info['revenue']:.2f}, reference price {self._reference:.2f}"
        )
