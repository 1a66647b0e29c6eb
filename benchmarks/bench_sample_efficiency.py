"""Steps each agent needs to reach 95% of the oracle's revenue on the default market.

The market is ``PricingSim/SingleProduct-v0`` with its defaults (logit demand, optimal price
about 5.35, 19 grid prices, 100 periods per episode; ``action_type="continuous"`` for SAC).
Each agent trains with its registry defaults, except where ``SETTINGS`` below sets
otherwise. After every training episode, the mean revenue of the last ``WINDOW`` training
episodes (exploration included, so this is what the seller would have earned) is compared
with the oracle's expected episode revenue; the first step at which it reaches 95% is the
result. Agents that never reach it within their budget report "> budget". The first
check comes after ``WINDOW`` episodes, so 1,000 steps is the smallest possible result.

    python benchmarks/bench_sample_efficiency.py [--seeds 0 1 2] [--agents ucb1 thompson ...]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers the PricingSim markets)
from agents.registry import available_agents, make_agent

ENV_ID = "PricingSim/SingleProduct-v0"
TARGET = 0.95
WINDOW = 10

# agent -> (budget in steps, hyperparameters beyond the defaults, market arguments)
SETTINGS: dict[str, tuple[int, dict[str, Any], dict[str, Any]]] = {
    "oracle": (2_000, {}, {}),
    "best-fixed": (2_000, {}, {}),
    "random": (10_000, {}, {}),
    "epsilon-greedy": (50_000, {}, {}),
    "ucb1": (200_000, {}, {}),
    "thompson": (50_000, {}, {}),
    "thompson-gaussian": (50_000, {}, {}),
    "q-learning": (200_000, {}, {}),
    "q-learning (1 state, gamma 0.5)": (200_000, {"gamma": 0.5, "bins": 1}, {}),
    "sarsa": (200_000, {}, {}),
    "double-q": (200_000, {}, {}),
    "predict-optimize": (20_000, {}, {}),
    "dqn": (50_000, {}, {}),
    "ppo": (50_000, {}, {}),
    "a2c": (50_000, {}, {}),
    "sac": (20_000, {}, {"action_type": "continuous"}),
}


def steps_to_target(label: str, seed: int) -> tuple[int | None, float, float]:
    """Return (step reached or None, best rolling revenue share, seconds)."""
    budget, hyperparameters, market_arguments = SETTINGS[label]
    name = label.split(" ")[0]
    env = gym.make(ENV_ID, **market_arguments)
    agent = make_agent(name, env, seed=seed, **hyperparameters)
    oracle_return = env.unwrapped.oracle().expected_return()

    revenues: list[float] = []
    reached: list[int] = []
    best = [0.0]

    def callback(metrics: dict[str, float]) -> bool:
        revenues.append(metrics["train/episode_revenue"])
        if len(revenues) >= WINDOW:
            share = float(np.mean(revenues[-WINDOW:])) / oracle_return
            best[0] = max(best[0], share)
            if share >= TARGET:
                reached.append(int(metrics["train/step"]))
                return False
        return True

    start = time.perf_counter()
    agent.learn(env, budget, callback=callback)
    return (reached[0] if reached else None), best[0], time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="agent seeds")
    parser.add_argument("--agents", nargs="+", default=list(SETTINGS), help="rows of SETTINGS to run")
    args = parser.parse_args()

    unknown = [a for a in args.agents if a not in SETTINGS]
    if unknown:
        raise SystemExit(f"unknown rows {unknown}; valid rows: {list(SETTINGS)}")
    missing = {label.split(" ")[0] for label in SETTINGS} - set(available_agents())
    if missing:
        raise SystemExit(f"SETTINGS names agents that are not registered: {sorted(missing)}")

    print(f"| agent | budget | steps to {TARGET:.0%} of oracle (seeds {' '.join(map(str, args.seeds))}) "
          f"| median | best {WINDOW}-episode share, lowest seed | seconds |")
    print("|---|---|---|---|---|---|")
    for label in args.agents:
        results = [steps_to_target(label, seed) for seed in args.seeds]
        steps = [r[0] for r in results]
        per_seed = ", ".join(f"{s:,}" if s is not None else "> budget" for s in steps)
        # A seed that never reached the target counts as infinitely many steps.
        median_steps = float(np.median([np.inf if s is None else s for s in steps]))
        median = f"{int(median_steps):,}" if np.isfinite(median_steps) else "> budget"
        best = min(r[1] for r in results)
        seconds = sum(r[2] for r in results)
        print(f"| {label} | {SETTINGS[label][0]:,} | {per_seed} | {median} | {best:.3f} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
