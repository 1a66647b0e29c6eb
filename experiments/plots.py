"""Figures of a comparison, drawn with matplotlib's Agg backend and saved as PNG and SVG.

- ``revenue``: evaluation revenue per episode over training steps, mean over seeds with a
  95% confidence band, and the oracle's revenue as a dashed line.
- ``cumulative_regret``: oracle minus realized revenue, summed over training episodes.
- ``final_revenue``: revenue after training, one bar per agent with its 95% interval.
- ``prices``: the mean price of the evaluation episodes over training, and the price path of
  the first evaluation episode after training (without the random baseline, whose path
  would hide the others).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

FORMATS = ("png", "svg")
BASELINE_STYLES = {"oracle": "--", "best-fixed": ":", "random": "-."}


def plot_all(summary, out_dir: str | Path, title: str | None = None) -> list[Path]:
    """Draw every figure of a ``Summary`` into ``out_dir``; return the files written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = {
        "revenue": plot_revenue_curves(summary.curves, summary.table),
        "cumulative_regret": plot_cumulative_regret(summary.curves, summary.table),
        "final_revenue": plot_final_revenue(summary.table),
        "prices": plot_prices(summary.curves, summary.prices, summary.table),
    }
    written = []
    for name, figure in figures.items():
        if title:
            figure.suptitle(title)
        figure.tight_layout()
        for extension in FORMATS:
            path = out_dir / f"{name}.{extension}"
            tmp = path.with_name(f".{path.name}.tmp")
            figure.savefig(tmp, dpi=120, format=extension)
            tmp.replace(path)
            written.append(path)
        plt.close(figure)
    return written


def _agent_style(table: pd.DataFrame, label: str) -> str:
    agent = table.loc[table["label"] == label, "agent"]
    return BASELINE_STYLES.get(str(agent.iloc[0]) if not agent.empty else "", "-")


def _band(axis, x, mean, low, high, label: str, style: str) -> None:
    (line,) = axis.plot(x, mean, style, label=label, linewidth=1.5)
    valid = np.isfinite(low) & np.isfinite(high)
    if valid.any():
        axis.fill_between(x[valid], low[valid], high[valid], color=line.get_color(), alpha=0.2, linewidth=0)


def plot_revenue_curves(curves: pd.DataFrame, table: pd.DataFrame):
    """Revenue per evaluation episode against training steps, with 95% bands over seeds."""
    figure, axis = plt.subplots(figsize=(8, 5))
    for label, group in curves.groupby("label", sort=False):
        _band(
            axis,
            group["step"].to_numpy(),
            group["revenue_mean"].to_numpy(),
            group["revenue_low"].to_numpy(),
            group["revenue_high"].to_numpy(),
            label,
            _agent_style(table, label),
        )
    axis.set_xlabel("training steps")
    axis.set_ylabel("revenue per evaluation episode")
    axis.legend(fontsize="small", ncol=2)
    axis.grid(alpha=0.3)
    return figure


def plot_cumulative_regret(curves: pd.DataFrame, table: pd.DataFrame):
    """Cumulative training regret against training steps, with 95% bands over seeds."""
    figure, axis = plt.subplots(figsize=(8, 5))
    for label, group in curves.groupby("label", sort=False):
        if group["cumulative_regret_mean"].isna().all():
            continue
        _band(
            axis,
            group["step"].to_numpy(),
            group["cumulative_regret_mean"].to_numpy(),
            group["cumulative_regret_low"].to_numpy(),
            group["cumulative_regret_high"].to_numpy(),
            label,
            _agent_style(table, label),
        )
    axis.set_xlabel("training steps")
    axis.set_ylabel("cumulative regret (oracle - revenue, summed over training episodes)")
    axis.legend(fontsize="small", ncol=2)
    axis.grid(alpha=0.3)
    return figure


def plot_final_revenue(table: pd.DataFrame):
    """Revenue after training, one bar per agent with its 95% interval over seeds."""
    figure, axis = plt.subplots(figsize=(8, 5))
    positions = np.arange(len(table))
    means = table["revenue"].to_numpy(dtype=float)
    low = table["revenue_low"].to_numpy(dtype=float)
    high = table["revenue_high"].to_numpy(dtype=float)
    errors = np.vstack([means - low, high - means])
    errors = np.where(np.isfinite(errors), errors, 0.0)
    colors = ["tab:red" if flag else "tab:blue" for flag in table["flag"]]
    axis.bar(positions, means, yerr=errors, capsize=4, color=colors)
    axis.set_xticks(positions, table["label"], rotation=30, ha="right")
    axis.set_ylabel("revenue per evaluation episode after training")
    axis.grid(alpha=0.3, axis="y")
    return figure


def plot_prices(curves: pd.DataFrame, prices: pd.DataFrame, table: pd.DataFrame):
    """Mean evaluation price over training, and the price path of an episode after training."""
    figure, (over_training, in_episode) = plt.subplots(1, 2, figsize=(12, 5))
    for label, group in curves.groupby("label", sort=False):
        _band(
            over_training,
            group["step"].to_numpy(),
            group["price_mean_mean"].to_numpy(),
            group["price_mean_low"].to_numpy(),
            group["price_mean_high"].to_numpy(),
            label,
            _agent_style(table, label),
        )
    over_training.set_xlabel("training steps")
    over_training.set_ylabel("mean price in evaluation episodes")
    over_training.grid(alpha=0.3)

    if not prices.empty:
        for label, group in prices.groupby("label", sort=False):
            if _agent_style(table, label) == BASELINE_STYLES["random"]:
                continue  # a random path hides every other line
            _band(
                in_episode,
                group["period"].to_numpy(),
                group["price_mean"].to_numpy(),
                group["price_low"].to_numpy(),
                group["price_high"].to_numpy(),
                label,
                _agent_style(table, label),
            )
    in_episode.set_xlabel("period of the first evaluation episode after training")
    in_episode.set_ylabel("price")
    in_episode.grid(alpha=0.3)
    in_episode.legend(fontsize="small", ncol=2)
    return figure
