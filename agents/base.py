"""The agent protocol: the one interface the experiment runner uses for every family.

An agent is built for one environment's spaces and one seed, then alternates between
``learn`` (which continues training where the previous call stopped) and ``act``.
Agents see a market only through its Gymnasium spaces, its ``info`` dictionaries and,
for the oracle baseline, ``env.unwrapped.oracle()``.

Randomness comes only from the agent's own ``numpy.random.Generator`` (``self.rng``),
made from the seed given to the constructor, never from the global RNGs.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from agents.common import spaces_match

# Called once at the end of every training episode with namespaced metrics:
# ``train/step`` (total environment steps so far), ``train/episode_revenue`` and
# ``train/episode_length`` (periods). The episode revenue is the raw reward in currency, so it
# is profit when the market has a unit cost, the quantity the oracle's expected return
# measures. Returning False stops training early.
TrainingCallback = Callable[[dict[str, float]], "bool | None"]


@runtime_checkable
class Agent(Protocol):
    """The interface the runner needs from an agent of any family."""

    name: ClassVar[str]
    description: ClassVar[str]

    def act(self, observation: Any, deterministic: bool = False) -> Any:
        """Return an action inside the environment's action space."""

    def learn(
        self,
        env: gym.Env,
        total_steps: int,
        callback: TrainingCallback | None = None,
    ) -> "Agent":
        """Train for ``total_steps`` more environment steps and return self."""

    def save(self, path: str | Path) -> Path:
        """Write the agent to ``path`` and return the path of the file written."""

    @classmethod
    def load(cls, path: str | Path, env: gym.Env | None = None) -> "Agent":
        """Rebuild an agent saved by ``save``."""


class BaseAgent(abc.ABC):
    """Shared plumbing for the agents written in this package (not the SB3 wrappers).

    Subclasses implement ``act`` and ``observe``; ``learn`` runs the interaction loop,
    resetting the environment when an episode ends and reporting each episode to the
    callback. The environment is reset with a seed drawn from ``self.rng`` the first time
    ``learn`` runs, so the same agent seed gives the same learning curve.
    """

    name: ClassVar[str] = "base"
    description: ClassVar[str] = ""

    def __init__(self, action_space: gym.Space, observation_space: gym.Space, seed: int = 0):
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")

        self.action_space = action_space
        self.observation_space = observation_space
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.num_timesteps = 0

        self._last_observation: Any = None
        self._episode_revenue = 0.0
        self._episode_length = 0

    @abc.abstractmethod
    def act(self, observation: Any, deterministic: bool = False) -> Any:
        """Return an action inside the environment's action space."""

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
        """Update the agent with one transition. Agents that do not learn keep the default."""

    def learn(
        self,
        env: gym.Env,
        total_steps: int,
        callback: TrainingCallback | None = None,
    ) -> "BaseAgent":
        """Interact with ``env`` for ``total_steps`` steps, learning from each transition."""
        if isinstance(total_steps, bool) or not isinstance(total_steps, (int, np.integer)) or total_steps < 0:
            raise ValueError(f"total_steps must be a non-negative integer, got {total_steps!r}")
        self._check_spaces(env)

        if self._last_observation is None:
            env_seed = int(self.rng.integers(2**31 - 1))
            self._last_observation, _ = env.reset(seed=env_seed)

        for _ in range(int(total_steps)):
            observation = self._last_observation
            action = self.act(observation, deterministic=False)
            next_observation, reward, terminated, truncated, info = env.step(action)
            self.observe(observation, action, float(reward), next_observation, terminated, truncated, info)

            self.num_timesteps += 1
            self._episode_revenue += float(reward)
            self._episode_length += 1
            self._last_observation = next_observation

            if terminated or truncated:
                stop = self._end_episode(callback)
                self._last_observation, _ = env.reset()
                if stop:
                    break

        return self

    def _check_spaces(self, env: gym.Env) -> None:
        """Raise ValueError unless ``env`` has the spaces this agent was built for."""
        if spaces_match(env.action_space, self.action_space) and spaces_match(
            env.observation_space, self.observation_space
        ):
            return
        raise ValueError(
            f"{self.name} was built for action space {self.action_space} and observation space "
            f"{self.observation_space}, but the env has {env.action_space} and "
            f"{env.observation_space}; build a new agent for this market"
        )

    def _end_episode(self, callback: TrainingCallback | None) -> bool:
        """Report the finished episode and return True when the callback returns False."""
        metrics = {
            "train/step": float(self.num_timesteps),
            "train/episode_revenue": self._episode_revenue,
            "train/episode_length": float(self._episode_length),
        }
        self._episode_revenue = 0.0
        self._episode_length = 0
        if callback is None:
            return False
        return callback(metrics) is False

    def save(self, path: str | Path) -> Path:
        raise NotImplementedError(f"{type(self).__name__} does not support save")

    @classmethod
    def load(cls, path: str | Path, env: gym.Env | None = None) -> "BaseAgent":
        raise NotImplementedError(f"{cls.__name__} does not support load")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"
