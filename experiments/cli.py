"""The ``pricing-sim`` command: ``pricing-sim COMMAND --help`` describes each command.

Every command lives in ``experiments/commands/<name>.py`` and exposes ``register(subparsers)``,
which adds its parser and sets ``handler=<function(args) -> int>`` as a default.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

COMMANDS = ("compare", "run", "plot", "list", "tune", "calibrate", "qtable")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of ``pricing-sim`` with one subparser per command module."""
    parser = argparse.ArgumentParser(
        prog="pricing-sim",
        description="Train pricing agents on simulated markets and compare them against the optimum.",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log progress details and show tracebacks of errors"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"experiments.commands.{name}")
        module.register(subparsers)

    # -v also works after the command; SUPPRESS keeps the top-level value when it is absent.
    for command_parser in subparsers.choices.values():
        command_parser.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
            help="log progress details and show tracebacks of errors",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pricing-sim`` with ``argv`` (default: the command line) and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print(f"pricing-sim {args.command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, RuntimeError) as error:
        if args.verbose:
            raise
        print(f"pricing-sim {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
