"""Deep reinforcement learning agents through Stable-Baselines3: DQN, PPO, A2C and SAC.

Each agent wraps one Stable-Baselines3 (SB3) algorithm behind the pricing-sim ``Agent``
protocol:

- Hyperparameters come from ``agents/hyperparams.yaml``: the entry for the env's id, or
  the algorithm's ``default`` entry, overridden by the keyword arguments given to the
  constructor. ``hyperparameter_source`` records which entry was used and whether it was tuned.
- Training runs on a ``VecNormalize`` wrapper (``normalize_obs``, ``normalize_reward``) so
  that revenues of hundreds do not blow up value targets. Its running statistics are saved
  with the model and frozen after ``learn``: ``act`` normalises observations with the
  statistics as they were at the end of training. The callback gets the raw episode reward
  in currency (revenue, or profit with a unit cost), never the scaled reward.
- ``learn`` continues training across calls (SB3's ``reset_num_timesteps=False``), and a
  budget below ``learning_starts`` or the rollout length finishes without error.
- Determinism: the agent's seed goes to SB3's ``set_random_seed`` (which also seeds
  Python's, NumPy's and PyTorch's global generators, as SB3 does) and to the vectorised
  env. Training runs with ``torch.set_num_threads(1)``, restored afterwards, because
  multi-threaded CPU reductions may sum in a different order from run to run. With that,
  the same seed on the same machine and library versions gives the same learning curve.

Spaces: DQN needs a Discrete action space (the price grid), SAC a Box (continuous prices);
PPO and A2C take either. A mismatch raises ValueError naming the fix.
"""

from __future__ import annotations

import inspect
import io
import json
import pickle
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import yaml

from agents.base import TrainingCallback
from agents.common import env_id, finite_observation, require_env, single_thread_torch, write_atomically

HYPERPARAMETERS_FILE = Path(__file__).with_name("hyperparams.yaml")

# Settings of the wrapper itself, next to the SB3 algorithm's own keyword arguments.
_WRAPPER_SETTINGS = ("normalize_obs", "normalize_reward", "policy")
# SB3 constructor arguments that the wrapper sets itself.
_RESERVED_ARGUMENTS = ("self", "policy", "env", "seed", "_init_setup_model", "device")

# Version of the .zip layout written by ``save``.
ARCHIVE_FORMAT_VERSION = 1


@lru_cache(maxsize=1)
def _hyperparameter_table() -> dict[str, Any]:
    with open(HYPERPARAMETERS_FILE, encoding="utf-8") as f:
        return yaml.safe_load(f)


def default_hyperparameters(algorithm: str, environment_id: str | None) -> tuple[dict[str, Any], str, bool]:
    """Return the YAML entry for ``algorithm`` on ``environment_id``, its key and its tuned flag."""
    table = _hyperparameter_table().get(algorithm)
    if table is None:
        raise ValueError(f"{HYPERPARAMETERS_FILE} has no entry for {algorithm!r}")
    key = environment_id if environment_id in table else "default"
    entry = dict(table[key])
    if "tuned" not in entry:
        raise ValueError(f"{HYPERPARAMETERS_FILE}: entry {algorithm}/{key} must say tuned: true or tuned: false")
    tuned = bool(entry.pop("tuned"))
    return entry, key, tuned


class SB3Agent:
    """Shared wrapper of an SB3 algorithm; the subclasses choose the algorithm.

    Args:
        env: the market to build the model for (its spaces, and its id for the YAML entry).
        seed: seed of SB3's generators and of the environment's resets.
        normalize_obs: normalise observations with running statistics during training.
        normalize_reward: scale rewards by a running estimate of the return's spread.
        policy: SB3 policy name, "MlpPolicy" by default.
        **hyperparameters: keyword arguments of the SB3 algorithm (``learning_rate``,
            ``gamma``, ``n_steps``...), overriding the YAML entry.
    """

    name: ClassVar[str] = "sb3"
    description: ClassVar[str] = ""
    algorithm_name: ClassVar[str] = ""
    action_spaces: ClassVar[tuple[type[gym.Space], ...]] = (gym.spaces.Discrete, gym.spaces.Box)

    def __init__(
        self,
        env: gym.Env,
        seed: int = 0,
        normalize_obs: bool | None = None,
        normalize_reward: bool | None = None,
        policy: str = "MlpPolicy",
        **hyperparameters: Any,
    ):
        require_env(env, self.name)
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self._check_action_space(env.action_space)
        unknown = sorted(set(hyperparameters) - set(self.algorithm_arguments()))
        if unknown:
            raise ValueError(
                f"unknown hyperparameter(s) {', '.join(map(repr, unknown))} for agent {self.name!r}; "
                f"valid hyperparameters: {', '.join(self.valid_hyperparameters())}"
            )

        self.seed = int(seed)
        self.env_id = env_id(env)
        settings, key, tuned = default_hyperparameters(self.name, self.env_id)
        self.hyperparameter_source = {"entry": f"{self.name}/{key}", "tuned": tuned}
        if normalize_obs is not None:
            settings["normalize_obs"] = normalize_obs
        if normalize_reward is not None:
            settings["normalize_reward"] = normalize_reward
        settings.update(hyperparameters)
        self.normalize_obs = bool(settings.pop("normalize_obs", True))
        self.normalize_reward = bool(settings.pop("normalize_reward", True))
        # SB3 does not check these, and a NaN (gamma, say) silently turns every value into NaN.
        for key, value in settings.items():
            if isinstance(value, (float, np.floating)) and not np.isfinite(value):
                raise ValueError(f"hyperparameter {key} of agent {self.name!r} must be finite, got {value!r}")
        self.policy = policy
        self.hyperparameters = settings

        self.action_space = env.action_space
        self.observation_space = env.observation_space
        self._episode_revenue = 0.0
        self._episode_length = 0

        self._training_env = self._wrap(env, statistics_from=None)
        with single_thread_torch():
            try:
                self.model = self.algorithm_class()(
                    policy, self._training_env, seed=self.seed, device="cpu", **self.hyperparameters
                )
            except AssertionError as error:
                # SB3 checks some arguments with assert (n_steps * n_envs > 1 in PPO and A2C).
                raise ValueError(
                    f"Stable-Baselines3 rejected the hyperparameters of agent {self.name!r}: {error}"
                ) from error
        self._trained_on = env

    # ------------------------------------------------------------ construction

    @classmethod
    def algorithm_class(cls) -> type:
        import stable_baselines3

        return getattr(stable_baselines3, cls.algorithm_name)

    @classmethod
    def algorithm_arguments(cls) -> list[str]:
        parameters = inspect.signature(cls.algorithm_class().__init__).parameters
        return [
            p
            for p, spec in parameters.items()
            if p not in _RESERVED_ARGUMENTS and spec.kind is not inspect.Parameter.VAR_KEYWORD
        ]

    @classmethod
    def valid_hyperparameters(cls) -> list[str]:
        """Names ``make_agent`` accepts: the wrapper's settings and the SB3 algorithm's arguments."""
        return sorted(set(_WRAPPER_SETTINGS) | set(cls.algorithm_arguments()))

    @classmethod
    def _check_action_space(cls, space: gym.Space) -> None:
        if not isinstance(space, cls.action_spaces):
            expected_spaces = " or ".join(s.__name__ for s in cls.action_spaces)
            action_type = "discrete" if cls.action_spaces == (gym.spaces.Discrete,) else "continuous"
            raise ValueError(
                f"{cls.name} needs a {expected_spaces} action space, got {space}; "
                f"make the market with action_type='{action_type}'"
            )

    def _wrap(self, env: gym.Env, statistics_from: Any) -> Any:
        """Wrap ``env`` in a one-env DummyVecEnv and VecNormalize, copying earlier statistics."""
        from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

        vec_env = DummyVecEnv([lambda: env])
        gamma = float(self.hyperparameters.get("gamma", 0.99))
        normalized = VecNormalize(
            vec_env, norm_obs=self.normalize_obs, norm_reward=self.normalize_reward, gamma=gamma
        )
        if statistics_from is not None:
            normalized.obs_rms = statistics_from.obs_rms
            normalized.ret_rms = statistics_from.ret_rms
        return normalized

    # ------------------------------------------------------------------ acting

    def act(self, observation: Any, deterministic: bool = False) -> Any:
        """Return an action for one observation, normalised with the frozen training statistics."""
        normalized = self._training_env.normalize_obs(finite_observation(observation, self.name))
        action, _ = self.model.predict(normalized, deterministic=deterministic)
        if isinstance(self.action_space, gym.spaces.Discrete):
            return int(np.asarray(action).reshape(-1)[0])
        action = np.asarray(action, dtype=self.action_space.dtype).reshape(self.action_space.shape)
        return np.clip(action, self.action_space.low, self.action_space.high)

    # ---------------------------------------------------------------- learning

    def learn(self, env: gym.Env, total_steps: int, callback: TrainingCallback | None = None) -> "SB3Agent":
        """Train for ``total_steps`` more steps on ``env``, continuing from earlier calls."""
        if isinstance(total_steps, bool) or not isinstance(total_steps, (int, np.integer)) or total_steps < 0:
            raise ValueError(f"total_steps must be a non-negative integer, got {total_steps!r}")
        if total_steps == 0:
            return self
        self._check_action_space(env.action_space)

        if env is not self._trained_on:
            # A new env instance: keep the normalisation statistics learned so far.
            self._training_env = self._wrap(env, statistics_from=self._training_env)
            self.model.set_env(self._training_env)
            self._training_env.seed(self.seed + self.model.num_timesteps)
            self._trained_on = env
            self._episode_revenue = 0.0
            self._episode_length = 0

        self._training_env.training = True
        try:
            with single_thread_torch():
                self.model.learn(
                    total_timesteps=int(total_steps),
                    callback=_RevenueCallback(self, callback),
                    reset_num_timesteps=False,
                    progress_bar=False,
                )
        finally:
            self._training_env.training = False
        return self

    @property
    def num_timesteps(self) -> int:
        return int(self.model.num_timesteps)

    # ------------------------------------------------------------------- files

    def save(self, path: str | Path) -> Path:
        """Write one .zip holding the SB3 model, the VecNormalize statistics and the settings."""
        path = Path(path)
        if path.suffix != ".zip":
            path = path.with_name(path.name + ".zip")

        model_bytes = io.BytesIO()
        self.model.save(model_bytes)
        # VecNormalize drops its wrapped env when pickled, keeping only the statistics.
        statistics = pickle.dumps(self._training_env)
        settings = {
            "format_version": ARCHIVE_FORMAT_VERSION,
            "agent": self.name,
            "seed": self.seed,
            "env_id": self.env_id,
            "normalize_obs": self.normalize_obs,
            "normalize_reward": self.normalize_reward,
            "policy": self.policy,
            "hyperparameters": self.hyperparameters,
            "hyperparameter_source": self.hyperparameter_source,
        }

        def write(tmp_path: Path) -> None:
            with zipfile.ZipFile(tmp_path, "w") as archive:
                archive.writestr("model.zip", model_bytes.getvalue())
                archive.writestr("vecnormalize.pkl", statistics)
                archive.writestr("agent.json", json.dumps(settings, default=str))

        return write_atomically(path, write)

    @classmethod
    def load(cls, path: str | Path, env: gym.Env | None = None) -> "SB3Agent":
        """Rebuild an agent from ``save``; ``env`` is needed only to continue training."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"agent file not found: {path}")
        try:
            with zipfile.ZipFile(path) as archive:
                settings = json.loads(archive.read("agent.json"))
                model_bytes = archive.read("model.zip")
                statistics = archive.read("vecnormalize.pkl")
        except (zipfile.BadZipFile, KeyError, OSError) as error:
            raise ValueError(f"{path} is not a pricing-sim SB3 agent archive: {error}") from error

        if settings.get("format_version") != ARCHIVE_FORMAT_VERSION:
            raise ValueError(
                f"{path} has archive format version {settings.get('format_version')!r}, but this code "
                f"reads version {ARCHIVE_FORMAT_VERSION}; retrain the agent or use the version that wrote it"
            )
        if settings.get("agent") != cls.name:
            raise ValueError(f"{path} contains a {settings.get('agent')!r} agent, not {cls.name!r}")

        agent = cls.__new__(cls)
        agent.seed = int(settings["seed"])
        agent.env_id = settings["env_id"]
        agent.normalize_obs = bool(settings["normalize_obs"])
        agent.normalize_reward = bool(settings["normalize_reward"])
        agent.policy = settings["policy"]
        agent.hyperparameters = settings["hyperparameters"]
        agent.hyperparameter_source = settings["hyperparameter_source"]
        agent._episode_revenue = 0.0
        agent._episode_length = 0

        normalizer = pickle.loads(statistics)
        normalizer.training = False
        agent.model = cls.algorithm_class().load(io.BytesIO(model_bytes), device="cpu")
        agent.action_space = agent.model.action_space
        agent.observation_space = agent.model.observation_space
        agent._training_env = normalizer
        agent._trained_on = None
        if env is not None:
            agent._training_env = agent._wrap(env, statistics_from=normalizer)
            agent._training_env.training = False
            agent.model.set_env(agent._training_env)
            agent._trained_on = env
        return agent

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed}, steps={self.num_timesteps})"


def _make_revenue_callback_class() -> type:
    from stable_baselines3.common.callbacks import BaseCallback

    class RevenueCallback(BaseCallback):
        """Sums the raw reward per episode and reports it in currency to the user's callback."""

        def __init__(self, agent: SB3Agent, callback: TrainingCallback | None):
            super().__init__(verbose=0)
            self.agent = agent
            self.user_callback = callback

        def _on_step(self) -> bool:
            done = bool(self.locals["dones"][0])
            self.agent._episode_revenue += self._raw_reward()
            self.agent._episode_length += 1
            if not done:
                return True

            metrics = {
                "train/step": float(self.num_timesteps),
                "train/episode_revenue": self.agent._episode_revenue,
                "train/episode_length": float(self.agent._episode_length),
            }
            self.agent._episode_revenue = 0.0
            self.agent._episode_length = 0
            if self.user_callback is None:
                return True
            return self.user_callback(metrics) is not False

        def _raw_reward(self) -> float:
            """Return the step's reward before VecNormalize scaled it."""
            if hasattr(self.training_env, "get_original_reward"):
                return float(self.training_env.get_original_reward()[0])
            return float(self.locals["rewards"][0])

    return RevenueCallback


def _RevenueCallback(agent: SB3Agent, callback: TrainingCallback | None) -> Any:
    return _make_revenue_callback_class()(agent, callback)


class DQNAgent(SB3Agent):
    """Deep Q-network on the price grid."""

    name: ClassVar[str] = "dqn"
    description: ClassVar[str] = "Stable-Baselines3 DQN on the price grid"
    algorithm_name: ClassVar[str] = "DQN"
    action_spaces: ClassVar[tuple[type[gym.Space], ...]] = (gym.spaces.Discrete,)


class PPOAgent(SB3Agent):
    """Proximal policy optimisation on discrete or continuous prices."""

    name: ClassVar[str] = "ppo"
    description: ClassVar[str] = "Stable-Baselines3 PPO on discrete or continuous prices"
    algorithm_name: ClassVar[str] = "PPO"


class A2CAgent(SB3Agent):
    """Advantage actor-critic on discrete or continuous prices."""

    name: ClassVar[str] = "a2c"
    description: ClassVar[str] = "Stable-Baselines3 A2C on discrete or continuous prices"
    algorithm_name: ClassVar[str] = "A2C"


class SACAgent(SB3Agent):
    """Soft actor-critic on continuous prices."""

    name: ClassVar[str] = "sac"
    description: ClassVar[str] = "Stable-Baselines3 SAC on continuous prices"
    algorithm_name: ClassVar[str] = "SAC"
    action_spaces: ClassVar[tuple[type[gym.Space], ...]] = (gym.spaces.Box,)
