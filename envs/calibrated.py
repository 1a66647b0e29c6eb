"""A pricing market whose customers are fitted to a real purchase log or choice panel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from scipy.special import expit

from envs.calibration.logit import LogitDemandModel
from envs.calibration.model_io import SavedModel, load_model
from envs.pricing import PriceActions

MAX_POPULATION = 5_000
MAX_SCENARIOS = 2_000
CONTINUOUS_ORACLE_POINTS = 201
DEFAULT_MARGIN = 0.5


class CalibratedEnv(gym.Env):
    """Price one item against competitors, with customers calibrated from real data.

    A fitted demand model (a logit or MLP saved by ``pricing-sim calibrate``, or the logit of
    the default shipped panel, see ``envs.calibration.DEFAULT_DATASET``) describes how the
    data's customers choose. Each period a Poisson number of customers arrives. Each customer
    is a user of the data, drawn in proportion to their number of purchase occasions, and
    keeps that user's fitted parameters. The agent sets the price of the focal item, and the
    other items' prices and promotions are replayed from a randomly drawn observed occasion.
    The occasions of all periods are drawn at reset, so after a reset the oracle's
    ``expected_return()`` is the optimum for that episode's competitor prices (before the
    first reset it is the average over the pool of occasions).

    **Action space.** ``Discrete(n_prices)``: action ``i`` posts ``price_grid[i]``, an evenly
    spaced grid from ``min_price`` to ``max_price``. With ``action_type="continuous"``,
    ``Box(-1, 1, (1,))``: action ``a`` posts ``min_price + (a + 1) / 2 * (max_price - min_price)``.
    A NaN or out-of-space action raises ``ValueError``.

    **Observation space.** ``Box`` of float32, describing the period about to be priced:

    ===============================  ==================================  ==============
    index                            meaning                             range
    ===============================  ==================================  ==============
    ``0 .. J-2``                     competitor prices (currency)        [0, max seen]
    ``J-1 .. J-2 + (J-1)*P``         competitor promotions, item-major   [0, max seen]
    last                             fraction of the horizon elapsed     [0, 1]
    ===============================  ==================================  ==============

    ``J`` is the number of items and ``P`` the number of promotion kinds in the data;
    ``env.unwrapped.competitors`` and ``observation_names`` give the order.

    **Reward.** ``(price - unit_cost) * units_sold`` in currency, a Python float.

    **Start state.** Period 0 with a random observed competitor occasion.

    **Episode end.** Truncation after ``horizon`` periods; the market never terminates.

    **Info.** ``price``, ``customers``, ``units_sold``, ``revenue`` (``price * units_sold``),
    ``profit`` (the reward), ``expected_revenue`` (expected reward (of the posted price) and ``oracle_revenue`` (of the best price on the
    oracle's grid, given this period's competitor prices, averaged over the population).

    Args:
        model_dir: a model directory saved by ``pricing-sim calibrate``. None fits the logit
            of ``dataset`` on first use and caches it in the process.
        dataset: shipped panel used when ``model_dir`` is None (default
            ``envs.calibration.DEFAULT_DATASET``).
        focal_item: the item the agent prices. None uses the model's default focal item
            (the dataset's documented choice, else the most purchased item).
        horizon: periods per episode.
        arrival_rate: mean number of customers per period (Poisson).
        n_prices: size of the discrete price grid.
        action_type: "discrete" or "continuous".
        unit_cost: cost per unit sold (currency). None assumes a 50% gross margin at the focal
            item's mean observed price, because the panels carry no costs; with zero cost the
            revenue-maximizing price of every shipped panel lies below its observed range.
        min_price, max_price: the price range; None uses the focal item's observed range.
        cache_dir: where to save and reuse the default fitted model across processes.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        model_dir: str | Path | None = None,
        dataset: str | None = None,
        focal_item: str | None = None,
        horizon: int = 52,
        arrival_rate: float = 100.0,
        n_prices: int = 11,
        action_type: str = "discrete",
        unit_cost: float | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        cache_dir: str | Path | None = None,
    ):
        super().__init__()
        _check_positive_int("horizon", horizon)
        _check_positive_int("n_prices", n_prices)
        if n_prices < 2:
            raise ValueError(f"n_prices must be at least 2, got {n_prices}")
        if not (np.isfinite(arrival_rate) and arrival_rate > 0):
            raise ValueError(f"arrival_rate must be a positive number of customers per period, got {arrival_rate!r}")
        if action_type not in ("discrete", "continuous"):
            raise ValueError(f"action_type must be 'discrete' or 'continuous', got {action_type!r}")

        saved = self._load(model_dir, dataset, cache_dir)
        self.demand_model = saved.model
        self.model_metadata = dict(saved.metadata)
        self.items: tuple[str, ...] = tuple(self.demand_model.items)
        focal_item = focal_item or saved.metadata.get("default_focal_item") or self.items[0]
        if focal_item not in self.items:
            raise ValueError(f"focal_item {focal_item!r} is not in the model's items {list(self.items)}")
        self.focal_item = focal_item
        self.focal_index = self.items.index(focal_item)
        self.competitors = tuple(item for item in self.items if item != focal_item)
        self._competitor_index = np.array([j for j in range(len(self.items)) if j != self.focal_index], dtype=np.int64)

        self._build_population(saved.market)
        self._build_scenarios(saved.market)
        for name, value in (("min_price", min_price), ("max_price", max_price), ("unit_cost", unit_cost)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))):
                raise ValueError(f"{name} must be a number or None, got {value!r}")
        observed = saved.market["prices"][:, self.focal_index]
        self.min_price = float(observed.min() if min_price is None else min_price)
        self.max_price = float(observed.max() if max_price is None else max_price)
        if not (np.isfinite(self.min_price) and np.isfinite(self.max_price) and 0 <= self.min_price < self.max_price):
            defaults = [
                f"{name} defaulted to the focal item's observed {kind}"
                for name, given, kind in (("min_price", min_price, "minimum"), ("max_price", max_price, "maximum"))
                if given is None
            ]
            raise ValueError(
                f"need 0 <= min_price < max_price, got min_price={self.min_price!r}, max_price={self.max_price!r}"
                + (f" ({'; '.join(defaults)}; set it too)" if defaults else "")
            )
        self.unit_cost = float(DEFAULT_MARGIN * observed.mean() if unit_cost is None else unit_cost)
        if not (np.isfinite(self.unit_cost) and self.unit_cost >= 0):
            raise ValueError(f"unit_cost must be a non-negative number, got {unit_cost!r}")

        self.horizon = int(horizon)
        self.arrival_rate = float(arrival_rate)
        self.action_type = action_type
        self.price_grid = np.linspace(self.min_price, self.max_price, int(n_prices))
        points = int(n_prices) if action_type == "discrete" else CONTINUOUS_ORACLE_POINTS
        self.oracle_grid = np.linspace(self.min_price, self.max_price, points)
        if action_type == "discrete":
            self.action_space = spaces.Discrete(int(n_prices))
        else:
            self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self._build_observation_space()
        self.market = _FixedPriceView(self)

        self._period = 0
        self._scenario = 0
        self._scenario_path: np.ndarray | None = None
        self._expected_return: float | None = None
        self._best_per_scenario: np.ndarray | None = None
        self._grid_demand = np.full((len(self.scenario_prices), self.oracle_grid.size), np.nan)

    # ----------------------------------------------------------------- set-up

    @staticmethod
    def _load(model_dir, dataset, cache_dir) -> SavedModel:
        if model_dir is not None:
            if dataset is not None:
                raise ValueError("pass either model_dir or dataset, not both")
            return load_model(model_dir)
        from envs.calibration.panels import DEFAULT_DATASET
        from envs.calibration.pipeline import default_market_model

        return default_market_model(dataset or DEFAULT_DATASET, cache_dir)

    def _build_population(self, market: dict[str, np.ndarray]) -> None:
        weights = np.bincount(market["row_users"], minlength=len(self.demand_model.user_ids)).astype(float)
        users = np.flatnonzero(weights > 0)
        if users.size > MAX_POPULATION:
            # A fixed, weighted subsample keeps every step fast; it is the same for every seed.
            picked = np.random.default_rng(0).choice(users, MAX_POPULATION, replace=False, p=weights[users] / weights[users].sum())
            users = np.sort(picked)
        self.population = users
        self.population_weights = weights[users] / weights[users].sum()

    def _build_scenarios(self, market: dict[str, np.ndarray]) -> None:
        prices, promotions = market["prices"], market["promotions"]
        if prices.shape[0] > MAX_SCENARIOS:
            rows = np.sort(np.random.default_rng(0).choice(prices.shape[0], MAX_SCENARIOS, replace=False))
            prices, promotions = prices[rows], promotions[rows]
        self.scenario_prices = prices.astype(np.float32).astype(float)
        self.scenario_promotions = promotions.astype(np.float32).astype(float)
        self.scenario_promotions[:, self.focal_index, :] = 0.0  # the focal item runs no promotion

    def _build_observation_space(self) -> None:
        competitor_prices = self.scenario_prices[:, self._competitor_index]
        competitor_promotions = self.scenario_promotions[:, self._competitor_index, :].reshape(len(self.scenario_prices), -1)
        high = np.concatenate(
            [competitor_prices.max(axis=0), np.maximum(1.0, competitor_promotions.max(axis=0, initial=0.0)), [1.0]]
        ).astype(np.float32)
        self.observation_space = spaces.Box(np.zeros_like(high), high, dtype=np.float32)
        names = [f"price.{item}" for item in self.competitors]
        names += [f"{kind}.{item}" for item in self.competitors for kind in self.demand_model.promotion_names]
        self.observation_names = tuple(names + ["horizon_elapsed"])

    # ------------------------------------------------------------------ model

    def focal_probabilities(self, prices: np.ndarray, scenario_prices: np.ndarray, scenario_promotions: np.ndarray) -> np.ndarray:
        """Return the probability that each population user buys the focal item, ``(len(prices), U)``."""
        prices = np.asarray(prices, dtype=float)
        if isinstance(self.demand_model, LogitDemandModel):
            return self._logit_focal_probabilities(prices, scenario_prices, scenario_promotions)
        n_prices, n_users = prices.shape[0], self.population.size
        grid = np.repeat(scenario_prices[None, :], n_prices * n_users, axis=0)
        grid[:, self.focal_index] = np.repeat(prices, n_users)
        promotions = np.broadcast_to(scenario_promotions, (n_prices * n_users, *scenario_promotions.shape))
        users = np.tile(self.population, n_prices)
        probabilities = self.demand_model.choice_probabilities(grid, promotions, users)[:, self.focal_index]
        return np.clip(probabilities, 0.0, 1.0).reshape(n_prices, n_users)

    def _logit_focal_probabilities(
        self, prices: np.ndarray, scenario_prices: np.ndarray, scenario_promotions: np.ndarray
    ) -> np.ndarray:
        # The same formula as LogitDemandModel.choice_probabilities, but the competitors'
        # utilities are computed once per user instead of once per (price, user).
        model = self.demand_model
        utilities = model.utilities(
            np.broadcast_to(scenario_prices, (self.population.size, scenario_prices.size)),
            np.broadcast_to(scenario_promotions, (self.population.size, *scenario_promotions.shape)),
            self.population,
        )
        focal_promotion = float(scenario_promotions[self.focal_index] @ model.gamma) if model.gamma.size else 0.0
        slope = model.user_price_coefficients(self.population)[:, self.focal_index]
        focal = model.alpha[self.focal_index] + focal_promotion + prices[:, None] * slope[None, :]
        if model.kind != "choices":
            return expit(focal)
        competitors = utilities[:, self._competitor_index]
        shift = np.maximum(competitors.max(axis=1), focal.max(axis=0))
        others = np.exp(competitors - shift[:, None]).sum(axis=1)
        own = np.exp(focal - shift[None, :])
        return own / (own + others[None, :])

    def fixed_price_returns(self, prices: np.ndarray) -> np.ndarray:
        """Return the expected episode reward of posting each price in every period."""
        prices = np.asarray(prices, dtype=float)
        keys, counts = self._unique_scenarios()
        total = np.zeros(prices.size)
        j = len(self.items)
        for key, count in zip(keys, counts):
            probabilities = self.focal_probabilities(prices, key[:j], key[j:].reshape(j, -1))
            total += count * (prices - self.unit_cost) * (probabilities @ self.population_weights)
        return self.horizon * self.arrival_rate * total / counts.sum()

    def _unique_scenarios(self) -> tuple[np.ndarray, np.ndarray]:
        keys = np.concatenate([self.scenario_prices, self.scenario_promotions.reshape(len(self.scenario_prices), -1)], axis=1)
        return np.unique(keys, axis=0, return_counts=True)

    def _grid_purchase_probabilities(self, scenario: int) -> np.ndarray:
        """Return the population purchase probability of the focal item at each oracle-grid price.

        The values are cached per scenario, so a long run computes each scenario once.
        """
        cached = self._grid_demand[scenario]
        if np.isnan(cached[0]):
            probabilities = self.focal_probabilities(
                self.oracle_grid, self.scenario_prices[scenario], self.scenario_promotions[scenario]
            )
            cached[:] = probabilities @ self.population_weights
        return cached

    def expected_revenues(self, prices: np.ndarray, scenario: int) -> np.ndarray:
        """Return the expected reward of each price in the given competitor scenario."""
        probabilities = self.focal_probabilities(prices, self.scenario_prices[scenario], self.scenario_promotions[scenario])
        return self.arrival_rate * (np.asarray(prices) - self.unit_cost) * (probabilities @ self.population_weights)

    def _observation(self) -> np.ndarray:
        prices = self.scenario_prices[self._scenario, self._competitor_index]
        promotions = self.scenario_promotions[self._scenario, self._competitor_index, :].ravel()
        elapsed = [self._period / self.horizon]
        return np.concatenate([prices, promotions, elapsed]).astype(np.float32)

    # -------------------------------------------------------------- gym API

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._period = 0
        self._scenario_path = self.np_random.integers(len(self.scenario_prices), size=self.horizon)
        self._scenario = int(self._scenario_path[0])
        return self._observation(), {}

    def action_to_price(self, action) -> float:
        """Map an action to the price it posts, raising ValueError for NaN or out-of-space actions."""
        if self.action_type == "discrete":
            value = np.asarray(action)
            if value.size != 1 or value.dtype.kind not in "iuf" or not np.isfinite(value.astype(float)).all():
                raise ValueError(f"action must be one integer in [0, {self.action_space.n - 1}], got {action!r}")
            number = float(value.reshape(()))
            if number != int(number) or not 0 <= number < self.action_space.n:
                raise ValueError(f"action must be one integer in [0, {self.action_space.n - 1}], got {action!r}")
            return float(self.price_grid[int(number)])
        value = np.asarray(action).reshape(-1)
        if value.dtype.kind not in "iuf":
            raise ValueError(f"action must be one number in [-1, 1], got {action!r}")
        value = value.astype(float)
        if value.size != 1 or not np.isfinite(value).all() or not -1.0 <= value[0] <= 1.0:
            raise ValueError(f"action must be one number in [-1, 1], got {action!r}")
        return float(self.min_price + (value[0] + 1.0) / 2.0 * (self.max_price - self.min_price))

    def step(self, action):
        if self._scenario_path is None or self._period >= self.horizon:
            raise RuntimeError("The episode has ended or not started; call reset() before step().")
        price = self.action_to_price(action)
        scenario_prices = self.scenario_prices[self._scenario]
        scenario_promotions = self.scenario_promotions[self._scenario]

        grid_demand = self._grid_purchase_probabilities(self._scenario)
        if self.action_type == "discrete":
            purchase_probability = float(grid_demand[int(np.asarray(action).reshape(()))])
        else:
            probabilities = self.focal_probabilities(np.array([price]), scenario_prices, scenario_promotions)[0]
            purchase_probability = float(probabilities @ self.population_weights)

        # Customers are independent draws of a user, so each buys with the population-weighted
        # probability and the units sold are binomial given the number of arrivals.
        customers = int(self.np_random.poisson(self.arrival_rate))
        units_sold = int(self.np_random.binomial(customers, min(max(purchase_probability, 0.0), 1.0)))
        reward = float((price - self.unit_cost) * units_sold)

        expected = float(self.arrival_rate * (price - self.unit_cost) * purchase_probability)
        oracle_revenue = float(np.max(self.arrival_rate * (self.oracle_grid - self.unit_cost) * grid_demand))
        info = {
            "price": price,
            "customers": customers,
            "units_sold": units_sold,
            "revenue": float(price * units_sold),
            "profit": reward,
            "expected_revenue": expected,
            "oracle_revenue": oracle_revenue,
        }

        self._period += 1
        if self._period < self.horizon:
            self._scenario = int(self._scenario_path[self._period])
        truncated = self._period >= self.horizon
        return self._observation(), reward, False, truncated, info

    # ----------------------------------------------------------------- oracle

    def oracle(self) -> CalibratedOracle:
        """Return the policy that posts the best grid price for each period's competitor prices."""
        return CalibratedOracle(self)

    def expected_return_of_oracle(self) -> float:
        """Return the oracle's expected episode reward.

        After a reset it is exact for the competitor occasions drawn for the episode, so the
        regret of an evaluation episode carries no noise from the competitors' prices. Before
        the first reset it is the exact average over the pool of occasions.
        """
        if self._scenario_path is not None:
            return float(self._best_rewards()[self._scenario_path].sum())
        if self._expected_return is None:
            unique, counts = self._unique_scenarios()
            best = np.empty(len(unique))
            j = len(self.items)
            for row, key in enumerate(unique):
                promotions = key[j:].reshape(j, -1)
                probabilities = self.focal_probabilities(self.oracle_grid, key[:j], promotions)
                revenue = self.arrival_rate * (self.oracle_grid - self.unit_cost) * (probabilities @ self.population_weights)
                best[row] = revenue.max()
            self._expected_return = float(self.horizon * (best @ counts) / counts.sum())
        return self._expected_return


    def _best_rewards(self) -> np.ndarray:
        """Return the oracle's expected reward in each occasion of the pool, computed once."""
        if self._best_per_scenario is None:
            keys = np.concatenate(
                [self.scenario_prices, self.scenario_promotions.reshape(len(self.scenario_prices), -1)], axis=1
            )
            # Identical occasions share one computation.
            _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
            margins = self.arrival_rate * (self.oracle_grid - self.unit_cost)
            best = np.array([float(np.max(margins * self._grid_purchase_probabilities(int(i)))) for i in first])
            self._best_per_scenario = best[np.ravel(inverse)]
        return self._best_per_scenario


class CalibratedOracle:
    """The fitted model's best response: the grid price of highest expected reward each period."""

    def __init__(self, env: CalibratedEnv):
        self.env = env

    def act(self, observation: np.ndarray):
        env = self.env
        observation = np.asarray(observation, dtype=float)
        if observation.shape != env.observation_space.shape or not np.all(np.isfinite(observation)):
            raise ValueError(
                f"Invalid observation {observation!r}: the oracle needs a finite observation of "
                f"shape {env.observation_space.shape}."
            )
        n_competitors = len(env.competitors)
        scenario_prices = np.empty(len(env.items))
        scenario_prices[env._competitor_index] = observation[:n_competitors]
        scenario_prices[env.focal_index] = env.price_grid[0]
        promotions = np.zeros((len(env.items), len(env.demand_model.promotion_names)))
        promotions[env._competitor_index, :] = observation[n_competitors:-1].reshape(n_competitors, promotions.shape[1])

        probabilities = env.focal_probabilities(env.oracle_grid, scenario_prices, promotions)
        revenue = (env.oracle_grid - env.unit_cost) * (probabilities @ env.population_weights)
        best = int(np.argmax(revenue))
        if env.action_type == "discrete":
            return best
        position = (env.oracle_grid[best] - env.min_price) / (env.max_price - env.min_price) * 2.0 - 1.0
        return np.array([np.clip(position, -1.0, 1.0)], dtype=np.float32)

    def expected_return(self) -> float:
        return self.env.expected_return_of_oracle()


class _FixedPriceView:
    """The part of a market that ``envs.oracles.best_fixed_price_policy`` reads."""

    def __init__(self, env: CalibratedEnv):
        self.actions = PriceActions(env.action_type, env.price_grid)
        self.unit_cost = env.unit_cost
        self.fixed_price_returns = env.fixed_price_returns
        self.demand = self

    def optimal_price(self, unit_cost: float = 0.0, price_bounds: tuple[float, float] | None = None) -> float:
        # The calibrated demand has no closed-form optimum; the candidate grid is searched instead.
        raise ValueError("the calibrated demand model has no closed-form optimal price")


def _check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
