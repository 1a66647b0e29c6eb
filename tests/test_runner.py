"""Tests of the experiment runner: records, resume, seeds and agreement between backends.

Most tests use a stand-in market and stand-in agents defined here, which are small enough to
run a whole sweep in well under a second. ``test_real_agents_pool_matches_serial`` runs the
real SingleProduct-v0 market and the registry's agents.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

from agents.base import BaseAgent
from experiments.config import parse_config
from experiments.runner import derive_seeds, execute_job, plan_jobs, run_experiment

PRICES = np.array([2.0, 4.0, 6.0, 8.0, 10.0])
ARRIVALS = 10.0
HORIZON = 8


def purchase_probability(price: float) -> float:
    return 1.0 / (1.0 + math.exp(-(3.0 - 0.6 * price)))


class StandInMarket(gym.Env):
    """A small single-product market: Poisson(10) customers, logit purchases, five prices."""

    def __init__(self, horizon: int = HORIZON):
        self.horizon = horizon
        self.action_space = gym.spaces.Discrete(len(PRICES))
        self.observation_space = gym.spaces.Box(0.0, float(horizon), shape=(1,), dtype=np.float32)
        self.price_grid = PRICES
        self._expected = np.array([p * ARRIVALS * purchase_probability(p) for p in PRICES])
        self._t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return np.array([self.horizon], dtype=np.float32), {}

    def step(self, action):
        price = float(PRICES[int(action)])
        customers = int(self.np_random.poisson(ARRIVALS))
        units = int(self.np_random.binomial(customers, purchase_probability(price)))
        self._t += 1
        info = {
            "price": price,
            "customers": customers,
            "units_sold": units,
            "revenue": price * units,
            "oracle_revenue": float(self._expected.max()),
        }
        observation = np.array([self.horizon - self._t], dtype=np.float32)
        return observation, price * units, False, self._t >= self.horizon, info

    def oracle(self):
        return _StandInOracle(int(np.argmax(self._expected)), float(self._expected.max() * self.horizon))


class _StandInOracle:
    def __init__(self, action: int, episode_return: float):
        self._action = action
        self._return = episode_return

    def act(self, observation):
        return self._action

    def expected_return(self) -> float:
        return self._return


class StandInGreedy(BaseAgent):
    """Epsilon-greedy on mean revenue per price; ``fixed_action`` pins one price."""

    name = "greedy"
    description = "epsilon-greedy stand-in"

    def __init__(self, env, seed: int = 0, epsilon: float = 0.2, fixed_action: int | None = None, oracle: bool = False):
        super().__init__(env.action_space, env.observation_space, seed)
        self.epsilon = epsilon
        self.fixed_action = fixed_action
        self.oracle_action = env.unwrapped.oracle().act(None) if oracle else None
        self.totals = np.zeros(env.action_space.n)
        self.counts = np.zeros(env.action_space.n)

    def act(self, observation, deterministic: bool = False):
        if self.oracle_action is not None:
            return self.oracle_action
        if self.fixed_action is not None:
            return self.fixed_action
        if not deterministic and self.rng.random() < self.epsilon:
            return int(self.rng.integers(len(self.counts)))
        means = np.where(self.counts > 0, self.totals / np.maximum(self.counts, 1), np.inf)
        return int(np.argmax(means))

    def observe(self, observation, action, reward, next_observation, terminated, truncated, info):
        self.totals[action] += reward
        self.counts[action] += 1


class StandInRandom(StandInGreedy):
    name = "random"

    def act(self, observation, deterministic: bool = False):
        return int(self.rng.integers(len(self.counts)))


def make_standin_env(env_id: str, **kwargs):
    return StandInMarket(**kwargs)


def make_standin_agent(name: str, env, seed: int, **hyperparams):
    if name == "oracle":
        return StandInGreedy(env, seed, oracle=True)
    if name == "best-fixed":
        return StandInGreedy(env, seed, fixed_action=2)
    if name == "random":
        return StandInRandom(env, seed)
    if name == "greedy":
        return StandInGreedy(env, seed, **hyperparams)
    if name == "broken":
        raise RuntimeError("this agent always fails")
    raise ValueError(f"unknown stand-in agent {name!r}")


def tiny_config(**overrides):
    data = {
        "name": "tiny",
        "seed": 7,
        "seeds": 3,
        "env": {"id": "StandIn-v0", "kwargs": {"horizon": HORIZON}},
        "agents": [{"name": "greedy", "hyperparams": {"epsilon": 0.3}}],
        "training": {"steps": 96},
        "evaluation": {"every": 32, "episodes": 2},
    }
    data.update(overrides)
    return parse_config(data)


STANDINS = {"env_factory": make_standin_env, "agent_factory": make_standin_agent, "progress": False}


def read_table(out: Path, name: str) -> pd.DataFrame:
    return pd.concat(
        [pd.read_parquet(path) for path in sorted((out / "runs").glob(f"*/{name}.parquet"))], ignore_index=True
    )


def test_derived_seeds_distinct_across_runs():
    config = tiny_config(seeds=20)
    jobs = plan_jobs(config)
    market_seeds = [job.train_env_seed for job in jobs] + [s for job in jobs for s in job.eval_episode_seeds]
    assert len(set(market_seeds)) == len(market_seeds)
    assert len({job.agent_seed for job in jobs}) == len(jobs)
    assert all(0 <= job.agent_seed < 2**32 for job in jobs)


def test_derived_seeds_depend_on_every_input():
    base = derive_seeds(0, "ucb1", 2, 3)
    assert derive_seeds(0, "ucb1", 2, 3) == base
    assert derive_seeds(1, "ucb1", 2, 3)["agent_seed"] != base["agent_seed"]
    assert derive_seeds(0, "thompson", 2, 3)["agent_seed"] != base["agent_seed"]
    assert derive_seeds(0, "ucb1", 3, 3)["agent_seed"] != base["agent_seed"]


def test_reordering_agents_keeps_run_seeds():
    config = tiny_config()
    reordered = config.model_copy(update={"agents": list(reversed(config.agents))})
    original = {job.run_id: job.spec() for job in plan_jobs(config)}
    moved = {job.run_id: job.spec() for job in plan_jobs(reordered)}
    assert original == moved


def test_job_records_evaluation_points():
    config = tiny_config()
    job = plan_jobs(config)[-1]
    record = execute_job(job, make_standin_env, make_standin_agent)

    assert [row["planned_step"] for row in record.evaluations] == [0, 32, 64, 96]
    for row in record.evaluations:
        assert row["regret"] == pytest.approx(row["oracle_revenue"] - row["revenue"], abs=1e-9)
        assert row["price_min"] <= row["price_mean"] <= row["price_max"]
        assert row["price_min"] in PRICES
    # 96 steps with an 8-period horizon make 12 training episodes.
    assert len(record.training) == 12
    assert record.training[-1]["step"] == 96
    assert len(record.episode_prices) == HORIZON


def test_same_job_same_record():
    job = plan_jobs(tiny_config())[4]
    first = execute_job(job, make_standin_env, make_standin_agent)
    second = execute_job(job, make_standin_env, make_standin_agent)
    assert first.evaluations == second.evaluations
    assert first.training == second.training


def test_end_to_end_files(tmp_path):
    config = tiny_config()
    summary = run_experiment(config, tmp_path, backend="serial", **STANDINS)

    assert not summary.failures
    assert len(summary.finished) == 4 * 3  # three baselines and one agent, three seeds
    for run_id in summary.finished:
        for name in ("evaluations.parquet", "training.parquet", "prices.parquet", "run.json"):
            assert (tmp_path / "runs" / run_id / name).is_file()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    assert manifest["seeds"] == [0, 1, 2]
    assert manifest["versions"]["numpy"] == np.__version__
    assert set(manifest["runs"]) == set(summary.finished)
    assert manifest["runs"]["greedy__seed-1"]["timings"]["total_seconds"] > 0
    assert [agent["name"] for agent in manifest["config"]["agents"]] == ["oracle", "best-fixed", "random", "greedy"]

    evaluations = read_table(tmp_path, "evaluations")
    np.testing.assert_allclose(evaluations["regret"], evaluations["oracle_revenue"] - evaluations["revenue"])
    assert not list(tmp_path.rglob(".*.tmp-*"))


def test_resume_skips_finished_runs(tmp_path):
    # A sweep over a subset of the seeds stands for an interrupted one.
    run_experiment(tiny_config(seeds=[0]), tmp_path, backend="serial", **STANDINS)
    first = {path: path.stat().st_mtime_ns for path in (tmp_path / "runs").rglob("run.json")}

    summary = run_experiment(tiny_config(seeds=[0, 1]), tmp_path, backend="serial", **STANDINS)

    assert sorted(summary.skipped) == sorted(f"{label}__seed-0" for label in ("oracle", "best-fixed", "random", "greedy"))
    assert len(summary.finished) == 4
    for path, mtime in first.items():
        assert path.stat().st_mtime_ns == mtime
    evaluations = read_table(tmp_path, "evaluations")
    assert not evaluations.duplicated(["run_id", "eval_index"]).any()
    assert len(evaluations) == 8 * 4  # eight runs, four evaluation points each


def test_resume_after_kill(tmp_path):
    # Kill a real sweep after its first finished run, then rerun it to completion.
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import test_runner as t
        slow_agent = t.make_standin_agent
        def agent_factory(name, env, seed, **hyperparams):
            if name != "oracle":
                time.sleep(30)
            return slow_agent(name, env, seed, **hyperparams)
        config = t.tiny_config(seeds=[0], agents=[{{"name": "greedy"}}])
        t.run_experiment(config, {str(tmp_path)!r}, backend="serial", env_factory=t.make_standin_env,
                         agent_factory=agent_factory, progress=False)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script])
    marker = tmp_path / "runs" / "oracle__seed-0" / "run.json"
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert marker.exists()
    assert not (tmp_path / "runs" / "greedy__seed-0" / "run.json").exists()

    summary = run_experiment(tiny_config(seeds=[0], agents=[{"name": "greedy"}]), tmp_path, backend="serial", **STANDINS)
    assert summary.skipped == ["oracle__seed-0"]
    assert sorted(summary.finished) == ["best-fixed__seed-0", "greedy__seed-0", "random__seed-0"]


def test_resume_rejects_changed_settings(tmp_path):
    run_experiment(tiny_config(seeds=1), tmp_path, backend="serial", **STANDINS)
    changed = tiny_config(seeds=1, training={"steps": 64})
    with pytest.raises(ValueError, match=r"different settings \(.*train_steps.*\); choose another --out"):
        run_experiment(changed, tmp_path, backend="serial", **STANDINS)


def test_failed_job_reported_and_retried(tmp_path):
    config = tiny_config(seeds=1, agents=[{"name": "broken"}])
    summary = run_experiment(config, tmp_path, backend="serial", **STANDINS)
    assert [failure.job.run_id for failure in summary.failures] == ["broken__seed-0"]
    assert "this agent always fails" in summary.failures[0].error
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "incomplete"
    assert "broken__seed-0" in manifest["failures"]
    assert not (tmp_path / "runs" / "broken__seed-0" / "run.json").exists()


def test_invalid_backend_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown backend 'dask'; choose one of process, serial, ray"):
        run_experiment(tiny_config(), tmp_path, backend="dask")
    with pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"):
        run_experiment(tiny_config(), tmp_path, workers=0)
    with pytest.raises(ValueError, match="only used by the ray backend"):
        run_experiment(tiny_config(), tmp_path, backend="serial", address="127.0.0.1:6379")


def _records(out: Path) -> pd.DataFrame:
    frame = read_table(out, "evaluations").drop(columns=[]).sort_values(["run_id", "eval_index"])
    return frame.reset_index(drop=True)


def test_serial_and_process_pool_agree(tmp_path):
    config = tiny_config(seeds=2)
    run_experiment(config, tmp_path / "serial", backend="serial", **STANDINS)
    run_experiment(config, tmp_path / "pool", backend="process", workers=2, **STANDINS)
    pd.testing.assert_frame_equal(_records(tmp_path / "serial"), _records(tmp_path / "pool"))
    pd.testing.assert_frame_equal(
        read_table(tmp_path / "serial", "training").sort_values(["run_id", "step"]).reset_index(drop=True),
        read_table(tmp_path / "pool", "training").sort_values(["run_id", "step"]).reset_index(drop=True),
    )


def test_ray_agrees_with_serial(tmp_path):
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    import test_runner

    ray.cloudpickle.register_pickle_by_value(test_runner)
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"a local Ray instance could not start: {error}")
    try:
        config = tiny_config(seeds=2)
        run_experiment(config, tmp_path / "ray", backend="ray", **STANDINS)
    finally:
        ray.shutdown()
        ray.cloudpickle.unregister_pickle_by_value(test_runner)
    run_experiment(config, tmp_path / "serial", backend="serial", **STANDINS)
    pd.testing.assert_frame_equal(_records(tmp_path / "serial"), _records(tmp_path / "ray"))


def test_real_agents_pool_matches_serial(tmp_path):
    # The real market with a tabular agent and an SB3 agent (PyTorch) in worker processes.
    config = parse_config(
        {
            "name": "real",
            "seeds": 1,
            "env": {"id": "PricingSim/SingleProduct-v0", "kwargs": {"horizon": 10}},
            "agents": [
                {"name": "q-learning"},
                {"name": "dqn", "hyperparams": {"learning_starts": 20, "batch_size": 8, "train_freq": 2}},
            ],
            "add_baselines": False,
            "training": {"steps": 60},
            "evaluation": {"every": 30, "episodes": 2},
        }
    )
    run_experiment(config, tmp_path / "serial", backend="serial", progress=False)
    run_experiment(config, tmp_path / "pool", backend="process", workers=2, progress=False)
    serial, pool = _records(tmp_path / "serial"), _records(tmp_path / "pool")
    assert len(serial) == 2 * 3
    pd.testing.assert_frame_equal(serial, pool)


def test_agent_budget_override_recorded(tmp_path):
    agents = [{"name": "greedy"}, {"name": "greedy", "label": "short", "train_steps": 40}]
    summary = run_experiment(tiny_config(seeds=1, agents=agents), tmp_path, backend="serial", **STANDINS)
    assert not summary.failures
    evaluations = read_table(tmp_path, "evaluations")
    short = evaluations[evaluations["label"] == "short"]
    assert list(short["planned_step"]) == [0, 32, 40]
    assert list(evaluations.loc[evaluations["label"] == "greedy", "planned_step"]) == [0, 32, 64, 96]
    run = json.loads((tmp_path / "runs" / "short__seed-0" / "run.json").read_text())
    assert run["job"]["train_steps"] == 40


def test_rejected_hyperparameter_value_named():
    from experiments.config import ConfigError
    from experiments.runner import check_agents

    config = parse_config(
        {
            "env": {"kwargs": {"horizon": 5}},
            "agents": [{"name": "ucb1", "hyperparams": {"exploration": -2.0, "revenue_scale": 10.0}}],
            "seeds": 1,
            "training": {"steps": 10},
            "evaluation": {"every": 5},
        }
    )
    with pytest.raises(ConfigError) as caught:
        check_agents(config)
    assert [path for path, _ in caught.value.errors] == ["agents[0].hyperparams.exploration"]
    assert "exploration must be non-negative, got -2.0" in caught.value.errors[0][1]


def test_serial_session_records_one_worker(tmp_path):
    run_experiment(tiny_config(seeds=2), tmp_path, backend="serial", workers=4, **STANDINS)
    session = json.loads((tmp_path / "manifest.json").read_text())["sessions"][-1]
    assert session["backend"] == "serial"
    assert session["workers"] == 1


def test_agent_out_of_memory_named():
    from experiments.config import ConfigError
    from experiments.runner import check_agents

    def exhausting_factory(name, env, seed, **hyperparams):
        raise MemoryError("Unable to allocate 14.6 TiB")

    config = parse_config(
        {
            "agents": [{"name": "dqn", "hyperparams": {"buffer_size": 10**12}}],
            "seeds": 1,
            "training": {"steps": 10},
            "evaluation": {"every": 5},
            "add_baselines": False,
        }
    )
    with pytest.raises(ConfigError, match=r"agents\[0\]: agent 'dqn' could not be built in memory \(Unable to allocate"):
        check_agents(config, env_factory=make_standin_env, agent_factory=exhausting_factory)
