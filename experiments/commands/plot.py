"""``pricing-sim plot RUN_DIR``: rebuild the table and figures of an output folder from its records."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plot",
        help="redraw the figures and tables of an output folder",
        description=(
            "Aggregate the finished runs of RUN_DIR (the --out folder of compare or run) and write "
            "summary.csv, summary.md, curves.csv and figures/*.png and *.svg again."
        ),
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="output folder of `compare` or `run`")
    parser.add_argument("--no-figures", action="store_true", help="write the tables but no figures")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from experiments.commands.run import print_report

    return print_report(args.run_dir, figures=not args.no_figures)
