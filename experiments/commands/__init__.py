"""Subcommands of the ``pricing-sim`` CLI, one module each.

Every module exposes ``register(subparsers)``, which adds its parser and sets
``handler=<function(args) -> int>`` as a default. Heavy imports (torch, SB3, pandas)
belong inside the handler so that ``pricing-sim --help`` stays fast.
"""
