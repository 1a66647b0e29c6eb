"""Reference policies that do not learn: a fixed price, random prices, the best fixed price
in hindsight and the oracle.

The best fixed price and the oracle read the market's demand model (through
``envs.oracles.best_fixed_price_policy`` and ``env.unwrapped.oracle()``), so they are
yardsticks for the learning agents, not agents a seller could run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from agents.base import BaseAgent
from agents.common import (
    SpacesOnly,
    check_saved_spaces,
    env_price_bounds,
    load_npz,
    require_env,
    rng_from_json,
    rng_state_to_json,
    save_npz,
    space_from_config,
    space_to_config,
)


class _NonLearningAgent(BaseAgent):
    """A policy that ``learn`` only runs (for callbacks and learning curves); it never changes."""

    def __init__(self, env: gym.Env, seed: int = 0):
        require_env(env, self.name)
        super().__init__(env.action_space, env.observation_space, seed)
        self.env = env

    def _settings(self) -> dict[str, Any]:
        return {}

    def save(self, path: str | Path) -> Path:
        """Write the agent's settings and RNG state to an .npz file (there is nothing learned to keep)."""
        metadata = {
            "seed": self.seed,
            "settings": self._settings(),
            "action_space": space_to_config(self.action_space),
            "observation_space": space_to_config(self.observation_space),
            "rng_state": rng_state_to_json(self.rng),
        }
        return save_npz(path, self.name, metadata, {})

    @classmethod
    def load(cls, path: str | Path, env: gym.Env | None = None) -> "_NonLearningAgent":
        metadata, _ = load_npz(path, (cls.name,))
        if env is None:
            env = SpacesOnly(
                space_from_config(metadata["action_space"]), space_from_config(metadata["observation_space"])
            )
        check_saved_spaces(path, env, metadata)
        agent = cls(env, seed=metadata["seed"], **metadata["settings"])
        # The random agent draws from its generator, so it continues the saved stream. Files
        # written before the state was saved restart the stream from the seed.
        if "rng_state" in metadata:
            agent.rng = rng_from_json(metadata["rng_state"])
        return agent


class FixedPriceAgent(_NonLearningAgent):
    """Posts one price every period.

    Args:
        env: the market. With a Discrete action space, give ``price_index`` or a ``price``
            (snapped to the nearest grid price). With a Box action space give ``price``,
            which needs the market's ``min_price`` and ``max_price`` attributes.
        seed: unused by the policy; kept for the common interface.
        price: the price in currency.
        price_index: the index into the market's price grid.
    """

    name: ClassVar[str] = "fixed"
    description: ClassVar[str] = "Posts the same price every period"

    def __init__(self, env: gym.Env, seed: int = 0, price: float | None = None, price_index: int | None = None):
        super().__init__(env, seed)
        if (price is None) == (price_index is None):
            raise ValueError("fixed needs exactly one of price (currency) or price_index (grid position)")
        self.price = None if price is None else float(price)
        self.price_index = None if price_index is None else int(price_index)

        if isinstance(self.action_space, gym.spaces.Discrete):
            self._action: Any = self._discrete_action(env)
        elif isinstance(self.action_space, gym.spaces.Box):
            self._action = self._box_action(env)
        else:
            raise ValueError(f"fixed supports Discrete and Box action spaces, got {self.action_space}")

    def _discrete_action(self, env: gym.Env) -> int:
        n = int(self.action_space.n)
        if self.price_index is not None:
            if not 0 <= self.price_index < n:
                raise ValueError(f"price_index must be in [0, {n - 1}], got {self.price_index}")
            return self.price_index

        grid = getattr(env.unwrapped, "price_grid", None)
        if grid is None:
            raise ValueError("this env has no price_grid to look a price up in; pass price_index instead")
        grid = np.asarray(grid, dtype=np.float64)
        if not grid.min() <= self.price <= grid.max():
            raise ValueError(f"price {self.price} is outside the price grid [{grid.min()}, {grid.max()}]")
        return int(np.argmin(np.abs(grid - self.price)))

    def _box_action(self, env: gym.Env) -> np.ndarray:
        if self.price is None:
            raise ValueError("a continuous action space has no price grid; pass price instead of price_index")
        bounds = env_price_bounds(env)
        if bounds is None:
            raise ValueError("this env has no min_price and max_price, so a price cannot be turned into an action")
        low, high = bounds
        if not low <= self.price <= high:
            raise ValueError(f"price {self.price} is outside [min_price, max_price] = [{low}, {high}]")

        # The inverse of the market's map a -> min_price + (a + 1) / 2 * (max_price - min_price).
        scaled = 2.0 * (self.price - low) / (high - low) - 1.0
        return np.full(self.action_space.shape, scaled, dtype=self.action_space.dtype)

    def act(self, observation: Any, deterministic: bool = False) -> Any:
        return self._action

    def _settings(self) -> dict[str, Any]:
        return {"price": self.price, "price_index": self.price_index}


class RandomPriceAgent(_NonLearningAgent):
    """Posts a uniformly random price each period (grid index, or action in the Box)."""

    name: ClassVar[str] = "random"
    description: ClassVar[str] = "Posts a uniformly random price every period"

    def __init__(self, env: gym.Env, seed: int = 0):
        super().__init__(env, seed)
        if not isinstance(self.action_space, (gym.spaces.Discrete, gym.spaces.Box)):
            raise ValueError(f"random supports Discrete and Box action spaces, got {self.action_space}")

    def act(self, observation: Any, deterministic: bool = False) -> Any:
        if isinstance(self.action_space, gym.spaces.Discrete):
            return int(self.rng.integers(self.action_space.n))
        low, high = self.action_space.low, self.action_space.high
        return self.rng.uniform(low, high).astype(self.action_space.dtype)


class _PolicyWrapperAgent(_NonLearningAgent):
    """Acts with a policy object built from the market (an oracle), which needs the real env."""

    def __init__(self, env: gym.Env, seed: int = 0):
        super().__init__(env, seed)
        if isinstance(env, SpacesOnly):
            raise ValueError(f"{self.name} reads the market's demand model; load it with env=<the market>")
        self.policy = self._build_policy(env)

    def _build_policy(self, env: gym.Env) -> Any:
        raise NotImplementedError

    def act(self, observation: Any, deterministic: bool = False) -> Any:
        return self.policy.act(observation)

    def expected_return(self) -> float:
        """Return the policy's expected revenue over one episode from the start state (currency)."""
        return float(self.policy.expected_return())


class BestFixedPriceAgent(_PolicyWrapperAgent):
    """Posts the single price with the highest expected episode revenue under the true demand."""

    name: ClassVar[str] = "best-fixed"
    description: ClassVar[str] = "Best single fixed price in hindsight, from the market's demand model"

    def _build_policy(self, env: gym.Env) -> Any:
        from envs.oracles import best_fixed_price_policy

        return best_fixed_price_policy(env)


class OracleAgent(_PolicyWrapperAgent):
    """The market's optimal policy, from ``env.unwrapped.oracle()``."""

    name: ClassVar[str] = "oracle"
    description: ClassVar[str] = "Optimal policy computed from the market's demand model"

    def _build_policy(self, env: gym.Env) -> Any:
        oracle = getattr(env.unwrapped, "oracle", None)
        if oracle is None:
            raise ValueError(f"{type(env.unwrapped).__name__} has no oracle(); this market has no known optimum")
        return oracle()
