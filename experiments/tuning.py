"""Hyperparameter search with Optuna on a config's market, scored on held-out seeds.

The search maximizes the mean evaluation revenue after training over the *search* seeds
(0..S-1). The best hyperparameters found and the config's own hyperparameters are then both
trained on the *held-out* seeds (S..S+H-1), which the search never saw, and that score is the
one reported, with a 95% bootstrap interval over the held-out seeds. The TPE sampler is
seeded, so the same command proposes the same trials.

Search spaces come from the config's ``[tune.<label>.<hyperparameter>]`` tables (see
``experiments.config.SearchDimension``) or, for agents without one, from ``DEFAULT_SPACES``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.config import AgentConfig, ExperimentConfig, SearchDimension
from experiments.runner import execute_jobs, plan_jobs

logger = logging.getLogger(__name__)


def _float(low: float, high: float, log: bool = False) -> SearchDimension:
    return SearchDimension(type="float", low=low, high=high, log=log)


_TABULAR_SPACE = {
    "alpha": _float(0.01, 0.5, log=True),
    "gamma": _float(0.5, 0.99),
    "epsilon_floor": _float(0.0, 0.2),
    "epsilon_decay_steps": _float(100.0, 20000.0, log=True),
}
_ACTOR_CRITIC_SPACE = {
    "learning_rate": _float(1e-5, 1e-2, log=True),
    "gamma": _float(0.5, 0.99),
    "ent_coef": _float(1e-5, 0.1, log=True),
}

DEFAULT_SPACES: dict[str, dict[str, SearchDimension]] = {
    "epsilon-greedy": {
        "epsilon_start": _float(0.05, 1.0),
        "epsilon_floor": _float(0.0, 0.2),
        "epsilon_decay_steps": _float(100.0, 20000.0, log=True),
    },
    "ucb1": {"exploration": _float(0.05, 5.0, log=True)},
    "thompson": {"prior_alpha": _float(0.1, 10.0, log=True), "prior_beta": _float(0.1, 10.0, log=True)},
    "q-learning": _TABULAR_SPACE,
    "sarsa": _TABULAR_SPACE,
    "double-q": _TABULAR_SPACE,
    "dqn": {
        "learning_rate": _float(1e-5, 1e-2, log=True),
        "gamma": _float(0.5, 0.99),
        "exploration_fraction": _float(0.05, 0.5),
    },
    "ppo": _ACTOR_CRITIC_SPACE,
    "a2c": _ACTOR_CRITIC_SPACE,
}
"""Search spaces used when a config has no ``[tune.<label>]`` table for the agent."""


@dataclass
class TuningResult:
    """Best hyperparameters and their held-out score next to the config's hyperparameters."""

    label: str
    agent: str
    best_params: dict[str, Any]
    search_score: float
    search_seeds: list[int]
    holdout_seeds: list[int]
    holdout_best: dict[str, Any]
    holdout_default: dict[str, Any]
    trials: Any  # pandas.DataFrame from optuna

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "agent": self.agent,
            "best_params": self.best_params,
            "search_score": self.search_score,
            "search_seeds": self.search_seeds,
            "holdout_seeds": self.holdout_seeds,
            "holdout_best": self.holdout_best,
            "holdout_default": self.holdout_default,
        }


def find_agent(config: ExperimentConfig, agent: str) -> AgentConfig:
    """Return the config's agent with this label (or name), or a new one with default settings.

    Raises ``ValueError`` naming the config's labels and the registered agents when ``agent``
    is neither.
    """
    from agents.registry import available_agents

    for candidate in config.agents:
        if agent in (candidate.display_name, candidate.name):
            return candidate
    if agent not in available_agents():
        labels = ", ".join(candidate.display_name for candidate in config.agents)
        raise ValueError(
            f"--agent {agent!r} is neither a label of the config ({labels}) nor a registered agent "
            f"({', '.join(available_agents())}); `pricing-sim list` shows the agents"
        )
    return AgentConfig(name=agent)


def search_space(config: ExperimentConfig, agent: AgentConfig) -> dict[str, SearchDimension]:
    """Return the search space of an agent: the config's table, else the built-in default."""
    for key in (agent.display_name, agent.name):
        if key in config.tune:
            return dict(config.tune[key])
    if agent.name in DEFAULT_SPACES:
        return dict(DEFAULT_SPACES[agent.name])
    raise ValueError(
        f"no search space for agent {agent.display_name!r}; add a [tune.{agent.display_name}.<hyperparameter>] "
        f"table to the config (built-in spaces exist for: {', '.join(DEFAULT_SPACES)})"
    )


def suggest(trial: Any, space: dict[str, SearchDimension]) -> dict[str, Any]:
    """Draw one value per dimension from an Optuna trial."""
    params = {}
    for name, dimension in space.items():
        if dimension.type == "categorical":
            params[name] = trial.suggest_categorical(name, dimension.choices)
        elif dimension.type == "int":
            params[name] = trial.suggest_int(name, int(dimension.low), int(dimension.high), log=dimension.log)
        else:
            params[name] = trial.suggest_float(name, dimension.low, dimension.high, log=dimension.log)
    return params


def score_agent(
    config: ExperimentConfig,
    agent: AgentConfig,
    hyperparams: dict[str, Any],
    seeds: list[int],
    backend: str = "serial",
    workers: int | None = None,
) -> dict[str, Any]:
    """Train the agent with ``hyperparams`` on each seed; return final revenues and their summary."""
    from experiments.statistics import bootstrap_ci

    single = AgentConfig(
        name=agent.name,
        label=agent.display_name,
        hyperparams={**agent.hyperparams, **hyperparams},
        train_steps=agent.train_steps,
    )
    trial_config = config.model_copy(update={"agents": [single], "seeds": list(seeds), "add_baselines": False})
    records = execute_jobs(plan_jobs(trial_config), backend=backend, workers=workers)

    revenue = np.array([record.evaluations[-1]["revenue"] for record in records])
    oracle = np.array([record.evaluations[-1]["oracle_revenue"] for record in records])
    low, high = bootstrap_ci(revenue)
    return {
        "revenue": float(revenue.mean()),
        "revenue_low": float(low),
        "revenue_high": float(high),
        "share_of_oracle": float(np.mean(revenue / oracle)),
        "per_seed": [float(value) for value in revenue],
    }


def tune(
    config: ExperimentConfig,
    agent: str,
    trials: int,
    search_seeds: int = 3,
    holdout_seeds: int = 5,
    sampler_seed: int = 0,
    backend: str = "serial",
    workers: int | None = None,
    progress: bool = False,
) -> TuningResult:
    """Search the agent's hyperparameters on the search seeds and score the result on held-out seeds."""
    import optuna

    for name, value in (("trials", trials), ("search_seeds", search_seeds), ("holdout_seeds", holdout_seeds)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")

    agent_config = find_agent(config, agent)
    space = search_space(config, agent_config)
    search = list(range(search_seeds))
    holdout = list(range(search_seeds, search_seeds + holdout_seeds))

    def objective(trial: Any) -> float:
        params = suggest(trial, space)
        score = score_agent(config, agent_config, params, search, backend, workers)
        logger.info("trial %d: %s -> %.2f", trial.number, params, score["revenue"])
        return score["revenue"]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=sampler_seed))
    study.optimize(objective, n_trials=trials, show_progress_bar=progress)

    best = dict(study.best_params)
    return TuningResult(
        label=agent_config.display_name,
        agent=agent_config.name,
        best_params=best,
        search_score=float(study.best_value),
        search_seeds=search,
        holdout_seeds=holdout,
        holdout_best=score_agent(config, agent_config, best, holdout, backend, workers),
        holdout_default=score_agent(config, agent_config, {}, holdout, backend, workers),
        trials=study.trials_dataframe(),
    )


def write_tuning(result: TuningResult, out_dir: str | Path) -> list[Path]:
    """Write ``trials.csv`` and ``best.json`` under ``out_dir``; return their paths."""
    from experiments.results import package_versions, write_text_atomic

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    trials_path = out_dir / "trials.csv"
    best_path = out_dir / "best.json"
    write_text_atomic(trials_path, result.trials.to_csv(index=False))
    data = {**result.to_dict(), "versions": package_versions()}
    write_text_atomic(best_path, json.dumps(data, indent=2) + "\n")
    return [trials_path, best_path]


def format_tuning(result: TuningResult) -> str:
    """Describe the result: held-out scores and a TOML snippet with the best hyperparameters."""

    def describe(score: dict[str, Any]) -> str:
        interval = (
            "no CI"
            if np.isnan(score["revenue_low"])
            else f"95% CI [{score['revenue_low']:.1f}, {score['revenue_high']:.1f}]"
        )
        return f"{score['revenue']:.1f} ({interval}; {100 * score['share_of_oracle']:.1f}% of oracle)"

    holdout = ", ".join(str(seed) for seed in result.holdout_seeds)
    lines = [
        f"{result.label}: best search score {result.search_score:.1f} on seeds "
        f"{', '.join(str(seed) for seed in result.search_seeds)}",
        f"held-out seeds {holdout}:",
        f"  tuned     {describe(result.holdout_best)}",
        f"  config's  {describe(result.holdout_default)}",
        "",
        "[[agents]]",
        f'name = "{result.agent}"',
        f'label = "{result.label}"',
        "hyperparams = { " + ", ".join(f"{key} = {_toml_value(value)}" for key, value in result.best_params.items()) + " }",
    ]
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)
