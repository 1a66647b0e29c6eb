"""Pricing agents: baselines, bandits, tabular and deep reinforcement learning.

Build one by name with ``make_agent("q-learning", env, seed=0)``; ``available_agents()``
lists the names. Deep-learning modules are imported only when such an agent is built.
"""

from agents.base import Agent, BaseAgent, TrainingCallback
from agents.registry import available_agents, load_agent, make_agent

__all__ = ["Agent", "BaseAgent", "TrainingCallback", "available_agents", "load_agent", "make_agent"]
