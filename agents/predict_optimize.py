"""Predict-then-optimize: fit a demand model online, then post the price the model predicts is best.

The agent keeps every period it has seen as a training example: the posted price and the
observation before it (features), the arriving customers (trials) and the units sold
(successes). A small PyTorch MLP maps the features to the purchase probability of one
arriving customer, and is fitted by minimising the binomial cross-entropy

    loss = - sum_t [ units_t * log q_t + (customers_t - units_t) * log(1 - q_t) ] / sum_t customers_t,

which is binary cross-entropy over every arriving customer. To act, the agent predicts q
for every grid price in the current state and posts the price with the largest expected
margin per customer, (price - unit_cost) * q, or with probability epsilon a uniformly
random grid price.

Pricing is myopic: the agent maximises this period's expected margin and ignores effects
of today's price on future states (reference prices, stock). That is optimal for
stationary markets, where the observation does not change demand.

Features are scaled to about [0, 1]: prices by the largest grid price and each Box
observation component by its bounds (components with infinite bounds are left as they are).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from agents.base import BaseAgent
from agents.common import (
    SpacesOnly,
    check_saved_spaces,
    finite_observation,
    env_price_grid,
    require_discrete_actions,
    require_env,
    rng_from_json,
    rng_state_to_json,
    single_thread_torch,
    space_from_config,
    space_to_config,
    write_atomically,
)
from agents.schedules import make_epsilon_schedule

ARCHIVE_FORMAT_VERSION = 1


class PredictThenOptimizeAgent(BaseAgent):
    """An MLP purchase-probability model refitted every ``train_every`` steps, priced greedily.

    Args:
        env: the market (Discrete actions; info must have ``customers`` and ``units_sold``).
        seed: seed of the agent's random generator and of the network's initial weights.
        hidden_sizes: widths of the MLP's hidden layers.
        learning_rate: Adam step size.
        train_every: refit the model after this many new periods.
        gradient_steps: full-batch Adam steps per refit.
        max_examples: keep at most this many recent periods as training data.
        epsilon_schedule: "constant", "linear" or "exponential" (see ``agents.schedules``).
        epsilon_start: exploration rate at step 0.
        epsilon_floor: exploration rate never goes below this.
        epsilon_decay_steps: steps to reach the floor (linear) or time constant (exponential).
        use_observation: feed the observation to the model besides the price; False makes it
            a stationary demand curve.
        unit_cost: cost per unit; None reads ``env.unwrapped.unit_cost`` when present, else 0.
    """

    name: ClassVar[str] = "predict-optimize"
    description: ClassVar[str] = (
        "PyTorch demand model fitted online, pricing at the argmax of price x purchase probability"
    )

    def __init__(
        self,
        env: gym.Env,
        seed: int = 0,
        hidden_sizes: tuple[int, ...] | list[int] = (32, 32),
        learning_rate: float = 0.01,
        train_every: int = 100,
        gradient_steps: int = 50,
        max_examples: int = 20000,
        epsilon_schedule: str = "exponential",
        epsilon_start: float = 0.5,
        epsilon_floor: float = 0.02,
        epsilon_decay_steps: float = 1000.0,
        use_observation: bool = True,
        unit_cost: float | None = None,
    ):
        import torch

        require_env(env, self.name)
        super().__init__(env.action_space, env.observation_space, seed)
        self.n_actions = require_discrete_actions(env.action_space, self.name)
        self.price_grid = env_price_grid(env, self.n_actions)
        for name, value in (("train_every", train_every), ("gradient_steps", gradient_steps), ("max_examples", max_examples)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {learning_rate}")
        if unit_cost is None:
            unit_cost = float(getattr(env.unwrapped, "unit_cost", 0.0) or 0.0)

        self.settings = {
            "hidden_sizes": [int(h) for h in hidden_sizes],
            "learning_rate": float(learning_rate),
            "train_every": int(train_every),
            "gradient_steps": int(gradient_steps),
            "max_examples": int(max_examples),
            "epsilon_schedule": epsilon_schedule,
            "epsilon_start": float(epsilon_start),
            "epsilon_floor": float(epsilon_floor),
            "epsilon_decay_steps": float(epsilon_decay_steps),
            "use_observation": bool(use_observation),
            "unit_cost": float(unit_cost),
        }
        self.epsilon = make_epsilon_schedule(epsilon_schedule, epsilon_start, epsilon_floor, epsilon_decay_steps)
        self.unit_cost = float(unit_cost)
        self.use_observation = bool(use_observation)
        self._observation_low, self._observation_range = self._observation_scaling(env.observation_space)

        # Training data: features, customers (trials) and units sold (successes) per period.
        self._features: list[np.ndarray] = []
        self._customers: list[float] = []
        self._units: list[float] = []
        self._steps_since_fit = 0

        # Initial weights come from a torch generator seeded by the agent, not torch's global one.
        n_features = 1 + (self._observation_low.size if self.use_observation else 0)
        generator = torch.Generator().manual_seed(self.seed)
        layers: list[torch.nn.Module] = []
        width = n_features
        for hidden in self.settings["hidden_sizes"]:
            layers += [torch.nn.Linear(width, hidden), torch.nn.Tanh()]
            width = hidden
        layers.append(torch.nn.Linear(width, 1))
        self.model = torch.nn.Sequential(*layers).double()
        with torch.no_grad():
            for parameter in self.model.parameters():
                bound = 1.0 / np.sqrt(parameter.shape[-1])
                parameter.uniform_(-bound, bound, generator=generator)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.settings["learning_rate"])

    @staticmethod
    def _observation_scaling(space: gym.Space) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(space, gym.spaces.Box):
            low = np.ravel(space.low).astype(np.float64)
            high = np.ravel(space.high).astype(np.float64)
            finite = np.isfinite(low) & np.isfinite(high) & (high > low)
            return np.where(finite, low, 0.0), np.where(finite, high - low, 1.0)
        if isinstance(space, gym.spaces.Discrete):
            return np.zeros(1), np.array([max(int(space.n) - 1, 1)], dtype=np.float64)
        raise ValueError(f"predict-optimize supports Box and Discrete observation spaces, got {space}")

    # ------------------------------------------------------------------ model

    def features(self, observation: Any, prices: np.ndarray) -> np.ndarray:
        """Return the model's inputs for each price in ``prices`` in the state ``observation``."""
        scaled_prices = (np.asarray(prices, dtype=np.float64) / self.price_grid.max()).reshape(-1, 1)
        if not self.use_observation:
            return scaled_prices
        scaled_observation = (np.asarray(observation, dtype=np.float64).ravel() - self._observation_low) / self._observation_range
        return np.hstack([scaled_prices, np.tile(scaled_observation, (scaled_prices.shape[0], 1))])

    def purchase_probabilities(self, observation: Any) -> np.ndarray:
        """Predicted purchase probability of one arriving customer at every grid price."""
        import torch

        with torch.no_grad(), single_thread_torch():
            logits = self.model(torch.from_numpy(self.features(observation, self.price_grid)))
        return torch.sigmoid(logits).numpy().ravel()

    def fit(self) -> float:
        """Refit the model on the stored periods; return the final cross-entropy per customer."""
        import torch

        trials = np.asarray(self._customers, dtype=np.float64)
        if trials.sum() <= 0:
            return float("nan")
        x = torch.from_numpy(np.vstack(self._features))
        successes = torch.from_numpy(np.asarray(self._units, dtype=np.float64))
        failures = torch.from_numpy(trials) - successes
        total = float(trials.sum())

        loss = torch.tensor(float("nan"))
        with single_thread_torch():
            for _ in range(self.settings["gradient_steps"]):
                self.optimizer.zero_grad()
                logits = self.model(x).squeeze(-1)
                # log q and log(1 - q) through logsigmoid, which stays finite for large logits.
                log_q = torch.nn.functional.logsigmoid(logits)
                log_not_q = torch.nn.functional.logsigmoid(-logits)
                loss = -(successes * log_q + failures * log_not_q).sum() / total
                loss.backward()
                self.optimizer.step()
        return float(loss.detach())

    # ----------------------------------------------------------------- acting

    def greedy_action(self, observation: Any) -> int:
        margins = (self.price_grid - self.unit_cost) * self.purchase_probabilities(observation)
        return int(np.argmax(margins))

    def act(self, observation: Any, deterministic: bool = False) -> int:
        if self.use_observation:
            finite_observation(observation, self.name)
        if deterministic:
            return self.greedy_action(observation)
        if not self._customers or self.rng.random() < self.epsilon(self.num_timesteps):
            return int(self.rng.integers(self.n_actions))
        return self.greedy_action(observation)

    def observe(self, observation, action, reward, next_observation, terminated, truncated, info) -> None:
        if "customers" not in info or "units_sold" not in info:
            raise ValueError("predict-optimize needs info['customers'] and info['units_sold'] from the market's step")
        price = self.price_grid[int(action)]
        self._features.append(self.features(observation, np.array([price]))[0])
        self._customers.append(float(info["customers"]))
        self._units.append(float(info["units_sold"]))

        limit = self.settings["max_examples"]
        if len(self._customers) > limit:
            del self._features[:-limit], self._customers[:-limit], self._units[:-limit]

        self._steps_since_fit += 1
        if self._steps_since_fit >= self.settings["train_every"]:
            self.fit()
            self._steps_since_fit = 0

    def learn(self, env: gym.Env, total_steps: int, callback: Any = None) -> "PredictThenOptimizeAgent":
        """Run the shared interaction loop with PyTorch on one thread (faster and repeatable)."""
        with single_thread_torch():
            return super().learn(env, total_steps, callback)

    # ------------------------------------------------------------------ files

    def save(self, path: str | Path) -> Path:
        """Write the network, optimizer state, training data and settings to one file (torch.save)."""
        import torch

        path = Path(path)
        if path.suffix != ".pt":
            path = path.with_name(path.name + ".pt")
        state = {
            "format_version": ARCHIVE_FORMAT_VERSION,
            "agent": self.name,
            "seed": self.seed,
            "settings": json.dumps(self.settings),
            "action_space": json.dumps(space_to_config(self.action_space)),
            "observation_space": json.dumps(space_to_config(self.observation_space)),
            "price_grid": self.price_grid.tolist(),
            "num_timesteps": self.num_timesteps,
            "rng_state": rng_state_to_json(self.rng),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "features": np.vstack(self._features).tolist() if self._features else [],
            "customers": list(self._customers),
            "units": list(self._units),
            "steps_since_fit": self._steps_since_fit,
        }
        return write_atomically(path, lambda tmp_path: torch.save(state, tmp_path))

    @classmethod
    def load(cls, path: str | Path, env: gym.Env | None = None) -> "PredictThenOptimizeAgent":
        import torch

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"agent file not found: {path}")
        try:
            state = torch.load(path, weights_only=True)
        except Exception as error:  # torch raises several types for a foreign or broken file
            raise ValueError(f"{path} is not a predict-optimize agent file: {error}") from error
        if state.get("format_version") != ARCHIVE_FORMAT_VERSION:
            raise ValueError(
                f"{path} has format version {state.get('format_version')!r}, but this code reads "
                f"version {ARCHIVE_FORMAT_VERSION}; retrain the agent or use the version that wrote it"
            )
        if state.get("agent") != cls.name:
            raise ValueError(f"{path} contains a {state.get('agent')!r} agent, not {cls.name!r}")

        if env is None:
            env = SpacesOnly(
                space_from_config(json.loads(state["action_space"])),
                space_from_config(json.loads(state["observation_space"])),
            )
            env.price_grid = np.asarray(state["price_grid"])  # type: ignore[attr-defined]
        saved_spaces = {key: json.loads(state[key]) for key in ("action_space", "observation_space")}
        check_saved_spaces(path, env, saved_spaces)
        agent = cls(env, seed=state["seed"], **json.loads(state["settings"]))
        # The demand model was fitted on the saved prices, so another grid of the same size is wrong too.
        if not np.allclose(agent.price_grid, state["price_grid"]):
            raise ValueError(
                f"{path} was trained on prices {list(state['price_grid'])}, but the env posts "
                f"{agent.price_grid.tolist()}; load it with the market it was trained on, or with env=None"
            )
        agent.model.load_state_dict(state["model"])
        agent.optimizer.load_state_dict(state["optimizer"])
        agent._features = [np.asarray(row, dtype=np.float64) for row in state["features"]]
        agent._customers = list(state["customers"])
        agent._units = list(state["units"])
        agent._steps_since_fit = int(state["steps_since_fit"])
        agent.num_timesteps = int(state["num_timesteps"])
        agent.rng = rng_from_json(state["rng_state"])
        return agent
