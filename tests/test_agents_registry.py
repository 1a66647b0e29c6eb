"""The agent registry: names, descriptions and hyperparameter checks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the PricingSim markets)
from agents.base import Agent
from agents.registry import agent_class, agent_hyperparameters, available_agents, make_agent

CONTRACT_NAMES = [
    "oracle", "best-fixed", "fixed", "random", "epsilon-greedy", "ucb1", "thompson",
    "thompson-gaussian", "q-learning", "sarsa", "double-q", "dqn", "ppo", "a2c", "sac",
    "predict-optimize",
]
CONTINUOUS_ONLY = {"sac"}
EXTRA_ARGUMENTS = {"fixed": {"price": 5.0}}


def test_available_agents_lists_every_name():
    agents = available_agents()
    assert sorted(agents) == sorted(CONTRACT_NAMES)
    assert all(isinstance(d, str) and d for d in agents.values())


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_registry_description_matches_class(name):
    cls = agent_class(name)
    assert cls.name == name
    assert cls.description == available_agents()[name]


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_make_agent_builds_protocol_agent(name):
    action_type = "continuous" if name in CONTINUOUS_ONLY else "discrete"
    env = gym.make("PricingSim/SingleProduct-v0", action_type=action_type, horizon=10)
    agent = make_agent(name, env, seed=0, **EXTRA_ARGUMENTS.get(name, {}))
    assert isinstance(agent, Agent)
    observation, _ = env.reset(seed=0)
    assert env.action_space.contains(agent.act(observation, deterministic=True))


def test_unknown_agent_lists_valid_names():
    env = gym.make("PricingSim/SingleProduct-v0")
    with pytest.raises(ValueError, match="unknown agent 'q-lerning'; valid agents: oracle, best-fixed"):
        make_agent("q-lerning", env, seed=0)


def test_unknown_hyperparameter_lists_valid_ones():
    env = gym.make("PricingSim/SingleProduct-v0")
    with pytest.raises(
        ValueError, match=r"unknown hyperparameter\(s\) 'gama' for agent 'q-learning'; valid hyperparameters: .*gamma"
    ):
        make_agent("q-learning", env, seed=0, gama=0.9)


def test_unknown_sb3_hyperparameter_lists_valid_ones():
    env = gym.make("PricingSim/SingleProduct-v0")
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) 'n_step' for agent 'ppo'.*n_steps"):
        make_agent("ppo", env, seed=0, n_step=8)


@pytest.mark.parametrize(
    ("name", "hyperparameters", "message"),
    [
        ("ucb1", {"exploration": "big"}, r"'exploration' of agent 'ucb1' must be float, got 'big' \(str\)"),
        ("ucb1", {"revenue_scale": True}, r"'revenue_scale' of agent 'ucb1' must be float or None, got True"),
        ("q-learning", {"gamma": [0.9]}, r"'gamma' of agent 'q-learning' must be float, got \[0\.9\]"),
        ("predict-optimize", {"train_every": 2.5}, r"'train_every' .* must be int, got 2\.5 \(float\)"),
        ("predict-optimize", {"use_observation": 1}, r"'use_observation' .* must be bool, got 1 \(int\)"),
    ],
)
def test_wrong_hyperparameter_type_named(name, hyperparameters, message):
    env = gym.make("PricingSim/SingleProduct-v0")
    with pytest.raises(TypeError, match=message):
        make_agent(name, env, seed=0, **hyperparameters)


def test_hyperparameter_types_accepted():
    env = gym.make("PricingSim/SingleProduct-v0")
    assert make_agent("ucb1", env, seed=0, exploration=2, revenue_scale=None) is not None
    assert make_agent("q-learning", env, seed=0, bins=[4, 4, 4, 4], epsilon_schedule="linear") is not None
    assert make_agent("predict-optimize", env, seed=0, train_every=np.int64(50), learning_rate=np.float32(0.01)) is not None


def test_subclass_hyperparameters_follow_parent():
    assert agent_hyperparameters("sarsa") == agent_hyperparameters("q-learning")
    assert "gamma" in agent_hyperparameters("double-q")
    assert agent_hyperparameters("random") == []


def test_negative_seed_rejected():
    env = gym.make("PricingSim/SingleProduct-v0")
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -1"):
        make_agent("ucb1", env, seed=-1)


@pytest.mark.parametrize(
    "name", ["random", "epsilon-greedy", "ucb1", "thompson", "thompson-gaussian", "q-learning", "sarsa", "double-q"]
)
def test_same_seed_same_learning_curve(name):
    curves = []
    for _ in range(2):
        env = gym.make("PricingSim/SingleProduct-v0", horizon=20)
        agent = make_agent(name, env, seed=9)
        curve = []
        agent.learn(env, 400, callback=lambda m: curve.append(m["train/episode_revenue"]))
        curves.append(curve)
    assert len(curves[0]) == 20
    assert curves[0] == curves[1]
