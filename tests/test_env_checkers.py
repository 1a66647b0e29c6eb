"""Gymnasium's and Stable-Baselines3's environment checkers on every registered market."""

import importlib.util
import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs

ACTION_TYPES = ("discrete", "continuous")


def _env_ids():
    for env_id in envs.ENV_IDS:
        entry_point = gym.spec(env_id).entry_point
        module_name = entry_point.split(":")[0]
        marks = []
        if importlib.util.find_spec(module_name) is None:
            marks.append(pytest.mark.skip(reason=f"{module_name} is not written yet"))
        yield pytest.param(env_id, marks=marks, id=env_id.split("/")[-1])


ENV_IDS = list(_env_ids())


def _make(env_id, action_type):
    try:
        return gym.make(env_id, action_type=action_type)
    except TypeError:
        pytest.skip(f"{env_id} has no action_type argument")


@pytest.mark.parametrize("action_type", ACTION_TYPES)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_checker_passes(env_id, action_type):
    env = _make(env_id, action_type)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gymnasium_check_env(env.unwrapped, skip_render_check=False)


@pytest.mark.parametrize("action_type", ACTION_TYPES)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_checker_passes(env_id, action_type):
    env = _make(env_id, action_type)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_check_env(env.unwrapped, warn=True)


@pytest.mark.parametrize("action_type", ACTION_TYPES)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_passive_checker_episode_clean(env_id, action_type):
    # gym.make wraps the env in PassiveEnvChecker, which warns on the first reset and step
    # about anything suspicious; run a whole episode with warnings as errors.
    env = _make(env_id, action_type)
    env.action_space.seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        observation, _ = env.reset(seed=0)
        for _ in range(10_000):
            observation, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            assert env.observation_space.contains(observation)
            assert type(reward) is float
            if terminated or truncated:
                break
        assert terminated or truncated
