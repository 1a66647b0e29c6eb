"""``pricing-sim qtable``: train (or load) a tabular agent and draw its Q-table and price path."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

TABULAR_AGENTS = ("q-learning", "sarsa", "double-q")


def _key_value(text: str) -> tuple[str, Any]:
    """Parse KEY=VALUE, reading VALUE as JSON when it parses (numbers, lists, true) else as text."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "qtable",
        help="train or load a tabular agent and plot its Q-table and learned price path",
        description=(
            "Train a tabular agent (or load one saved earlier) on a market, then write "
            "q_table.png (a heatmap of Q(state, price) with the greedy price of each state "
            "marked) and price_path.png (the greedy policy's prices over one episode beside the "
            "oracle's) to --out, with the trained agent as agent.npz."
        ),
    )

    parser.add_argument("--agent", choices=TABULAR_AGENTS, default="q-learning", help="tabular agent to train")
    parser.add_argument("--env", default="PricingSim/SingleProduct-v0", help="Gymnasium id of the market")
    parser.add_argument(
        "--env-arg", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
        help="market constructor argument, repeatable (VALUE read as JSON when it parses), e.g. horizon=100",
    )

    parser.add_argument("--steps", type=int, default=50_000, help="training steps (market periods); default 50000")
    parser.add_argument("--seed", type=int, default=0, help="seed of the agent and of the plotted episode")
    parser.add_argument(
        "--bins", type=int, nargs="+", metavar="N",
        help="bins per observation component (one number, or one per component)",
    )
    parser.add_argument(
        "--set", action="append", type=_key_value, default=[], metavar="KEY=VALUE", dest="hyperparameters",
        help="agent hyperparameter, repeatable, e.g. gamma=0.5 or epsilon_decay_steps=5000",
    )

    parser.add_argument(
        "--load", type=Path, metavar="FILE",
        help="plot a tabular agent saved earlier (.npz, any of the three kinds) instead of training",
    )
    parser.add_argument("--out", type=Path, default=Path("qtable-out"), help="output folder; default ./qtable-out")
    parser.add_argument("--all-states", action="store_true", help="draw unvisited states in the heatmap too")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import gymnasium as gym

    import envs  # noqa: F401  (registers the PricingSim markets)
    from agents.plots import plot_price_path, plot_q_table
    from agents.registry import make_agent
    from agents.tabular import TabularAgent

    if args.steps < 0:
        raise ValueError(f"--steps must be non-negative, got {args.steps}")
    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {str(args.out)!r} is a file, not a folder; choose a new or existing folder")
    try:
        env = gym.make(args.env, **dict(args.env_arg))
    except gym.error.Error as error:
        # Gymnasium's lookup errors (unknown id or namespace) derive from Exception only.
        raise ValueError(
            f"--env {args.env!r} is not a registered market ({error}); `pricing-sim list` shows the ids"
        ) from error

    if args.load is not None:
        # The file names its agent, so --agent is not needed to load it.
        agent = TabularAgent.load(args.load, env=env)
    else:
        hyperparameters = dict(args.hyperparameters)
        if args.bins is not None:
            hyperparameters["bins"] = args.bins[0] if len(args.bins) == 1 else args.bins
        agent = make_agent(args.agent, env, seed=args.seed, **hyperparameters)
        agent.learn(env, args.steps)

    args.out.mkdir(parents=True, exist_ok=True)
    if args.load is None:
        agent.save(args.out / "agent.npz")
    price_grid = env.unwrapped.price_grid
    plot_q_table(agent, price_grid=price_grid, only_visited=not args.all_states).savefig(args.out / "q_table.png", dpi=110)
    plot_price_path(agent, env, seed=args.seed).savefig(args.out / "price_path.png", dpi=110)

    print(f"{agent.name}: {agent.num_timesteps} steps, Q-table {agent.n_states} states x {agent.n_actions} prices "
          f"= {agent.table_size} entries, {100 * agent.visited_state_share:.1f}% of states visited")
    print(f"wrote {args.out / 'q_table.png'} and {args.out / 'price_path.png'}")
    return 0
