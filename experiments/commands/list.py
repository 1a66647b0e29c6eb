"""``pricing-sim list``: the market ids, agents and shipped configs, one line each."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list market ids, agents and shipped configs",
        description="Print every registered market id, agent name and shipped config, one line each.",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    for kind, name, description in list_entries():
        print(f"{kind:<7}{name:<30}{description}")
    return 0


def list_entries() -> list[tuple[str, str, str]]:
    """Return (kind, name, one-line description) for every market, agent and shipped config."""
    import gymnasium

    import envs
    from agents.registry import available_agents
    from experiments.config import shipped_configs

    entries = []
    for env_id in envs.ENV_IDS:
        entries.append(("env", env_id, _env_summary(gymnasium.spec(env_id).entry_point)))
    for name, description in available_agents().items():
        entries.append(("agent", name, description))
    for name, path in shipped_configs().items():
        entries.append(("config", name, str(path)))
    return entries


def _env_summary(entry_point) -> str:
    """Return the first docstring line of a market class, or why it cannot be imported."""
    import importlib

    if not isinstance(entry_point, str):
        return (entry_point.__doc__ or "").strip().splitlines()[0] if entry_point.__doc__ else ""
    module_name, class_name = entry_point.split(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        return f"(not available: {error})"
    doc = (cls.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""
