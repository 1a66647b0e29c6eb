"""Pricing agents: baselines, bandits, tabular and deep reinforcement learning."""

from agents.base import Agent, BaseAgent, TrainingCallback

__all__ = ["Agent", "BaseAgent", "TrainingCallback"]
