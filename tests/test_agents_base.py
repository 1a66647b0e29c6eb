"""The shared training loop of agents.base.BaseAgent."""

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the markets)
from agents import make_agent


class RecordRewards(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.rewards = []

    def step(self, action):
        result = super().step(action)
        self.rewards.append(result[1])
        return result


def test_callback_reports_raw_episode_reward():
    # With a unit cost the reward is profit and info["revenue"] is larger, so summing the
    # wrong one fails this test.
    env = RecordRewards(gym.make("PricingSim/SingleProduct-v0", horizon=10, unit_cost=2.0))
    agent = make_agent("random", env, seed=3)
    reported = []
    agent.learn(env, 30, callback=lambda metrics: reported.append(metrics["train/episode_revenue"]))

    assert len(reported) == 3
    np.testing.assert_allclose(reported, np.add.reduceat(env.rewards, [0, 10, 20]))


def test_callback_returning_false_stops_training():
    env = gym.make("PricingSim/SingleProduct-v0", horizon=10)
    agent = make_agent("random", env, seed=0)
    agent.learn(env, 100, callback=lambda metrics: False)
    assert agent.num_timesteps == 10


@pytest.mark.parametrize("steps", [-1, 2.5, "10"])
def test_learn_rejects_invalid_step_count(steps):
    env = gym.make("PricingSim/SingleProduct-v0", horizon=10)
    agent = make_agent("random", env, seed=0)
    with pytest.raises(ValueError, match="total_steps must be a non-negative integer"):
        agent.learn(env, steps)


# Every agent built on BaseAgent, with the arguments it needs; the SB3 agents check spaces in SB3.
BASE_AGENTS = {
    "oracle": {}, "best-fixed": {}, "fixed": {"price": 5.0}, "random": {}, "epsilon-greedy": {},
    "ucb1": {}, "thompson": {}, "thompson-gaussian": {}, "q-learning": {}, "sarsa": {},
    "double-q": {}, "predict-optimize": {},
}


@pytest.mark.parametrize("name", sorted(BASE_AGENTS))
def test_learn_on_other_market_rejected(name):
    agent = make_agent(name, gym.make("PricingSim/SingleProduct-v0"), seed=0, **BASE_AGENTS[name])
    with pytest.raises(ValueError, match=f"{name} was built for action space Discrete\\(19\\)"):
        agent.learn(gym.make("PricingSim/Inventory-v0"), 5)


@pytest.mark.parametrize("name", ["q-learning", "dqn"])
def test_learn_rejects_boolean_step_count(name):
    # bool is a subclass of int, so True would otherwise train for one step.
    env = gym.make("PricingSim/SingleProduct-v0")
    agent = make_agent(name, env, seed=0)
    with pytest.raises(ValueError, match="total_steps must be a non-negative integer, got True"):
        agent.learn(env, True)
