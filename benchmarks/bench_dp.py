"""Solve time of the Inventory-v0 dynamic program: C = 100 units, T = 1000 periods, 50 prices.

Times ``envs.oracles.solve_inventory_dp`` (logit demand alpha=4, beta=0.6, 0.25 customers
per period, so that about 170 units would sell over 1000 periods at the unconstrained
optimum and the stock of 100 binds; 50 prices evenly spaced on [1, 10]) and reports the median of several solves,
with BLAS limited to ``--threads`` threads (default 1, because on a shared machine a
multi-threaded BLAS can run many times slower on these small matrices). Target: well
under one second.

    python benchmarks/bench_dp.py [--stock 100] [--horizon 1000] [--prices 50] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stock", type=int, default=100, help="initial stock C (units)")
    parser.add_argument("--horizon", type=int, default=1000, help="periods T")
    parser.add_argument("--prices", type=int, default=50, help="number of prices on [1, 10]")
    parser.add_argument("--repeats", type=int, default=5, help="solves; the median is reported")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    args = parser.parse_args()

    if "numpy" in sys.modules:
        raise RuntimeError("numpy was imported before the BLAS thread count was set")
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)

    import statistics
    import time

    import numpy as np

    from envs.demand import LogitDemand
    from envs.oracles import solve_inventory_dp

    prices = np.linspace(1.0, 10.0, args.prices)
    means = LogitDemand(4.0, 0.6, 0.25).expected_demand(prices)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        values, _ = solve_inventory_dp(prices, means, args.stock, args.horizon)
        times.append(time.perf_counter() - start)
    print(f"C={args.stock}, T={args.horizon}, {args.prices} prices, BLAS threads {args.threads}: "
          f"median {statistics.median(times) * 1e3:.1f} ms, min {min(times) * 1e3:.1f} ms, "
          f"max {max(times) * 1e3:.1f} ms over {args.repeats} solves; "
          f"optimal expected revenue {values[args.horizon, args.stock]:.2f}")


if __name__ == "__main__":
    main()
