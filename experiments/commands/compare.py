"""``pricing-sim compare``: the main job, the shipped comparison of every agent family."""

from __future__ import annotations

import argparse
from pathlib import Path

from experiments.commands.run import add_run_options, run_and_report


def register(subparsers: argparse._SubParsersAction) -> None:
    from experiments.config import DEFAULT_CONFIG

    parser = subparsers.add_parser(
        "compare",
        help="compare the agents of the default config (or --config) against the oracle",
        description=(
            "Train the agents of a config on its market over several seeds, evaluate them against "
            "the oracle and print revenue, share of the oracle's revenue and regret with 95% "
            "confidence intervals over seeds. The oracle, best fixed price and random baselines are "
            "always included. Rerunning the same command resumes an interrupted comparison."
        ),
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        metavar="FILE",
        help=f"TOML experiment config (default: the shipped {DEFAULT_CONFIG.name})",
    )
    add_run_options(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from experiments.runner import load_checked_config

    return run_and_report(load_checked_config(args.config), args)
