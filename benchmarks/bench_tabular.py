"""Tabular Q-learning updates per second: the readable reference loop against the batch fast path.

Both apply the same random transitions to a Q-table of 100 states x 19 prices with the
polynomial alpha schedule. The reference calls ``QLearningAgent.update`` once per transition;
the fast path calls ``QLearningAgent.update_batch`` on arrays of transitions. Timings are the
best of ``--repeats`` runs on one process, and numpy's operations here run on one core.

A second table times whole training loops on ``PricingSim/SingleProduct-v0`` (market steps
included): ``learn`` on one market against ``learn_vectorized`` on the vector market.

    python benchmarks/bench_tabular.py [--transitions 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform
import time

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers the PricingSim markets)
from agents.common import SpacesOnly
from agents.tabular import QLearningAgent

N_STATES = 100
N_ACTIONS = 19


def make_agent() -> QLearningAgent:
    env = SpacesOnly(gym.spaces.Discrete(N_ACTIONS), gym.spaces.Discrete(N_STATES))
    return QLearningAgent(env, seed=0, gamma=0.9, alpha_schedule="polynomial")


def make_transitions(n: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return (
        rng.integers(N_STATES, size=n),
        rng.integers(N_ACTIONS, size=n),
        rng.normal(70.0, 18.0, size=n),
        rng.integers(N_STATES, size=n),
        np.zeros(n, dtype=bool),
    )


def time_reference(transitions: tuple[np.ndarray, ...]) -> float:
    agent = make_agent()
    # Python scalars, as the interaction loop passes them.
    rows = list(zip(*(column.tolist() for column in transitions)))
    start = time.perf_counter()
    for state, action, reward, next_state, terminated in rows:
        agent.update(state, action, reward, next_state, terminated)
    return time.perf_counter() - start


def time_batch(transitions: tuple[np.ndarray, ...], batch_size: int) -> float:
    agent = make_agent()
    n = transitions[0].size
    start = time.perf_counter()
    for begin in range(0, n, batch_size):
        agent.update_batch(*(column[begin : begin + batch_size] for column in transitions))
    return time.perf_counter() - start


def time_training(num_envs: int | None, steps: int) -> float:
    """Seconds to train Q-learning (one state) for ``steps`` transitions on SingleProduct-v0."""
    env = gym.make("PricingSim/SingleProduct-v0")
    agent = QLearningAgent(env, seed=0, gamma=0.5, bins=1)
    start = time.perf_counter()
    if num_envs is None:
        agent.learn(env, steps)
    else:
        vector_env = gym.make_vec(
            "PricingSim/SingleProduct-v0", num_envs=num_envs, vectorization_mode="vector_entry_point"
        )
        agent.learn_vectorized(vector_env, steps)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, default=1_000_000, help="transitions per fast-path run")
    parser.add_argument("--reference-transitions", type=int, default=100_000, help="transitions per reference run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; the best is kept")
    args = parser.parse_args()

    reference = make_transitions(args.reference_transitions)
    reference_rate = args.reference_transitions / min(time_reference(reference) for _ in range(args.repeats))
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"Q-table {N_STATES} states x {N_ACTIONS} actions, {args.transitions:,} transitions")
    print(f"{'implementation':<32}{'updates/s':>14}{'x reference':>14}")
    print(f"{'reference loop (update)':<32}{reference_rate:>14,.0f}{1.0:>14.1f}")

    transitions = make_transitions(args.transitions)
    for batch_size in (1_000, 10_000, 100_000, 1_000_000):
        if batch_size > args.transitions:
            continue
        seconds = min(time_batch(transitions, batch_size) for _ in range(args.repeats))
        rate = args.transitions / seconds
        label = f"update_batch, batch {batch_size:,}"
        print(f"{label:<32}{rate:>14,.0f}{rate / reference_rate:>14.1f}")

    print()
    print(f"{'training loop on SingleProduct-v0':<40}{'steps/s':>12}{'x learn':>10}")
    loop_steps = 50_000
    loop_rate = loop_steps / min(time_training(None, loop_steps) for _ in range(args.repeats))
    print(f"{'learn (one market)':<40}{loop_rate:>12,.0f}{1.0:>10.1f}")
    for num_envs in (64, 1024):
        steps = 1_000_000
        rate = steps / min(time_training(num_envs, steps) for _ in range(args.repeats))
        label = f"learn_vectorized ({num_envs} markets)"
        print(f"{label:<40}{rate:>12,.0f}{rate / loop_rate:>10.1f}")


if __name__ == "__main__":
    main()
