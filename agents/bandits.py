"""Multi-armed bandits over the price grid: epsilon-greedy, UCB1 and Thompson sampling.

Each grid price is an arm. Bandits assume a stationary market, so they ignore the
observation: they learn one expected reward per price and never condition on the state.
On markets whose demand depends on the state (inventory, reference prices) they learn the
price that is best on average over the states they visited.

All bandits need a Discrete action space (a price grid) and raise ValueError otherwise.
Every arm is played once, in random order, before the selection rule takes over. With
``deterministic=True``, ``act`` returns the arm with the best estimate, without exploring.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from agents.base import BaseAgent
from agents.common import (
    check_saved_spaces,
    load_npz,
    require_discrete_actions,
    require_env,
    rng_from_json,
    rng_state_to_json,
    save_npz,
    space_from_config,
    space_to_config,
    SpacesOnly,
    env_price_grid,
)
from agents.schedules import make_epsilon_schedule


class BanditAgent(BaseAgent):
    """Per-price reward statistics and the shared act/observe/save logic of the bandits."""

    name: ClassVar[str] = "bandit"
    description: ClassVar[str] = "bandit over the price grid"

    def __init__(self, env: gym.Env, seed: int = 0):
        require_env(env, self.name)
        super().__init__(env.action_space, env.observation_space, seed)
        self.n_arms = require_discrete_actions(env.action_space, self.name)
        self.price_grid = env_price_grid(env, self.n_arms)

        # Per arm: pulls, sum and sum of squares of the period reward (currency).
        self.counts = np.zeros(self.n_arms, dtype=np.int64)
        self.reward_sums = np.zeros(self.n_arms, dtype=np.float64)
        self.reward_square_sums = np.zeros(self.n_arms, dtype=np.float64)
        # The largest arrivals and reward seen in one period, for reward scales.
        self.max_customers_seen = 0.0
        self.max_reward_seen = 0.0

    @property
    def mean_rewards(self) -> np.ndarray:
        """Sample mean reward of each arm (0 for arms never played)."""
        return np.divide(self.reward_sums, self.counts, out=np.zeros(self.n_arms), where=self.counts > 0)

    def estimated_values(self) -> np.ndarray:
        """Return the agent's current estimate of each arm's expected reward per period."""
        return self.mean_rewards

    def select_arm(self) -> int:
        """Pick an arm for exploration and learning; every arm has been played at least once."""
        raise NotImplementedError

    def act(self, observation: Any, deterministic: bool = False) -> int:
        if deterministic:
            return int(np.argmax(self.estimated_values()))

        untried = np.flatnonzero(self.counts == 0)
        if untried.size:
            return int(self.rng.choice(untried))
        return self.select_arm()

    def observe(
        self,
        observation: Any,
        action: Any,
        reward: float,
        next_observation: Any,
        terminated: bool,
        truncated: bool,
        info: dict[str, Any],
    ) -> None:
        arm = int(action)
        self.counts[arm] += 1
        self.reward_sums[arm] += reward
        self.reward_square_sums[arm] += reward * reward
        self.max_customers_seen = max(self.max_customers_seen, float(info.get("customers", 0.0)))
        self.max_reward_seen = max(self.max_reward_seen, abs(float(reward)))

    # ------------------------------------------------------------------ files

    def _settings(self) -> dict[str, Any]:
        return {}

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            "counts": self.counts,
            "reward_sums": self.reward_sums,
            "reward_square_sums": self.reward_square_sums,
            "price_grid": self.price_grid,
        }

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.counts = arrays["counts"].astype(np.int64)
        self.reward_sums = arrays["reward_sums"].astype(np.float64)
        self.reward_square_sums = arrays["reward_square_sums"].astype(np.float64)

    def save(self, path: str | Path) -> Path:
        """Write the arm statistics, settings and RNG state to an .npz file."""
        metadata = {
            "seed": self.seed,
            "settings": self._settings(),
            "num_timesteps": self.num_timesteps,
            "max_customers_seen": self.max_customers_seen,
            "max_reward_seen": self.max_reward_seen,
            "action_space": space_to_config(self.action_space),
            "observation_space": space_to_config(self.observation_space),
            "rng_state": rng_state_to_json(self.rng),
        }
        return save_npz(path, self.name, metadata, self._arrays())

    @classmethod
    def load(cls, path: str | Path, env: gym.Env | None = None) -> "BanditAgent":
        metadata, arrays = load_npz(path, (cls.name,))
        if env is None:
            env = SpacesOnly(
                space_from_config(metadata["action_space"]), space_from_config(metadata["observation_space"])
            )
            env.price_grid = arrays["price_grid"]  # type: ignore[attr-defined]
        check_saved_spaces(path, env, metadata)
        agent = cls(env, seed=metadata["seed"], **metadata["settings"])
        # The arm statistics belong to the saved prices, so another grid of the same size is wrong too.
        if not np.allclose(agent.price_grid, arrays["price_grid"]):
            raise ValueError(
                f"{path} was trained on prices {arrays['price_grid'].tolist()}, but the env posts "
                f"{agent.price_grid.tolist()}; load it with the market it was trained on, or with env=None"
            )
        agent._set_arrays(arrays)
        agent.num_timesteps = int(metadata["num_timesteps"])
        agent.max_customers_seen = float(metadata["max_customers_seen"])
        agent.max_reward_seen = float(metadata["max_reward_seen"])
        agent.rng = rng_from_json(metadata["rng_state"])
        return agent


class EpsilonGreedyAgent(BanditAgent):
    """With probability epsilon a random price, otherwise the price with the best mean reward.

    Args:
        env: the market (Discrete actions).
        seed: seed of the agent's random generator.
        epsilon_schedule: "constant", "linear" or "exponential" (see ``agents.schedules``).
        epsilon_start: exploration rate at step 0.
        epsilon_floor: exploration rate never goes below this.
        epsilon_decay_steps: steps to reach the floor (linear) or time constant (exponential).
    """

    name: ClassVar[str] = "epsilon-greedy"
    description: ClassVar[str] = "Epsilon-greedy bandit over the price grid (ignores the state)"

    def __init__(
        self,
        env: gym.Env,
        seed: int = 0,
        epsilon_schedule: str = "exponential",
        epsilon_start: float = 0.5,
        epsilon_floor: float = 0.02,
        epsilon_decay_steps: float = 500.0,
    ):
        super().__init__(env, seed)
        self.epsilon = make_epsilon_schedule(epsilon_schedule, epsilon_start, epsilon_floor, epsilon_decay_steps)
        self._config = {
            "epsilon_schedule": epsilon_schedule,
            "epsilon_start": epsilon_start,
            "epsilon_floor": epsilon_floor,
            "epsilon_decay_steps": epsilon_decay_steps,
        }

    def select_arm(self) -> int:
        if self.rng.random() < self.epsilon(self.num_timesteps):
            return int(self.rng.integers(self.n_arms))
        return int(np.argmax(self.mean_rewards))

    def _settings(self) -> dict[str, Any]:
        return dict(self._config)


class UCB1Agent(BanditAgent):
    """UCB1 on normalised revenue.

    Plays the arm with the largest  mean_i / scale + exploration * sqrt(2 ln t / n_i),  where
    t is the number of periods so far and n_i the plays of arm i. UCB1's bonus assumes rewards
    in [0, 1], so revenues are divided by ``scale``, the maximum revenue of one period.
    Without ``revenue_scale`` the agent uses the largest period revenue observed so far, an
    estimate of the top of the revenue range that grows towards it as data arrive. The looser
    bound max(price) * max(customers) would shrink the normalised gaps between prices by the
    share of customers who buy, and UCB1 would then over-explore for tens of thousands of
    periods. Without any division, revenues of hundreds would swamp the bonus and UCB1 would
    stop exploring after one pass.

    Args:
        env: the market (Discrete actions).
        seed: seed of the agent's random generator (tie-breaking of the first pass).
        exploration: multiplier of the confidence bonus (1 is textbook UCB1).
        revenue_scale: fixed upper bound on the revenue of one period, in currency.
    """

    name: ClassVar[str] = "ucb1"
    description: ClassVar[str] = "UCB1 bandit over the price grid on normalised revenue (ignores the state)"

    def __init__(self, env: gym.Env, seed: int = 0, exploration: float = 1.0, revenue_scale: float | None = None):
        super().__init__(env, seed)
        if not math.isfinite(exploration):
            raise ValueError(f"exploration must be a finite number, got {exploration}")
        if exploration < 0:
            raise ValueError(f"exploration must be non-negative, got {exploration}")
        if revenue_scale is not None and not (math.isfinite(revenue_scale) and revenue_scale > 0):
            raise ValueError(f"revenue_scale must be a finite number > 0, got {revenue_scale}")
        self.exploration = float(exploration)
        self.revenue_scale = None if revenue_scale is None else float(revenue_scale)

    def reward_scale(self) -> float:
        """Return the divisor that maps one period's revenue into [0, 1]."""
        if self.revenue_scale is not None:
            return self.revenue_scale
        return max(self.max_reward_seen, 1e-12)

    def upper_confidence_bounds(self) -> np.ndarray:
        """Normalised mean plus confidence bonus, for arms played at least once."""
        total = max(int(self.counts.sum()), 1)
        bonus = self.exploration * np.sqrt(2.0 * math.log(total) / self.counts)
        return self.mean_rewards / self.reward_scale() + bonus

    def select_arm(self) -> int:
        return int(np.argmax(self.upper_confidence_bounds()))

    def _settings(self) -> dict[str, Any]:
        return {"exploration": self.exploration, "revenue_scale": self.revenue_scale}


class ThompsonSamplingAgent(BanditAgent):
    """Thompson sampling with a Beta-Bernoulli model of purchase at each price.

    Every arriving customer buys at price p_i with an unknown probability theta_i, with a
    Beta(prior_alpha, prior_beta) prior. Each period adds ``units_sold`` successes and
    ``customers - units_sold`` failures to the posterior of the posted price (from the step
    info). To act, the agent draws theta_i from every posterior and posts the price with the
    largest (p_i - unit_cost) * theta_i, the expected margin per arriving customer. Because the
    number of arrivals does not depend on the price, this is also the choice that maximises
    the expected margin per period.

    Args:
        env: the market (Discrete actions; step info must have ``customers`` and ``units_sold``).
        seed: seed of the agent's random generator (posterior draws).
        prior_alpha: prior pseudo-count of purchases at each price.
        prior_beta: prior pseudo-count of non-purchases at each price.
        unit_cost: cost per unit subtracted from the price; None reads ``env.unwrapped.unit_cost``
            when the market has one, else 0.
    """

    name: ClassVar[str] = "thompson"
    description: ClassVar[str] = "Thompson sampling, Beta-Bernoulli on purchase per customer at each price"

    def __init__(
        self,
        env: gym.Env,
        seed: int = 0,
        prior_alpha: float = 1.0,
        prior_beta: float = 1.0,
        unit_cost: float | None = None,
    ):
        super().__init__(env, seed)
        if not all(math.isfinite(value) and value > 0 for value in (prior_alpha, prior_beta)):
            raise ValueError(
                f"prior_alpha and prior_beta must be finite numbers > 0, got {prior_alpha} and {prior_beta}"
            )
        self.prior_alpha = float(prior_alpha)
        self.prior_beta = float(prior_beta)
        if unit_cost is None:
            unit_cost = float(getattr(env.unwrapped, "unit_cost", 0.0) or 0.0)
        self.unit_cost = float(unit_cost)
        if not math.isfinite(self.unit_cost):
            raise ValueError(f"unit_cost must be a finite number, got {unit_cost}")
        self.purchases = np.zeros(self.n_arms, dtype=np.float64)
        self.non_purchases = np.zeros(self.n_arms, dtype=np.float64)

    def act(self, observation: Any, deterministic: bool = False) -> int:
        # The prior already makes every arm's draw meaningful, so no forced first pass.
        if deterministic:
            return int(np.argmax(self.estimated_values()))
        return self.select_arm()

    def estimated_values(self) -> np.ndarray:
        """Posterior mean margin per arriving customer at each price."""
        alpha = self.prior_alpha + self.purchases
        beta = self.prior_beta + self.non_purchases
        return (self.price_grid - self.unit_cost) * alpha / (alpha + beta)

    def select_arm(self) -> int:
        theta = self.rng.beta(self.prior_alpha + self.purchases, self.prior_beta + self.non_purchases)
        return int(np.argmax((self.price_grid - self.unit_cost) * theta))

    def observe(self, observation, action, reward, next_observation, terminated, truncated, info) -> None:
        super().observe(observation, action, reward, next_observation, terminated, truncated, info)
        if "customers" not in info or "units_sold" not in info:
            raise ValueError("thompson needs info['customers'] and info['units_sold'] from the market's step")
        customers = float(info["customers"])
        units = float(info["units_sold"])
        self.purchases[int(action)] += units
        self.non_purchases[int(action)] += max(customers - units, 0.0)

    def _settings(self) -> dict[str, Any]:
        return {"prior_alpha": self.prior_alpha, "prior_beta": self.prior_beta, "unit_cost": self.unit_cost}

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**super()._arrays(), "purchases": self.purchases, "non_purchases": self.non_purchases}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        super()._set_arrays(arrays)
        self.purchases = arrays["purchases"].astype(np.float64)
        self.non_purchases = arrays["non_purchases"].astype(np.float64)


class GaussianThompsonAgent(BanditAgent):
    """Thompson sampling with a Gaussian model of the revenue per period at each price.

    The posterior of arm i's mean revenue is approximated by N(mean_i, sigma^2 / n_i). Here
    sigma is the pooled standard deviation of revenue around the arm means. All arms share
    it, so arms with few plays still get a sensible width. Until two plays exist, sigma is
    the largest revenue seen. ``noise_scale`` multiplies sigma: above 1 explores more.

    Args:
        env: the market (Discrete actions).
        seed: seed of the agent's random generator (posterior draws).
        noise_scale: multiplier of the posterior standard deviation.
    """

    name: ClassVar[str] = "thompson-gaussian"
    description: ClassVar[str] = "Thompson sampling with a Gaussian posterior on revenue per period at each price"

    def __init__(self, env: gym.Env, seed: int = 0, noise_scale: float = 1.0):
        super().__init__(env, seed)
        if not (math.isfinite(noise_scale) and noise_scale > 0):
            raise ValueError(f"noise_scale must be a finite number > 0, got {noise_scale}")
        self.noise_scale = float(noise_scale)

    def pooled_std(self) -> float:
        """Pooled standard deviation of the period revenue around each arm's mean."""
        n = int(self.counts.sum())
        played = int(np.count_nonzero(self.counts))
        if n - played < 1:
            return max(self.max_reward_seen, 1.0)
        squared_deviations = self.reward_square_sums - self.counts * self.mean_rewards**2
        return float(np.sqrt(max(squared_deviations.sum(), 0.0) / (n - played)))

    def select_arm(self) -> int:
        std = self.noise_scale * self.pooled_std() / np.sqrt(self.counts)
        draws = self.rng.normal(self.mean_rewards, std)
        return int(np.argmax(draws))

    def _settings(self) -> dict[str, Any]:
        return {"noise_scale": self.noise_scale}
