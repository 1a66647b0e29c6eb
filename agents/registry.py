"""Build agents by name: ``make_agent("q-learning", env, seed=0, gamma=0.95)``.

Each name maps to an agent class whose constructor is ``cls(env, seed, **hyperparameters)``
with typed keyword arguments and defaults. Classes are imported only when built, so that
listing agents does not import PyTorch or Stable-Baselines3.
"""

from __future__ import annotations

import importlib
import inspect
import numbers
from pathlib import Path
from typing import Any

import gymnasium as gym

from agents.base import Agent

# name -> ("module:Class", one-line description)
_AGENTS: dict[str, tuple[str, str]] = {
    "oracle": ("agents.baselines:OracleAgent", "Optimal policy computed from the market's demand model"),
    "best-fixed": (
        "agents.baselines:BestFixedPriceAgent",
        "Best single fixed price in hindsight, from the market's demand model",
    ),
    "fixed": ("agents.baselines:FixedPriceAgent", "Posts the same price every period"),
    "random": ("agents.baselines:RandomPriceAgent", "Posts a uniformly random price every period"),
    "epsilon-greedy": (
        "agents.bandits:EpsilonGreedyAgent",
        "Epsilon-greedy bandit over the price grid (ignores the state)",
    ),
    "ucb1": ("agents.bandits:UCB1Agent", "UCB1 bandit over the price grid on normalised revenue (ignores the state)"),
    "thompson": (
        "agents.bandits:ThompsonSamplingAgent",
        "Thompson sampling, Beta-Bernoulli on purchase per customer at each price",
    ),
    "thompson-gaussian": (
        "agents.bandits:GaussianThompsonAgent",
        "Thompson sampling with a Gaussian posterior on revenue per period at each price",
    ),
    "q-learning": ("agents.tabular:QLearningAgent", "Tabular Q-learning over a discretized state and the price grid"),
    "sarsa": (
        "agents.tabular:SarsaAgent",
        "Tabular SARSA (on-policy TD control) over a discretized state and the price grid",
    ),
    "double-q": (
        "agents.tabular:DoubleQLearningAgent",
        "Tabular Double Q-learning, which removes the max-operator's upward bias",
    ),
    "dqn": ("agents.deep:DQNAgent", "Stable-Baselines3 DQN on the price grid"),
    "ppo": ("agents.deep:PPOAgent", "Stable-Baselines3 PPO on discrete or continuous prices"),
    "a2c": ("agents.deep:A2CAgent", "Stable-Baselines3 A2C on discrete or continuous prices"),
    "sac": ("agents.deep:SACAgent", "Stable-Baselines3 SAC on continuous prices"),
    "predict-optimize": (
        "agents.predict_optimize:PredictThenOptimizeAgent",
        "PyTorch demand model fitted online, pricing at the argmax of price x purchase probability",
    ),
}


def available_agents() -> dict[str, str]:
    """Return every registered agent name with its one-line description."""
    return {name: description for name, (_, description) in _AGENTS.items()}


def agent_class(name: str) -> type:
    """Return the class registered under ``name`` (importing its module)."""
    if name not in _AGENTS:
        raise ValueError(f"unknown agent {name!r}; valid agents: {', '.join(_AGENTS)}")
    module_name, class_name = _AGENTS[name][0].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def agent_hyperparameters(name: str) -> list[str]:
    """Return the hyperparameter names that ``make_agent`` accepts for ``name``."""
    cls = agent_class(name)
    custom = getattr(cls, "valid_hyperparameters", None)
    if custom is not None:
        return sorted(custom())

    # Follow **kwargs up the class hierarchy, as subclasses pass them to their parent.
    names: list[str] = []
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__).parameters
        for parameter_name, parameter in parameters.items():
            if parameter_name in ("self", "env", "seed"):
                continue
            if parameter.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
                if parameter_name not in names:
                    names.append(parameter_name)
        if not any(p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            break
    return sorted(names)


def make_agent(name: str, env: gym.Env, seed: int = 0, **hyperparameters: Any) -> Agent:
    """Build the agent ``name`` for ``env`` with its own random generator seeded by ``seed``.

    Raises:
        ValueError: for an unknown name or hyperparameter; the message lists the valid ones.
    """
    valid = agent_hyperparameters(name)
    unknown = sorted(set(hyperparameters) - set(valid))
    if unknown:
        raise ValueError(
            f"unknown hyperparameter(s) {', '.join(repr(u) for u in unknown)} for agent {name!r}; "
            f"valid hyperparameters: {', '.join(valid) if valid else '(none)'}"
        )
    _check_hyperparameter_types(name, hyperparameters)
    return agent_class(name)(env, seed=seed, **hyperparameters)


# Annotation names checked before an agent is built, with the Python types each accepts. A
# parameter whose annotation names anything else (a sequence, a schedule) is left to the agent.
_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {
    "float": (numbers.Real,),
    "int": (numbers.Integral,),
    "bool": (bool,),
    "str": (str,),
    "None": (type(None),),
}


def _check_hyperparameter_types(name: str, hyperparameters: dict[str, Any]) -> None:
    """Raise ``TypeError`` for a value whose type the parameter's annotation rules out."""
    annotations = _parameter_annotations(agent_class(name))
    for key, value in hyperparameters.items():
        annotation = annotations.get(key)
        if not isinstance(annotation, str):
            continue
        parts = [part.strip() for part in annotation.split("|")]
        if not all(part in _SIMPLE_TYPES for part in parts):
            continue
        # bool is a subclass of int, so True passes as a number unless rejected here.
        accepted = any(
            isinstance(value, _SIMPLE_TYPES[part]) and (part == "bool" or not isinstance(value, bool))
            for part in parts
        )
        if not accepted:
            raise TypeError(
                f"hyperparameter {key!r} of agent {name!r} must be {' or '.join(parts)}, "
                f"got {value!r} ({type(value).__name__})"
            )


def _parameter_annotations(cls: type) -> dict[str, Any]:
    """Return the constructor annotations of ``cls`` and the parents it passes ``**kwargs`` to."""
    annotations: dict[str, Any] = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__).parameters
        for parameter_name, parameter in parameters.items():
            if parameter.annotation is not inspect.Parameter.empty:
                annotations.setdefault(parameter_name, parameter.annotation)
        if not any(p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            break
    return annotations


def load_agent(name: str, path: str | Path, env: gym.Env | None = None) -> Agent:
    """Load an agent of kind ``name`` saved by its ``save`` method."""
    return agent_class(name).load(path, env=env)
