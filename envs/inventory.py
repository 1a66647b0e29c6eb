"""A finite stock sold over a finite horizon: ``PricingSim/Inventory-v0``."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from scipy.special import pdtrc

from envs.demand import DemandModel
from envs.pricing import MarketProperties
from envs.random_streams import DRAW_BUYERS, DRAW_NON_BUYERS, draw_stream_key, episode_bits
from envs.single_product import SingleProductMarket, resolve_demand

# Logit demand as in SingleProduct-v0 (alpha=4.0, beta=0.6) with 5 expected customers per
# period: at the unconstrained optimum of about 5.35 the market would buy about 3.4 units a
# period, 170 over 50 periods, so a stock of 100 binds and the optimal prices are higher.
DEFAULT_INVENTORY_DEMAND_PARAMS: Mapping[str, float] = {
    "alpha": 4.0,
    "beta": 0.6,
    "market_size": 5.0,
}
DEFAULT_INITIAL_STOCK = 100
DEFAULT_INVENTORY_HORIZON = 50

# Observation layout of Inventory-v0.
OBS_LAST_PRICE = 0
OBS_LAST_UNITS = 1
OBS_STOCK_LEFT = 2
OBS_PERIODS_LEFT = 3


class InventoryMarket:
    """The fixed parameters of an inventory market: demand, prices, stock, horizon, salvage.

    Constructor arguments are those of ``InventoryEnv``. Sales draws reuse the
    single-product machinery (``self.sales``), so both markets share one sampler.
    """

    def __init__(
        self,
        demand: str | DemandModel | Mapping[str, Any] = "logit",
        demand_params: Mapping[str, Any] | None = None,
        initial_stock: int = DEFAULT_INITIAL_STOCK,
        horizon: int = DEFAULT_INVENTORY_HORIZON,
        action_type: str = "discrete",
        n_prices: int | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        price_grid: Any = None,
        salvage_value: float = 0.0,
    ) -> None:
        if isinstance(demand, str) and demand.strip().lower() == "logit" and not demand_params:
            demand_params = DEFAULT_INVENTORY_DEMAND_PARAMS
        model = resolve_demand(demand, demand_params)
        if model.name == "reference-price":
            raise ValueError(
                "Inventory-v0 needs stationary demand, got a reference-price model; use "
                "SingleProduct-v0 for reference-price effects."
            )
        self.sales = SingleProductMarket(
            demand=model,
            horizon=horizon,
            action_type=action_type,
            n_prices=n_prices,
            min_price=min_price,
            max_price=max_price,
            price_grid=price_grid,
        )
        self.demand = model
        self.market_size = self.sales.market_size
        self.horizon = self.sales.horizon
        self.actions = self.sales.actions
        self.action_type = action_type
        self.price_grid = self.sales.price_grid
        self.min_price = self.sales.min_price
        self.max_price = self.sales.max_price
        self.unit_cost = 0.0

        if (
            isinstance(initial_stock, bool)
            or not isinstance(initial_stock, (int, np.integer))
            or initial_stock < 1
        ):
            raise ValueError(f"initial_stock must be an integer >= 1, got {initial_stock!r}.")
        self.initial_stock = int(initial_stock)
        if (
            isinstance(salvage_value, bool)
            or not isinstance(salvage_value, (int, float, np.integer, np.floating))
            or not np.isfinite(salvage_value)
            or salvage_value < 0
        ):
            raise ValueError(f"salvage_value must be a finite number >= 0, got {salvage_value!r}.")
        self.salvage_value = float(salvage_value)

        self.observation_space = spaces.Box(
            low=np.zeros(4, dtype=np.float32),
            high=np.array(
                [self.max_price, self.initial_stock, self.initial_stock, self.horizon],
                dtype=np.float32,
            ),
            dtype=np.float32,
        )
        self._oracle: Any = None

    def purchase_probabilities(self, prices: np.ndarray) -> np.ndarray:
        """Return purchase probabilities, clipped to [0, 1], for an array of prices."""
        return self.sales.purchase_probabilities(prices)

    def oracle(self) -> Any:
        """Return the exact dynamic-programming policy (built once, then cached)."""
        if self._oracle is None:
            from envs.oracles import InventoryOracle

            self._oracle = InventoryOracle(self)
        return self._oracle

    def fixed_price_returns(self, prices: np.ndarray) -> np.ndarray:
        """Return the expected episode reward of posting each price in every period.

        With one price throughout, total sales are ``min(N, C)`` for total demand
        ``N ~ Poisson(T * lambda(p))`` and stock ``C``, and the rest is salvaged.
        """
        prices = np.asarray(prices, dtype=np.float64)
        total_means = self.horizon * self.market_size * self.purchase_probabilities(prices)
        levels = np.arange(self.initial_stock, dtype=np.float64)
        # E[min(N, C)] = sum_{k=1}^{C} P(N >= k) = sum_{k=0}^{C-1} P(N > k).
        expected_sold = pdtrc(levels[:, None], total_means.ravel()[None, :]).sum(axis=0)
        expected_sold = expected_sold.reshape(prices.shape)
        return prices * expected_sold + self.salvage_value * (self.initial_stock - expected_sold)


class InventoryEnv(MarketProperties, gym.Env):
    """Sell a finite stock over a finite horizon to Poisson arrivals (Gallego and van Ryzin).

    This is the discrete-time version of Gallego and van Ryzin (1994), "Optimal dynamic
    pricing of inventories with stochastic demand over finite horizons". Each period a
    Poisson number of customers with mean ``M`` (the demand model's ``market_size``)
    arrives and each wants one unit with probability ``P(p)`` at the posted price ``p``, so
    demand is Poisson(``M P(p)``). Units sold are ``min(demand, stock left)``; the rest of
    the demand is lost. There is no replenishment.

    ## Action space

    As ``SingleProduct-v0``: ``Discrete(n)`` over ``price_grid`` (default 1.0, 1.5, ...,
    10.0) or, with ``action_type="continuous"``, ``Box(-1, 1, (1,), float32)`` mapped onto
    [min_price, max_price]. A NaN or out-of-space action raises ``ValueError``.

    ## Observation space

    ``Box(4,)`` of float32:

    | index | observation                                 | min | max           | unit         |
    |-------|---------------------------------------------|-----|---------------|--------------|
    | 0     | last posted price (0 before the first step) | 0   | max_price     | currency     |
    | 1     | units sold last period (0 before the first) | 0   | initial_stock | units/period |
    | 2     | stock left                                  | 0   | initial_stock | units        |
    | 3     | periods left                                | 0   | horizon       | periods      |

    ## Reward

    ``p * units_sold`` in currency, a Python float. In the last period, if stock is left,
    the reward also includes ``salvage_value * stock_left``.

    ## Starting state

    Last price 0, last units 0, stock ``initial_stock``, ``horizon`` periods left.
    ``reset(seed=...)`` seeds the random arrivals.

    ## Episode end

    Termination when the stock runs out; truncation after ``horizon`` periods with stock
    left.

    ## Info

    ``price``, ``customers`` (arrivals), ``units_sold``, ``revenue`` (``p * units_sold``),
    ``salvage_revenue`` (0 except in the last period), ``lost_sales`` (demand beyond the
    stock), ``stock_left`` and ``oracle_revenue``: the expected sales revenue of the
    dynamic-programming policy in the state the period started in.

    ## Arguments

    - ``demand``, ``demand_params``: as ``SingleProduct-v0``, but reference-price demand is
      rejected. Default: logit with ``alpha=4.0, beta=0.6, market_size=5``.
    - ``initial_stock``: units to sell, default 100.
    - ``horizon``: periods, default 50.
    - ``action_type``, ``n_prices``, ``min_price``, ``max_price``, ``price_grid``: as
      ``SingleProduct-v0``.
    - ``salvage_value``: value per unsold unit at the end, default 0.
    - ``render_mode``: None or ``"ansi"``.

    ## Example

    >>> import gymnasium as gym
    >>> import envs
    >>> env = gym.make("PricingSim/Inventory-v0")
    >>> oracle = env.unwrapped.oracle()
    >>> observation, info = env.reset(seed=0)
    >>> observation, reward, terminated, truncated, info = env.step(oracle.act(observation))
    >>> round(oracle.value(stock=100, periods_left=50)) == round(oracle.expected_return())
    True
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        demand: str | DemandModel | Mapping[str, Any] = "logit",
        demand_params: Mapping[str, Any] | None = None,
        initial_stock: int = DEFAULT_INITIAL_STOCK,
        horizon: int = DEFAULT_INVENTORY_HORIZON,
        action_type: str = "discrete",
        n_prices: int | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        price_grid: Any = None,
        salvage_value: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}."
            )
        self.render_mode = render_mode
        self.market = InventoryMarket(
            demand=demand,
            demand_params=demand_params,
            initial_stock=initial_stock,
            horizon=horizon,
            action_type=action_type,
            n_prices=n_prices,
            min_price=min_price,
            max_price=max_price,
            price_grid=price_grid,
            salvage_value=salvage_value,
        )
        self.action_space = self.market.actions.action_space
        self.observation_space = self.market.observation_space

        self._actions = self.market.actions
        self._sales = self.market.sales
        self._table = self._sales.poisson_table
        self._horizon = self.market.horizon
        self._n_prices = self._actions.n_prices
        self._period = self._horizon
        self._stock = self.market.initial_stock
        self._bits: list[list[int]] = []
        self._last_price = 0.0
        self._last_units = 0
        self._last_info: dict[str, Any] = {}

    @property
    def demand(self) -> DemandModel:
        return self.market.demand

    @property
    def horizon(self) -> int:
        return self.market.horizon

    @property
    def initial_stock(self) -> int:
        return self.market.initial_stock

    def oracle(self) -> Any:
        """Return the optimal policy: ``act``, ``expected_return``, ``value``, ``price_table``."""
        return self.market.oracle()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        key = draw_stream_key(self.np_random)
        self._bits = episode_bits(key, self._horizon)
        self._period = 0
        self._stock = self.market.initial_stock
        self._last_price = 0.0
        self._last_units = 0
        self._last_info = {}
        return self._observation(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        period = self._period
        if period >= self._horizon or self._stock <= 0:
            raise RuntimeError("The episode has ended; call reset() before step().")
        bits = self._bits[period]
        stock = self._stock
        periods_left = self._horizon - period
        if self._table is not None:
            index = self._actions.discrete_index(action)
            price = self._actions._grid_list[index]
            # PoissonTable.sample_one, inlined because this is the hot path.
            rows = self._table.row_thresholds
            demand = bisect_left(rows[index], bits[DRAW_BUYERS])
            customers = demand + bisect_left(rows[self._n_prices + index], bits[DRAW_NON_BUYERS])
        else:
            price = self._actions.price(action)
            demand, customers = self._sales.sample_sales_one(
                price,
                self._sales.initial_reference_price,
                bits[DRAW_BUYERS],
                bits[DRAW_NON_BUYERS],
            )

        oracle_reward = self.market.oracle().expected_step_reward(stock, periods_left)
        units = min(demand, stock)
        self._stock = stock - units
        self._period = period + 1
        revenue = price * units
        terminated = self._stock == 0
        truncated = self._period >= self._horizon and not terminated
        salvage = self.market.salvage_value * self._stock if truncated else 0.0
        self._last_price = price
        self._last_units = units
        info = {
            "price": price,
            "customers": customers,
            "units_sold": units,
            "revenue": revenue,
            "salvage_revenue": salvage,
            "lost_sales": demand - units,
            "stock_left": self._stock,
            "oracle_revenue": oracle_reward,
        }
        self._last_info = info
        return self._observation(), float(revenue + salvage), terminated, truncated, info

    def _observation(self) -> np.ndarray:
        return np.array(
            [self._last_price, self._last_units, self._stock, self._horizon - self._period],
            dtype=np.float32,
        )

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        if not self._last_info:
            return f"period 0/{self._horizon}: stock {self._stock}, no price posted yet"
        info = self._last_info
        return (
            f"period {self._period}/{self._horizon}: price {info['price']:.2f}, "
            f"{info['units_sold']} units sold of {self._stock + info['units_sold']}, "
            f"revenue {info['revenue']:.2f}, stock left {self._stock}"
        )
