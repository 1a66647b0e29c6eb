"""Market-steps per second of the SingleProduct vector env on one core.

Steps ``SingleProductVectorEnv`` with 4,096 markets (default market, horizon 100, NEXT_STEP
autoreset, so resets are included) on one CPU core, and the scalar ``SingleProductEnv``
in the same process, with and without the ``gymnasium.make`` wrappers. Prints the median
over rounds. Target: at least 5 million market-steps per second.

    python benchmarks/bench_vector.py [--num-envs 4096] [--steps 300] [--rounds 5]
"""

from __future__ import annotations

import os

# One core: pin the process and keep numerical libraries single-threaded. Both must happen
# before numpy is imported.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import envs  # noqa: E402,F401  (registers the markets)
from envs.single_product import SingleProductEnv  # noqa: E402
from envs.vector import SingleProductVectorEnv  # noqa: E402


def vector_rate(num_envs: int, n_steps: int, seed: int, **kwargs) -> float:
    """Return market-steps per second of the vector env."""
    vector = SingleProductVectorEnv(num_envs=num_envs, **kwargs)
    vector.reset(seed=seed)
    rng = np.random.default_rng(seed)
    space = vector.single_action_space
    if isinstance(space, gym.spaces.Discrete):
        actions = [rng.integers(0, space.n, size=num_envs) for _ in range(16)]
    else:
        actions = [rng.uniform(-1, 1, size=(num_envs, 1)).astype(np.float32) for _ in range(16)]
    vector.step(actions[0])  # build the sampler's lookup table outside the timing
    start = time.perf_counter()
    for i in range(n_steps):
        vector.step(actions[i & 15])
    return num_envs * n_steps / (time.perf_counter() - start)


def scalar_rate(n_steps: int, seed: int, wrapped: bool) -> float:
    """Return steps per second of one scalar env (through gym.make when ``wrapped``)."""
    env = gym.make("PricingSim/SingleProduct-v0") if wrapped else SingleProductEnv()
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(1024)]
    env.reset(seed=seed)
    env.step(actions[0])  # lazy set-up (the oracle behind info) stays outside the timing
    start = time.perf_counter()
    for i in range(n_steps):
        _, _, terminated, truncated, _ = env.step(actions[i & 1023])
        if terminated or truncated:
            env.reset()
    return n_steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-envs", type=int, default=4096, help="markets in the vector env")
    parser.add_argument("--steps", type=int, default=300, help="vector steps per round")
    parser.add_argument("--scalar-steps", type=int, default=200_000, help="scalar steps per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported")
    args = parser.parse_args()

    rates: dict[str, list[float]] = {
        "vector, discrete": [],
        "vector, continuous": [],
        "vector, reference-price": [],
        "scalar, unwrapped": [],
        "scalar, gym.make": [],
    }
    for seed in range(args.rounds):
        rates["vector, discrete"].append(vector_rate(args.num_envs, args.steps, seed))
        rates["vector, continuous"].append(
            vector_rate(args.num_envs, max(args.steps // 5, 1), seed, action_type="continuous")
        )
        rates["vector, reference-price"].append(
            vector_rate(args.num_envs, max(args.steps // 10, 1), seed, demand="reference-price")
        )
        rates["scalar, unwrapped"].append(scalar_rate(args.scalar_steps, seed, wrapped=False))
        rates["scalar, gym.make"].append(scalar_rate(args.scalar_steps, seed, wrapped=True))

    medians = {name: statistics.median(values) for name, values in rates.items()}
    reference = medians["scalar, gym.make"]
    print(f"cores used: 1 (affinity {sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else 'n/a'}), "
          f"num_envs {args.num_envs}")
    print(f"{'configuration':26s} {'market-steps/s':>15s} {'ratio to scalar gym.make':>25s}")
    for name, median in medians.items():
        print(f"{name:26s} {median:15,.0f} {median / reference:25.1f}")
    print("target: vector, discrete >= 5,000,000 market-steps/s")


if __name__ == "__main__":
    main()
