"""Run the jobs of an experiment (one per market, agent and seed) serially, on a process pool or on Ray.

Each job trains one agent on its own copy of the market in chunks of ``evaluation.every``
steps and evaluates it before training and after every chunk. Records go to the results
store as each job finishes, so a sweep that is killed midway resumes where it stopped.

Seeds: every job derives its seeds from ``(config.seed, agent label, run seed)`` through
``numpy.random.SeedSequence``. One child seeds the agent, one the training market and one
the evaluation episodes. The evaluation replays the same episode seeds at every evaluation
point, so a learning curve is not blurred by changing episodes. All derived market seeds of
an experiment are checked to be distinct before any job starts.

Serial, process-pool and Ray runs execute the same function on the same job and so give
identical numbers; PyTorch is held to one thread inside a job for the same reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from experiments.config import AgentConfig, ConfigError, EnvConfig, ExperimentConfig, load_config

logger = logging.getLogger(__name__)

BACKENDS = ("process", "serial", "ray")

EnvFactory = Callable[..., Any]
AgentFactory = Callable[..., Any]


@dataclass(frozen=True)
class Job:
    """One run: an agent trained and evaluated on one market with one seed."""

    run_id: str
    label: str
    agent_name: str
    agent_index: int
    hyperparams: dict[str, Any]
    env_id: str
    env_kwargs: dict[str, Any]
    seed: int
    train_steps: int
    eval_every: int
    eval_episodes: int
    deterministic: bool
    agent_seed: int
    train_env_seed: int
    eval_episode_seeds: tuple[int, ...]

    def spec(self) -> dict[str, Any]:
        """Return the job as plain data; two jobs with equal specs produce equal records.

        The agent's position in the config is left out because it changes no number.
        """
        data = asdict(self)
        del data["agent_index"]
        data["eval_episode_seeds"] = list(self.eval_episode_seeds)
        return data


@dataclass
class RunRecord:
    """The output of one finished job: evaluation points, training episodes and prices."""

    job: Job
    evaluations: list[dict[str, Any]]
    training: list[dict[str, Any]]
    episode_prices: list[dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class JobFailure:
    """A job that raised; the run is not marked finished, so a rerun retries it."""

    job: Job
    error: str
    traceback: str


@dataclass
class RunSummary:
    """The outcome of ``run_experiment``."""

    out_dir: Path
    jobs: list[Job]
    finished: list[str]
    skipped: list[str]
    failures: list[JobFailure]
    wall_seconds: float


def derive_seeds(config_seed: int, label: str, run_seed: int, n_eval_episodes: int) -> dict[str, Any]:
    """Derive the agent seed, the training-market seed and the evaluation episode seeds of one run.

    The seeds depend on the agent's label, not its position in the config, so adding,
    removing or reordering agents keeps every other run's numbers and lets a finished sweep
    resume. The agent seed has 32 bits because Stable-Baselines3 passes it to ``numpy.random.seed``.
    Market seeds have 63 bits, which makes a collision between runs practically impossible;
    ``plan_jobs`` still checks for one.
    """
    label_key = int.from_bytes(hashlib.sha256(label.encode("utf-8")).digest()[:8], "big")
    root = np.random.SeedSequence(entropy=config_seed, spawn_key=(label_key, run_seed))
    agent_sequence, train_sequence, eval_sequence = root.spawn(3)
    eval_states = eval_sequence.generate_state(n_eval_episodes, np.uint64)
    return {
        "agent_seed": int(agent_sequence.generate_state(1, np.uint32)[0]),
        "train_env_seed": int(train_sequence.generate_state(1, np.uint64)[0] >> np.uint64(1)),
        "eval_episode_seeds": tuple(int(state >> np.uint64(1)) for state in eval_states),
    }


def plan_jobs(config: ExperimentConfig) -> list[Job]:
    """Return one job per (agent, seed), agents in config order, seeds inner."""
    jobs = []
    for agent_index, agent in enumerate(config.agents):
        for run_seed in config.seeds:
            seeds = derive_seeds(config.seed, agent.display_name, run_seed, config.evaluation.episodes)
            jobs.append(
                Job(
                    run_id=f"{agent.display_name}__seed-{run_seed}",
                    label=agent.display_name,
                    agent_name=agent.name,
                    agent_index=agent_index,
                    hyperparams=dict(agent.hyperparams),
                    env_id=config.env.id,
                    env_kwargs=dict(config.env.kwargs),
                    seed=run_seed,
                    train_steps=config.train_steps_for(agent_index),
                    eval_every=config.evaluation.every,
                    eval_episodes=config.evaluation.episodes,
                    deterministic=config.evaluation.deterministic,
                    **seeds,
                )
            )

    market_seeds = [job.train_env_seed for job in jobs] + [s for job in jobs for s in job.eval_episode_seeds]
    if len(set(market_seeds)) != len(market_seeds):
        # NOTE: with 63-bit seeds this needs about 3e9 seeds to become likely; it is a guard only.
        raise RuntimeError("derived market seeds collide; change the config's `seed` field")
    return jobs


def available_cpus() -> int:
    """Return the number of CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def make_env(env_id: str, **kwargs: Any) -> Any:
    """Build a market by Gymnasium id; importing ``envs`` registers the PricingSim ids."""
    import gymnasium

    import envs  # noqa: F401  (registers the PricingSim markets)

    return gymnasium.make(env_id, **kwargs)


def make_agent(name: str, env: Any, seed: int, **hyperparams: Any) -> Any:
    """Build an agent through the agent registry."""
    from agents.registry import make_agent as registry_make_agent

    return registry_make_agent(name, env, seed, **hyperparams)


def execute_job(
    job: Job,
    env_factory: EnvFactory | None = None,
    agent_factory: AgentFactory | None = None,
) -> RunRecord:
    """Train and evaluate one agent; the same job always gives the same record."""
    env_factory = env_factory or make_env
    agent_factory = agent_factory or make_agent
    started = time.perf_counter()

    train_env = env_factory(job.env_id, **job.env_kwargs)
    eval_env = env_factory(job.env_id, **job.env_kwargs)
    try:
        train_env.reset(seed=job.train_env_seed)
        train_env.action_space.seed(job.train_env_seed % 2**32)
        agent = agent_factory(job.agent_name, train_env, job.agent_seed, **job.hyperparams)

        # Entered after the agent is built, because building an SB3 agent is what imports PyTorch.
        with _single_thread_torch():
            evaluator = _Evaluator(eval_env, job)
            training: list[dict[str, Any]] = []
            evaluations = [evaluator.evaluate(agent, planned_step=0, eval_index=0)]
            train_seconds = 0.0

            def record_episode(metrics: dict[str, float]) -> None:
                training.append(
                    {
                        "step": int(metrics["train/step"]),
                        "episode_revenue": float(metrics["train/episode_revenue"]),
                        "episode_length": int(metrics.get("train/episode_length", 0)),
                    }
                )

            planned = 0
            while planned < job.train_steps:
                chunk = min(job.eval_every, job.train_steps - planned)
                chunk_started = time.perf_counter()
                agent.learn(train_env, chunk, callback=record_episode)
                train_seconds += time.perf_counter() - chunk_started
                planned += chunk
                evaluations.append(evaluator.evaluate(agent, planned_step=planned, eval_index=len(evaluations)))
    finally:
        train_env.close()
        eval_env.close()

    for row in evaluations + training + evaluator.final_prices:
        row.update(run_id=job.run_id, label=job.label, agent=job.agent_name, seed=job.seed)
    total = time.perf_counter() - started
    timings = {
        "total_seconds": total,
        "train_seconds": train_seconds,
        "eval_seconds": evaluator.seconds,
    }
    return RunRecord(job, evaluations, training, evaluator.final_prices, timings)


class _Evaluator:
    """Plays the job's evaluation episodes and scores them against the oracle."""

    def __init__(self, env: Any, job: Job):
        self.env = env
        self.job = job
        self.seconds = 0.0
        self.final_prices: list[dict[str, Any]] = []
        self._oracle_returns: dict[int, float | None] = {}

    def evaluate(self, agent: Any, planned_step: int, eval_index: int) -> dict[str, Any]:
        started = time.perf_counter()
        revenues, oracle_returns, step_oracle_sums, lengths, prices = [], [], [], [], []
        is_final = planned_step >= self.job.train_steps

        for episode, episode_seed in enumerate(self.job.eval_episode_seeds):
            observation, _ = self.env.reset(seed=episode_seed)
            oracle_return = self._oracle_return(episode_seed)
            revenue, step_oracle, length, done = 0.0, 0.0, 0, False
            while not done:
                action = agent.act(observation, deterministic=self.job.deterministic)
                observation, reward, terminated, truncated, info = self.env.step(action)
                revenue += float(reward)
                step_oracle += float(info.get("oracle_revenue", np.nan))
                length += 1
                done = terminated or truncated
                if "price" in info:
                    price = float(info["price"])
                    prices.append(price)
                    if is_final and episode == 0:
                        self.final_prices.append({"period": length - 1, "price": price})

            revenues.append(revenue)
            step_oracle_sums.append(step_oracle)
            oracle_returns.append(step_oracle if oracle_return is None else oracle_return)
            lengths.append(length)

        revenue_mean = float(np.mean(revenues))
        oracle_mean = float(np.mean(oracle_returns))
        price_array = np.asarray(prices, dtype=float) if prices else np.full(1, np.nan)
        self.seconds += time.perf_counter() - started
        return {
            "eval_index": eval_index,
            "planned_step": planned_step,
            "step": int(getattr(agent, "num_timesteps", planned_step) or planned_step),
            "revenue": revenue_mean,
            "revenue_std": float(np.std(revenues)),
            "oracle_revenue": oracle_mean,
            "regret": oracle_mean - revenue_mean,
            "step_oracle_revenue": float(np.mean(step_oracle_sums)),
            "episode_length": float(np.mean(lengths)),
            "price_mean": float(np.mean(price_array)),
            "price_std": float(np.std(price_array)),
            "price_min": float(np.min(price_array)),
            "price_max": float(np.max(price_array)),
        }

    def _oracle_return(self, episode_seed: int) -> float | None:
        """Return the oracle's expected episode revenue from the state just reset, if the market has one."""
        if episode_seed not in self._oracle_returns:
            make_oracle = getattr(self.env.unwrapped, "oracle", None)
            value = None
            if make_oracle is not None:
                value = float(make_oracle().expected_return())
            self._oracle_returns[episode_seed] = value
        return self._oracle_returns[episode_seed]


@contextlib.contextmanager
def _single_thread_torch() -> Iterator[None]:
    """Hold PyTorch, if it is imported, to one thread so results do not depend on the thread count."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _execute_safely(
    job: Job, env_factory: EnvFactory | None, agent_factory: AgentFactory | None
) -> RunRecord | JobFailure:
    try:
        return execute_job(job, env_factory, agent_factory)
    except Exception as error:  # noqa: BLE001 (reported to the caller with its traceback)
        return JobFailure(job, f"{type(error).__name__}: {error}", traceback.format_exc())


def _init_worker() -> None:
    # One thread per process: the pool already uses every core.
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _iter_serial(jobs, env_factory, agent_factory, **_: Any):
    for job in jobs:
        yield _execute_safely(job, env_factory, agent_factory)


def _iter_process(jobs, env_factory, agent_factory, workers: int, **_: Any):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn rather than fork: forking a process that has started PyTorch threads can deadlock.
    context = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker)
    try:
        futures = [executor.submit(_execute_safely, job, env_factory, agent_factory) for job in jobs]
        for future in as_completed(futures):
            yield future.result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _iter_ray(jobs, env_factory, agent_factory, workers: int, address: str | None = None, **_: Any):
    try:
        import ray
    except ImportError as error:
        raise RuntimeError(
            "the ray backend needs Ray, which is an optional extra: pip install 'pricing-sim[ray]'"
        ) from error

    started_here = False
    if not ray.is_initialized():
        # Ray's own start-up messages show only when this package logs at INFO (-v).
        quiet = not logger.isEnabledFor(logging.INFO)
        settings = {"log_to_driver": False, "logging_level": logging.WARNING if quiet else logging.INFO}
        if address is None:
            ray.init(num_cpus=workers, include_dashboard=False, **settings)
        else:
            ray.init(address=address, **settings)
        started_here = True
    try:
        remote = ray.remote(num_cpus=1)(_execute_safely)
        pending = [remote.remote(job, env_factory, agent_factory) for job in jobs]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started_here:
            ray.shutdown()


def run_experiment(
    config: ExperimentConfig,
    out_dir: str | Path,
    backend: str = "process",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
    env_factory: EnvFactory | None = None,
    agent_factory: AgentFactory | None = None,
) -> RunSummary:
    """Run every unfinished job of ``config`` and store its records under ``out_dir``.

    Runs already finished in ``out_dir`` with the same settings are skipped, so rerunning
    after an interruption completes the sweep. A job that raises is reported in the summary
    and left unfinished; the other jobs still run.
    """
    from experiments.results import ResultStore

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if address is not None and backend != "ray":
        raise ValueError(f"an address ({address!r}) is only used by the ray backend; add --backend ray")

    started = time.perf_counter()
    store = ResultStore(out_dir)
    jobs = plan_jobs(config)
    store.start(config, jobs)

    pending = [job for job in jobs if not store.is_finished(job)]
    skipped = [job.run_id for job in jobs if job not in pending]
    if skipped:
        logger.info("skipping %d finished runs in %s", len(skipped), store.root)

    workers = 1 if backend == "serial" else workers or available_cpus()
    workers = max(1, min(workers, len(pending) or 1))
    iterate = {"serial": _iter_serial, "process": _iter_process, "ray": _iter_ray}[backend]
    if backend == "process" and workers == 1:
        iterate = _iter_serial

    finished: list[str] = []
    failures: list[JobFailure] = []
    bar = _progress_bar(len(pending), enabled=progress)
    try:
        for outcome in iterate(pending, env_factory, agent_factory, workers=workers, address=address):
            if isinstance(outcome, JobFailure):
                failures.append(outcome)
                logger.error("run %s failed: %s", outcome.job.run_id, outcome.error)
            else:
                store.write_run(outcome)
                finished.append(outcome.job.run_id)
            bar.update(1)
    finally:
        bar.close()
        wall = time.perf_counter() - started
        store.finish(config, jobs, backend=backend, workers=workers, wall_seconds=wall, failures=failures)

    return RunSummary(store.root, jobs, finished, skipped, failures, wall)


def _progress_bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="runs", unit="run", disable=not enabled or total == 0, file=sys.stderr)


def describe_failures(failures: Sequence[JobFailure]) -> str:
    """Return a short report of failed runs, one line each."""
    return "\n".join(f"  {failure.job.run_id}: {failure.error}" for failure in failures)


def check_agents(
    config: ExperimentConfig,
    env_factory: EnvFactory | None = None,
    agent_factory: AgentFactory | None = None,
) -> None:
    """Build every agent of ``config`` once, so that a bad name or hyperparameter fails before any job.

    Raises ``ConfigError`` naming the agent's config path, e.g. ``agents[2].hyperparams.epsilon``,
    and the config's file, when the agent registry (or ``agent_factory``) rejects a name or a
    hyperparameter.
    """
    env_factory = env_factory or make_env
    try:
        env = env_factory(config.env.id, **config.env.kwargs)
    except Exception as error:  # noqa: BLE001 (re-raised with the config path)
        message = f"the market could not be built: {type(error).__name__}: {error}"
        raise ConfigError([(_env_error_path(str(error), config.env.kwargs), message)], config.source) from error

    agents = [(config.agent_path(index), agent) for index, agent in enumerate(config.agents)]
    try:
        errors = _agent_errors(env, agents, agent_factory or make_agent)
    finally:
        env.close()
    if errors:
        raise ConfigError(errors, config.source)


def load_checked_config(
    path: str | Path,
    env_factory: EnvFactory | None = None,
    agent_factory: AgentFactory | None = None,
) -> ExperimentConfig:
    """Read a TOML config; when some fields are invalid, report its rejected agents in the same error.

    A config that reads without errors is returned unchecked: ``check_agents`` checks its agents.
    With invalid fields, the agents whose entries are valid are built on the config's market,
    so that one ``ConfigError`` lists the field errors and the agent errors together. This
    step is skipped when the ``[env]`` table is invalid or the market cannot be built.
    """
    try:
        return load_config(path)
    except ConfigError as error:
        raise _with_agent_errors(error, env_factory or make_env, agent_factory or make_agent) from None


def _with_agent_errors(error: ConfigError, env_factory: EnvFactory, agent_factory: AgentFactory) -> ConfigError:
    """Return ``error`` with the errors of the agents that its data's valid entries describe."""
    data = error.data
    paths = [path for path, _ in error.errors]
    if not isinstance(data, dict) or any(path == "env" or path.startswith(("env.", "<")) for path in paths):
        return error
    raw_agents = data.get("agents")
    if not isinstance(raw_agents, list):
        return error
    try:
        env_config = EnvConfig.model_validate(data.get("env", {}))
    except ValidationError:
        return error

    agents = []
    for index, raw in enumerate(raw_agents):
        path = f"agents[{index}]"
        if any(other == path or other.startswith((f"{path}.", f"{path}[")) for other in paths):
            continue
        try:
            agents.append((path, AgentConfig.model_validate(raw)))
        except ValidationError:
            continue
    if not agents:
        return error

    try:
        env = env_factory(env_config.id, **env_config.kwargs)
    except Exception:  # noqa: BLE001 (the market's error shows once the fields are fixed)
        return error
    try:
        agent_errors = _agent_errors(env, agents, agent_factory)
    finally:
        env.close()
    if not agent_errors:
        return error
    return ConfigError(error.errors + agent_errors, error.source, data)


def _agent_errors(
    env: Any, agents: Sequence[tuple[str, AgentConfig]], agent_factory: AgentFactory
) -> list[tuple[str, str]]:
    """Build each ``(config path, AgentConfig)`` agent on ``env``; return the errors with their paths."""
    errors = []
    for path, agent in agents:
        try:
            with _single_thread_torch():
                agent_factory(agent.name, env, 0, **agent.hyperparams)
        except MemoryError as error:
            errors.append(
                (
                    path,
                    f"agent {agent.name!r} could not be built in memory ({error}); lower the "
                    f"hyperparameters that size its tables or buffers (set: {agent.hyperparams})",
                )
            )
        except (ValueError, TypeError) as error:
            named = [key for key in agent.hyperparams if _names_key(str(error), key)]
            if len(named) == 1:
                key = named[0]
                path += f".hyperparams.{key}"
                message = f"{error} (value {agent.hyperparams[key]!r})"
            elif f"unknown agent {agent.name!r}" in str(error):
                path += ".name"
                message = str(error)
            else:
                message = f"agent {agent.name!r} rejected its settings: {error}"
            errors.append((path, message))
    return errors


def _env_error_path(message: str, kwargs: dict[str, Any]) -> str:
    """Return the config path of the market's keyword argument that an error names first, else ``env``.

    A message such as "min_price must be below max_price" names two arguments, and its
    subject (the first one named) is the one to fix.
    """
    positions = {}
    for key in kwargs:
        match = re.search(rf"(?<![\w.]){re.escape(key)}(?![\w])", message)
        if match is not None:
            positions[key] = match.start()
    if not positions:
        return "env"
    return f"env.kwargs.{min(positions, key=positions.__getitem__)}"


def _names_key(message: str, key: str) -> bool:
    """Return whether an agent's error message names the hyperparameter ``key`` as a whole word."""
    return repr(key) in message or re.search(rf"(?<![\w.]){re.escape(key)}(?![\w])", message) is not None


def execute_jobs(
    jobs: Sequence[Job],
    backend: str = "serial",
    workers: int | None = None,
    address: str | None = None,
    env_factory: EnvFactory | None = None,
    agent_factory: AgentFactory | None = None,
) -> list[RunRecord]:
    """Run jobs without storing them and return their records in job order.

    Raises ``RuntimeError`` with the first failure's traceback if any job fails.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    workers = max(1, min(workers or available_cpus(), len(jobs) or 1))
    iterate = {"serial": _iter_serial, "process": _iter_process, "ray": _iter_ray}[backend]
    if backend == "process" and workers == 1:
        iterate = _iter_serial

    records: dict[str, RunRecord] = {}
    for outcome in iterate(list(jobs), env_factory, agent_factory, workers=workers, address=address):
        if isinstance(outcome, JobFailure):
            raise RuntimeError(f"run {outcome.job.run_id} failed: {outcome.error}\n{outcome.traceback}")
        records[outcome.job.run_id] = outcome
    return [records[job.run_id] for job in jobs]
