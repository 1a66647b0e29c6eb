"""Steps per second of SingleProduct-v0 through ``gymnasium.make``, as a ratio to CartPole-v1.

Both envs run the same loop in the same process (random actions drawn in advance, reset at
episode end), alternating in rounds so that load from other processes hits both alike.
The figure of merit is the median over rounds of SingleProduct's steps/s divided by
CartPole's. Target: at least 2.0.

    python benchmarks/bench_env_speed.py [--steps 200000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers the markets)


def steps_per_second(env_id: str, n_steps: int, seed: int = 0, **kwargs) -> float:
    """Run ``n_steps`` random steps of ``gym.make(env_id)`` and return steps per second."""
    env = gym.make(env_id, **kwargs)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(1024)]
    env.reset(seed=seed)
    env.step(actions[0])  # lazy set-up (the oracle behind info) stays outside the timing
    start = time.perf_counter()
    for i in range(n_steps):
        _, _, terminated, truncated, _ = env.step(actions[i & 1023])
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return n_steps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000, help="steps per env per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per env")
    args = parser.parse_args()

    results: dict[str, list[float]] = {"CartPole-v1": [], "PricingSim/SingleProduct-v0": [],
                                       "PricingSim/Inventory-v0": []}
    for round_index in range(args.rounds):
        for env_id in results:
            results[env_id].append(steps_per_second(env_id, args.steps, seed=round_index))

    reference = statistics.median(results["CartPole-v1"])
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"gymnasium {gym.__version__}, numpy {np.__version__}")
    print(f"{'env':32s} {'median steps/s':>15s} {'ratio to CartPole':>18s}")
    for env_id, values in results.items():
        median = statistics.median(values)
        print(f"{env_id:32s} {median:15,.0f} {median / reference:18.2f}")
    ratios = [a / b for a, b in zip(results["PricingSim/SingleProduct-v0"], results["CartPole-v1"])]
    print(f"SingleProduct/CartPole per round: {', '.join(f'{r:.2f}' for r in ratios)} "
          f"(median {statistics.median(ratios):.2f}, target >= 2.0)")


if __name__ == "__main__":
    main()
