"""Experiment runner: configs, jobs over agents and seeds, results, plots and the CLI."""
