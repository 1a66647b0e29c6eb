"""Wall time of the default comparison, serially and on a process pool.

Runs ``experiments/configs/compare.toml`` (or ``--config``) into fresh temporary folders on
a process pool with ``--workers`` workers and with the serial backend, ``--repeat`` times
each in alternating order. It checks that both give the same records and prints the wall
times and the pool's speed-up over serial. Figures are not drawn; the table is, as in ``pricing-sim compare``.

    python benchmarks/bench_compare.py --workers 2 --repeat 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from experiments.config import DEFAULT_CONFIG, load_config
from experiments.results import load_records, write_report
from experiments.runner import run_experiment


def timed_run(config, out: Path, backend: str, workers: int) -> float:
    started = time.perf_counter()
    summary = run_experiment(config, out, backend=backend, workers=workers, progress=False)
    write_report(out, figures=False)
    elapsed = time.perf_counter() - started
    if summary.failures:
        raise RuntimeError(f"{len(summary.failures)} runs failed with the {backend} backend")
    return elapsed


def sorted_evaluations(out: Path) -> pd.DataFrame:
    frame = load_records(out).evaluations
    return frame.sort_values(["run_id", "eval_index"]).reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="experiment config (default: compare.toml)")
    parser.add_argument("--workers", type=int, default=2, help="process-pool workers (default: 2)")
    parser.add_argument("--seeds", type=int, help="override the config's seeds with 0..N-1")
    parser.add_argument("--skip-serial", action="store_true", help="time only the process pool")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per backend, in alternating order (default: 1)")
    args = parser.parse_args()

    config = load_config(args.config)
    if args.seeds:
        config = config.with_seeds(args.seeds)
    backends = ["process"] if args.skip_serial else ["process", "serial"]
    load_before = os.getloadavg()

    # Alternate the order (pool, serial, serial, pool, ...) so that a change in the shared
    # machine's load does not favour one backend; the minimum of each backend is reported.
    times: dict[str, list[float]] = {backend: [] for backend in backends}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeat):
            order = backends if repeat % 2 == 0 else backends[::-1]
            for backend in order:
                out = Path(tmp) / f"{backend}-{repeat}"
                times[backend].append(timed_run(config, out, backend, args.workers if backend == "process" else 1))
        if not args.skip_serial:
            pd.testing.assert_frame_equal(sorted_evaluations(Path(tmp) / "serial-0"), sorted_evaluations(Path(tmp) / "process-0"))

    result = {
        "config": str(args.config.name),
        "runs": len(config.agents) * len(config.seeds),
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
        "pool_seconds": [round(value, 1) for value in times["process"]],
    }
    if not args.skip_serial:
        result.update(
            serial_seconds=[round(value, 1) for value in times["serial"]],
            speedup_of_minimums=round(min(times["serial"]) / min(times["process"]), 2),
            identical_records=True,
        )
    result.update(
        date=dt.date.today().isoformat(),
        load_average_before=[round(value, 1) for value in load_before],
        load_average_after=[round(value, 1) for value in os.getloadavg()],
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
