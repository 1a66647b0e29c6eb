"""Stable-Baselines3 agents: tiny budgets, files, frozen normalisation and determinism."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the PricingSim markets)
from agents.deep import DQNAgent, default_hyperparameters
from agents.registry import make_agent

# (agent, action type, small settings so that a few hundred steps train at least once)
SB3_CASES = [
    ("dqn", "discrete", {"learning_starts": 50, "train_freq": 4}),
    ("ppo", "discrete", {"n_steps": 32, "batch_size": 32, "n_epochs": 2}),
    ("ppo", "continuous", {"n_steps": 32, "batch_size": 32, "n_epochs": 2}),
    ("a2c", "discrete", {"n_steps": 8}),
    ("a2c", "continuous", {"n_steps": 8}),
    ("sac", "continuous", {"learning_starts": 50, "batch_size": 32}),
]
CASE_IDS = [f"{name}-{action_type}" for name, action_type, _ in SB3_CASES]


def market(action_type, horizon=20, **kwargs):
    return gym.make("PricingSim/SingleProduct-v0", action_type=action_type, horizon=horizon, **kwargs)


def learning_curve(name, action_type, settings, seed, steps=160):
    env = market(action_type)
    agent = make_agent(name, env, seed=seed, **settings)
    revenues = []
    agent.learn(env, steps, callback=lambda m: revenues.append(m["train/episode_revenue"]))
    return agent, env, revenues


@pytest.mark.parametrize(("name", "action_type", "settings"), SB3_CASES, ids=CASE_IDS)
def test_tiny_budgets_finish(name, action_type, settings):
    env = market(action_type)
    agent = make_agent(name, env, seed=0, **settings)
    # One step, then fewer steps than learning_starts or one rollout, then zero.
    agent.learn(env, 1)
    agent.learn(env, 10)
    agent.learn(env, 0)
    assert agent.num_timesteps >= 11
    observation, _ = env.reset(seed=0)
    assert env.action_space.contains(agent.act(observation, deterministic=True))


@pytest.mark.parametrize(("name", "action_type", "settings"), SB3_CASES, ids=CASE_IDS)
def test_same_seed_same_learning_curve(name, action_type, settings):
    _, _, first = learning_curve(name, action_type, settings, seed=11)
    _, _, second = learning_curve(name, action_type, settings, seed=11)
    assert len(first) >= 7
    assert first == second


def test_different_seed_different_curve():
    _, _, first = learning_curve("ppo", "discrete", SB3_CASES[1][2], seed=1)
    _, _, second = learning_curve("ppo", "discrete", SB3_CASES[1][2], seed=2)
    assert first != second


@pytest.mark.parametrize(("name", "action_type", "settings"), SB3_CASES, ids=CASE_IDS)
def test_save_load_identical_actions(name, action_type, settings, tmp_path):
    agent, env, _ = learning_curve(name, action_type, settings, seed=3, steps=100)
    path = agent.save(tmp_path / name)
    assert path.suffix == ".zip"

    loaded = type(agent).load(path)
    observations = [env.observation_space.sample() for _ in range(20)]
    for observation in observations:
        np.testing.assert_array_equal(
            np.asarray(loaded.act(observation, deterministic=True)),
            np.asarray(agent.act(observation, deterministic=True)),
        )


def test_learning_continues_across_calls():
    env = market("discrete")
    agent = make_agent("dqn", env, seed=0, learning_starts=10)
    agent.learn(env, 40)
    agent.learn(env, 40)
    assert agent.num_timesteps == 80


def test_callback_gets_raw_reward():
    # With a unit cost the reward is profit, which differs from info["revenue"]; the callback
    # must report the unscaled reward, the quantity the oracle's expected return measures.
    env = market("discrete", horizon=10, unit_cost=1.0)
    agent = make_agent("a2c", env, seed=0, n_steps=5)
    episode_revenues = []
    step_revenues = []

    class RecordRevenue(gym.Wrapper):
        def step(self, action):
            result = super().step(action)
            step_revenues.append(result[1])
            return result

    recorded = RecordRevenue(env)
    agent.learn(recorded, 30, callback=lambda m: episode_revenues.append(m["train/episode_revenue"]))
    assert len(episode_revenues) == 3
    np.testing.assert_allclose(episode_revenues, np.add.reduceat(step_revenues[:30], [0, 10, 20]))


def test_normalisation_frozen_after_learn():
    agent, env, _ = learning_curve("ppo", "discrete", SB3_CASES[1][2], seed=0, steps=64)
    mean_before = agent._training_env.obs_rms.mean.copy()
    for _ in range(10):
        agent.act(env.observation_space.sample())
    assert not agent._training_env.training
    np.testing.assert_array_equal(agent._training_env.obs_rms.mean, mean_before)


def test_statistics_saved_with_model(tmp_path):
    agent, _, _ = learning_curve("ppo", "discrete", SB3_CASES[1][2], seed=0, steps=64)
    loaded = type(agent).load(agent.save(tmp_path / "ppo"))
    np.testing.assert_array_equal(loaded._training_env.obs_rms.mean, agent._training_env.obs_rms.mean)
    np.testing.assert_array_equal(loaded._training_env.ret_rms.var, agent._training_env.ret_rms.var)


def test_loaded_agent_trains_further(tmp_path):
    agent, env, _ = learning_curve("a2c", "discrete", {"n_steps": 8}, seed=0, steps=40)
    loaded = type(agent).load(agent.save(tmp_path / "a2c"), env=env)
    loaded.learn(env, 16)
    assert loaded.num_timesteps == agent.num_timesteps + 16


@pytest.mark.parametrize(("name", "action_type"), [("dqn", "continuous"), ("sac", "discrete")])
def test_wrong_action_space_rejected(name, action_type):
    other = "discrete" if action_type == "continuous" else "continuous"
    with pytest.raises(ValueError, match=f"{name} needs a .* action space.*action_type='{other}'"):
        make_agent(name, market(action_type), seed=0)


@pytest.mark.parametrize(("name", "action_type"), [("dqn", "discrete"), ("ppo", "continuous")])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_observation_rejected(name, action_type, value):
    agent = make_agent(name, market(action_type), seed=0)
    with pytest.raises(ValueError, match=f"{name} needs a finite observation"):
        agent.act(np.full(4, value, dtype=np.float32), deterministic=True)


def test_hyperparameters_from_yaml_marked_tuned_or_not():
    for algorithm in ("dqn", "ppo", "a2c", "sac"):
        settings, key, tuned = default_hyperparameters(algorithm, "PricingSim/SingleProduct-v0")
        assert key == "PricingSim/SingleProduct-v0"
        assert isinstance(tuned, bool)
        assert "gamma" in settings
    _, key, _ = default_hyperparameters("ppo", "PricingSim/Unknown-v0")
    assert key == "default"


def test_constructor_overrides_yaml():
    agent = make_agent("dqn", market("discrete"), seed=0, gamma=0.5)
    assert agent.model.gamma == 0.5
    assert agent.hyperparameter_source == {"entry": "dqn/PricingSim/SingleProduct-v0", "tuned": False}


def test_load_other_agent_rejected(tmp_path):
    agent, _, _ = learning_curve("a2c", "discrete", {"n_steps": 8}, seed=0, steps=16)
    path = agent.save(tmp_path / "a2c")
    with pytest.raises(ValueError, match="contains a 'a2c' agent, not 'dqn'"):
        DQNAgent.load(path)


def test_load_broken_archive_rejected(tmp_path):
    path = tmp_path / "broken.zip"
    path.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match=r"broken\.zip is not a pricing-sim SB3 agent archive"):
        DQNAgent.load(path)


def test_load_directory_rejected(tmp_path):
    with pytest.raises(ValueError, match="is not a pricing-sim SB3 agent archive"):
        DQNAgent.load(tmp_path)


@pytest.mark.parametrize(
    ("name", "settings", "match"),
    [
        ("dqn", {"gamma": float("nan")}, "hyperparameter gamma of agent 'dqn' must be finite, got nan"),
        ("ppo", {"n_steps": 0}, "Stable-Baselines3 rejected the hyperparameters of agent 'ppo'"),
    ],
)
def test_invalid_sb3_hyperparameters_rejected(name, settings, match):
    with pytest.raises(ValueError, match=match):
        make_agent(name, market("discrete"), seed=0, **settings)
