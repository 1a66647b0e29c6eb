"""``pricing-sim tune CONFIG --agent NAME --trials N``: hyperparameter search with Optuna."""

from __future__ import annotations

import argparse
from pathlib import Path

from experiments.commands.run import DEFAULT_OUT_ROOT, _positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune",
        help="search an agent's hyperparameters on a config's market with Optuna",
        description=(
            "Search the hyperparameters of one agent of CONFIG with Optuna's TPE sampler, "
            "maximizing the mean evaluation revenue after training on the search seeds. The best "
            "hyperparameters and the config's own are then scored on held-out seeds that the "
            "search never used. Search spaces come from the config's [tune.<label>] tables or "
            "built-in defaults."
        ),
    )
    parser.add_argument("config", type=Path, metavar="CONFIG", help="TOML experiment config")
    parser.add_argument("--agent", required=True, metavar="NAME", help="label or name of the agent to tune")
    parser.add_argument("--trials", required=True, type=_positive_int, metavar="N", help="number of Optuna trials")
    parser.add_argument(
        "--search-seeds", type=_positive_int, default=3, metavar="N", help="seeds per trial, 0..N-1 (default: 3)"
    )
    parser.add_argument(
        "--holdout-seeds",
        type=_positive_int,
        default=5,
        metavar="N",
        help="held-out seeds for the final score, numbered after the search seeds (default: 5)",
    )
    parser.add_argument(
        "--sampler-seed", type=int, default=0, metavar="SEED", help="seed of the TPE sampler (default: 0)"
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help=f"output folder (default: {DEFAULT_OUT_ROOT}/tune-<config>-<agent>)"
    )
    parser.add_argument(
        "--backend",
        choices=("serial", "process", "ray"),
        default="serial",
        help="where the seeds of each trial run (default: serial)",
    )
    parser.add_argument("--workers", type=_positive_int, metavar="N", help="parallel jobs (default: one per core)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from experiments.config import ConfigError
    from experiments.runner import check_agents, load_checked_config
    from experiments.tuning import find_agent, format_tuning, tune, write_tuning

    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out} is a file, not a folder; choose a new or existing folder")
    config = load_checked_config(args.config)
    agent = find_agent(config, args.agent)
    try:
        check_agents(config.model_copy(update={"agents": [agent]}))
    except ConfigError as error:
        # The copy lists only the tuned agent, so config paths would not match the file.
        reasons = "; ".join(message for _, message in error.errors)
        raise ValueError(f"--agent {args.agent!r} cannot be built on the market of {args.config}: {reasons}") from error

    result = tune(
        config,
        args.agent,
        trials=args.trials,
        search_seeds=args.search_seeds,
        holdout_seeds=args.holdout_seeds,
        sampler_seed=args.sampler_seed,
        backend=args.backend,
        workers=args.workers,
        progress=not args.no_progress,
    )
    out_dir = args.out or DEFAULT_OUT_ROOT / f"tune-{config.name}-{result.label}"
    paths = write_tuning(result, out_dir)
    print(format_tuning(result))
    print(f"\ntrials and scores: {', '.join(str(path) for path in paths)}")
    return 0
