"""``pricing-sim run CONFIG``: run the experiment a TOML config describes, then report it.

The options shared with ``compare`` live here: ``add_run_options`` and ``run_and_report``.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

DEFAULT_OUT_ROOT = Path("runs")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the experiment a config describes",
        description=(
            "Train and evaluate every agent of CONFIG on its market for every seed, then write "
            "the records, the summary table and the figures to the output folder. Rerunning the "
            "same command skips runs that finished."
        ),
    )
    parser.add_argument("config", type=Path, metavar="CONFIG", help="TOML experiment config")
    add_run_options(parser)
    parser.set_defaults(handler=handle)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Add the options shared by ``run`` and ``compare``."""
    parser.add_argument(
        "--seeds", type=_positive_int, metavar="N", help="run the seeds 0..N-1 instead of the config's seeds"
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"output folder (default: {DEFAULT_OUT_ROOT}/<config name>); an existing one is resumed",
    )
    parser.add_argument(
        "--backend",
        choices=("process", "serial", "ray"),
        default="process",
        help="where jobs run: local worker processes (default), this process, or a Ray cluster",
    )
    parser.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="parallel jobs for the process and local Ray backends (default: one per core)",
    )
    parser.add_argument(
        "--address", metavar="ADDR", help="address of a running Ray cluster (with --backend ray; default: start a local one)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--no-figures", action="store_true", help="write the tables but no figures")


def handle(args: argparse.Namespace) -> int:
    from experiments.runner import load_checked_config

    return run_and_report(load_checked_config(args.config), args)


def run_and_report(config, args: argparse.Namespace) -> int:
    """Run ``config`` with the command-line options, print the table and return the exit status."""
    from experiments.results import format_table, write_report
    from experiments.runner import check_agents, describe_failures, run_experiment

    if args.seeds is not None:
        config = config.with_seeds(args.seeds)
    out_dir = args.out or DEFAULT_OUT_ROOT / config.name
    check_agents(config)

    print(
        f"{config.name}: {len(config.agents)} agents x {len(config.seeds)} seeds on {config.env.id}, "
        f"writing to {out_dir}",
        file=sys.stderr,
    )
    summary = run_experiment(
        config,
        out_dir,
        backend=args.backend,
        workers=args.workers,
        address=args.address,
        progress=not args.no_progress,
    )
    if summary.skipped:
        print(f"skipped {len(summary.skipped)} runs that had finished before", file=sys.stderr)
    if summary.failures:
        print(
            f"{len(summary.failures)} runs failed (tracebacks in {out_dir / 'manifest.json'}):\n"
            + describe_failures(summary.failures),
            file=sys.stderr,
        )
    if not summary.finished and not summary.skipped:
        return 1

    return print_report(out_dir, figures=not args.no_figures, write=write_report, fmt=format_table) or (
        1 if summary.failures else 0
    )


def print_report(out_dir: Path, figures: bool, write=None, fmt=None) -> int:
    """Aggregate ``out_dir``, print the table and where the files are; return 0."""
    if write is None or fmt is None:
        from experiments.results import format_table as fmt
        from experiments.results import write_report as write

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = write(out_dir, figures=figures)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)

    print(fmt(summary.table))
    print(f"table: {out_dir / 'summary.md'}")
    if figures:
        print(f"figures: {out_dir / 'figures'}")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value
