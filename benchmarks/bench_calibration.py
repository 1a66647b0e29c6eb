"""Time and peak memory of calibration, and the comparison of the shipped panels.

Each measurement runs in a fresh subprocess so that its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) belongs to that step alone. The reference is
the time of fitting the plain logit (no per-user coefficients) on the Yogurt panel in the
same run, so the ratios are comparable across machines.

Usage::

    python benchmarks/bench_calibration.py            # timings and memory
    python benchmarks/bench_calibration.py --datasets # held-out comparison of the five panels

Targets: logit fit within 30 s, preprocessing of 1 million events within 20 s, peak memory
within 2 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

STEPS = {
    "reference: logit (no heterogeneity) on Yogurt": """
from envs.calibration import load_dataset, LogitDemandModel
data, _ = load_dataset("yogurt")
start = time.perf_counter(); LogitDemandModel(heterogeneity="none").fit(data); elapsed = time.perf_counter() - start
""",
    "logit with per-user coefficients on Tuna (13,705 choices)": """
from envs.calibration import load_dataset, LogitDemandModel
data, _ = load_dataset("tuna")
start = time.perf_counter(); LogitDemandModel().fit(data); elapsed = time.perf_counter() - start
""",
    "MLP on Tuna (13,705 choices)": """
import torch; torch.set_num_threads(2)
from envs.calibration import load_dataset
from envs.calibration.mlp import MLPDemandModel
data, _ = load_dataset("tuna")
start = time.perf_counter(); MLPDemandModel().fit(data); elapsed = time.perf_counter() - start
""",
    "preprocess 1,000,000 events": """
import numpy as np
from envs.calibration import preprocess_events
from envs.calibration.synthetic import synthetic_events
frame = synthetic_events(1_000_000, 20_000, np.linspace(-1, 1, 20), -1.0, np.random.default_rng(0))
start = time.perf_counter(); preprocess_events(frame, "synthetic"); elapsed = time.perf_counter() - start
""",
    "preprocess + logit with per-user coefficients, 1,000,000 events": """
import numpy as np
from envs.calibration import preprocess_events, LogitDemandModel
from envs.calibration.synthetic import synthetic_events
frame = synthetic_events(1_000_000, 20_000, np.linspace(-1, 1, 20), -1.0, np.random.default_rng(0))
start = time.perf_counter(); log, _ = preprocess_events(frame, "synthetic"); LogitDemandModel().fit(log)
elapsed = time.perf_counter() - start
""",
}

WRAPPER = """
import json, resource, sys, time
{body}
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": elapsed, "peak_mib": peak_mib}}))
"""


def measure(body: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", WRAPPER.format(body=body)], capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run_timings() -> None:
    results = {name: measure(body) for name, body in STEPS.items()}
    reference = results[next(iter(STEPS))]["seconds"]
    print(f"| step | seconds | ratio to reference | peak memory (MiB) |\n|---|---|---|---|")
    for name, result in results.items():
        print(f"| {name} | {result['seconds']:.2f} | {result['seconds'] / reference:.0f}x | {result['peak_mib']:.0f} |")


def run_dataset_comparison() -> None:
    import numpy as np

    from envs.calibration import DATASETS, LogitDemandModel, evaluate, load_dataset, own_price_elasticities, split_train_test

    print("| dataset | rows | users | held-out log-loss (baseline) | reduction | elasticities | users with beta_u > 0 |")
    print("|---|---|---|---|---|---|---|")
    for name in DATASETS:
        data, _ = load_dataset(name)
        train, test = split_train_test(data, 0.2, np.random.default_rng(0))
        metrics = evaluate(LogitDemandModel().fit(train), train, test)
        model = LogitDemandModel().fit(data)
        table = own_price_elasticities(model, data, n_draws=100)
        elasticities = ", ".join(f"{row.item} {row.elasticity:.2f}" for row in table.itertuples())
        positive_users = float(np.mean((model.user_price_coefficients(np.arange(data.n_users)) > 0).any(axis=1)))
        print(
            f"| {name} | {data.n_rows:,} | {data.n_users:,} | {metrics['log_loss']:.3f} ({metrics['baseline_log_loss']:.3f}) "
            f"| {metrics['log_loss_reduction']:.1%} | {elasticities} | {positive_users:.0%} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", action="store_true", help="compare the five shipped panels instead of timing")
    args = parser.parse_args()
    run_dataset_comparison() if args.datasets else run_timings()
