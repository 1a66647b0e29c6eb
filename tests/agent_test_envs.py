"""Small Gymnasium markets for the agent tests, independent of the ``envs`` package.

``TinyPricingEnv`` is a stationary logit market with the step-info keys and the oracle
interface that the pricing-sim markets provide, small enough to train on in a test.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class _TinyOracle:
    def __init__(self, env: "TinyPricingEnv", price: float):
        self.env = env
        self.price = price

    def act(self, observation: Any) -> Any:
        return self.env.action_for_price(self.price)

    def expected_return(self) -> float:
        return float(self.env.horizon * self.env.expected_revenue(self.price))


class TinyPricingEnv(gym.Env):
    """A stationary market: Poisson(market_size) customers, each buying with a logit probability.

    Purchase probability at price p: 1 / (1 + exp(-(a - b * p))). The observation is the
    share of the horizon elapsed, in [0, 1]. Reward: price * units sold (currency).
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        action_type: str = "discrete",
        n_prices: int = 10,
        min_price: float = 1.0,
        max_price: float = 10.0,
        market_size: float = 20.0,
        a: float = 3.0,
        b: float = 0.6,
        horizon: int = 50,
    ):
        self.action_type = action_type
        self.price_grid = np.linspace(min_price, max_price, n_prices)
        self.min_price = min_price
        self.max_price = max_price
        self.market_size = market_size
        self.a = a
        self.b = b
        self.horizon = horizon
        self.unit_cost = 0.0
        if action_type == "discrete":
            self.action_space = gym.spaces.Discrete(n_prices)
        else:
            self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self._t = 0

    def purchase_probability(self, price: np.ndarray | float) -> np.ndarray | float:
        return 1.0 / (1.0 + np.exp(-(self.a - self.b * np.asarray(price))))

    def expected_revenue(self, price: np.ndarray | float) -> np.ndarray | float:
        return np.asarray(price) * self.market_size * self.purchase_probability(price)

    def action_for_price(self, price: float) -> Any:
        if self.action_type == "discrete":
            return int(np.argmin(np.abs(self.price_grid - price)))
        a = 2.0 * (price - self.min_price) / (self.max_price - self.min_price) - 1.0
        return np.array([a], dtype=np.float32)

    def price_of(self, action: Any) -> float:
        if self.action_type == "discrete":
            return float(self.price_grid[int(action)])
        a = float(np.clip(np.asarray(action).ravel()[0], -1.0, 1.0))
        return self.min_price + (a + 1.0) / 2.0 * (self.max_price - self.min_price)

    def best_grid_price(self) -> float:
        return float(self.price_grid[np.argmax(self.expected_revenue(self.price_grid))])

    def oracle(self) -> _TinyOracle:
        if self.action_type == "discrete":
            return _TinyOracle(self, self.best_grid_price())
        fine = np.linspace(self.min_price, self.max_price, 2001)
        return _TinyOracle(self, float(fine[np.argmax(self.expected_revenue(fine))]))

    def _observation(self) -> np.ndarray:
        return np.array([self._t / self.horizon], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._t = 0
        return self._observation(), {}

    def step(self, action: Any):
        price = self.price_of(action)
        customers = int(self.np_random.poisson(self.market_size))
        units = int(self.np_random.binomial(customers, self.purchase_probability(price)))
        revenue = price * units
        self._t += 1
        oracle_price = self.oracle().price
        info = {
            "price": price,
            "customers": customers,
            "units_sold": units,
            "revenue": revenue,
            "oracle_revenue": float(self.expected_revenue(oracle_price)),
        }
        return self._observation(), float(revenue), False, self._t >= self.horizon, info


def make_tiny_env(**kwargs: Any) -> TinyPricingEnv:
    return TinyPricingEnv(**kwargs)
