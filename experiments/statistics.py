"""Statistics over seeds: bootstrap confidence intervals, interquartile means and curves.

The seed is the unit of replication. Every interval is a 95% percentile bootstrap over the
per-seed values (``scipy.stats.bootstrap`` with a fixed generator, so the same records give
the same intervals), never over the episodes of one seed. With a single seed there is no
interval: the bounds are NaN and a warning says so.

Curves of different runs are interpolated onto a common grid of training steps before they
are averaged, because agents that collect experience in rollouts (PPO, for example) may stop
a little after the planned evaluation step.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from experiments.results import Records

CONFIDENCE = 0.95
N_RESAMPLES = 9999
BOOTSTRAP_SEED = 0
RANDOM_BASELINE = "random"
BELOW_RANDOM_FLAG = "below random"


class SingleSeedWarning(UserWarning):
    """Raised as a warning when an agent has one seed, so no interval can be given."""


@dataclass
class Summary:
    """The final table (one row per agent) and the curves (one row per agent and grid step)."""

    table: pd.DataFrame
    curves: pd.DataFrame
    prices: pd.DataFrame
    seeds: list[int]


def bootstrap_ci(
    values: np.ndarray,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """Return percentile-bootstrap bounds of the mean along axis 0 (seeds).

    ``values`` has shape ``(n_seeds,)`` or ``(n_seeds, n_points)``. Columns with fewer than
    two finite values get NaN bounds; constant columns get the constant as both bounds.
    """
    data = np.asarray(values, dtype=float)
    squeeze = data.ndim == 1
    if squeeze:
        data = data[:, None]
    low = np.full(data.shape[1], np.nan)
    high = np.full(data.shape[1], np.nan)

    finite = np.isfinite(data).all(axis=0) & (data.shape[0] >= 2)
    constant = finite & (np.ptp(np.where(np.isfinite(data), data, 0.0), axis=0) == 0.0)
    low[constant] = high[constant] = data[0, constant]

    varying = finite & ~constant
    if varying.any():
        result = stats.bootstrap(
            (data[:, varying],),
            np.mean,
            n_resamples=n_resamples,
            confidence_level=confidence,
            method="percentile",
            axis=0,
            vectorized=True,
            rng=np.random.default_rng(seed),
        )
        low[varying] = result.confidence_interval.low
        high[varying] = result.confidence_interval.high

    if squeeze:
        return low[0], high[0]
    return low, high


def interquartile_mean(values: np.ndarray) -> float:
    """Return the mean of the middle 50% of the values (25% trimmed from each end)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return float("nan")
    return float(stats.trim_mean(values, 0.25))


def interpolate_curve(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Interpolate one run's curve onto ``grid``; NaN outside the steps the run covers."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    values = np.interp(grid, x, y)
    values[(grid < x[0]) | (grid > x[-1])] = np.nan
    return values


def step_grid(records: Records) -> np.ndarray:
    """Return the common grid: the planned evaluation steps of the longest-trained agent."""
    planned = np.unique(records.evaluations["planned_step"].to_numpy(dtype=float))
    return planned


def summarize(records: Records) -> Summary:
    """Aggregate the records of an output folder into the final table and the curves."""
    grid = step_grid(records)
    rows, curve_frames = [], []
    for label in records.labels:
        evaluations = records.evaluations[records.evaluations["label"] == label]
        training = records.training[records.training["label"] == label]
        row, curves = _summarize_agent(label, evaluations, training, grid)
        rows.append(row)
        curve_frames.append(curves)

    table = pd.DataFrame(rows)
    _flag_below_random(table)
    curves = pd.concat(curve_frames, ignore_index=True) if curve_frames else pd.DataFrame()
    prices = _average_price_paths(records)
    seeds = sorted(int(seed) for seed in records.evaluations["seed"].unique())
    return Summary(table, curves, prices, seeds)


def _summarize_agent(
    label: str, evaluations: pd.DataFrame, training: pd.DataFrame, grid: np.ndarray
) -> tuple[dict, pd.DataFrame]:
    run_ids = sorted(evaluations["run_id"].unique())
    if len(run_ids) < 2:
        warnings.warn(
            f"{label}: only {len(run_ids)} seed, so no confidence interval is given; run more seeds",
            SingleSeedWarning,
            stacklevel=3,
        )

    final = evaluations.sort_values("eval_index").groupby("run_id").tail(1).set_index("run_id").loc[run_ids]
    revenue = final["revenue"].to_numpy(dtype=float)
    oracle = final["oracle_revenue"].to_numpy(dtype=float)
    share = revenue / oracle
    regret = final["regret"].to_numpy(dtype=float)

    curve_values = {name: [] for name in ("revenue", "regret", "oracle_revenue", "price_mean", "cumulative_regret")}
    cumulative_totals = []
    for run_id in run_ids:
        run = evaluations[evaluations["run_id"] == run_id]
        x = run["step"].to_numpy(dtype=float)
        for name in ("revenue", "regret", "oracle_revenue", "price_mean"):
            curve_values[name].append(interpolate_curve(x, run[name].to_numpy(dtype=float), grid))

        episodes = training[training["run_id"] == run_id].sort_values("step")
        oracle_per_episode = float(run["oracle_revenue"].mean())
        if episodes.empty:
            curve_values["cumulative_regret"].append(np.full(grid.shape, np.nan))
            cumulative_totals.append(np.nan)
            continue
        # Cumulative regret over training: sum over training episodes of oracle - realized revenue.
        cumulative = np.cumsum(oracle_per_episode - episodes["episode_revenue"].to_numpy(dtype=float))
        steps = np.concatenate([[0.0], episodes["step"].to_numpy(dtype=float)])
        curve = interpolate_curve(steps, np.concatenate([[0.0], cumulative]), grid)
        # Past the last finished episode the running total is known up to that episode only.
        curve[np.isnan(curve) & (grid > steps[-1])] = cumulative[-1]
        curve_values["cumulative_regret"].append(curve)
        cumulative_totals.append(float(cumulative[-1]))

    curves = pd.DataFrame({"label": label, "step": grid})
    for name, values in curve_values.items():
        matrix = np.vstack(values)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN grid points
            curves[f"{name}_mean"] = np.nanmean(matrix, axis=0)
        curves[f"{name}_low"], curves[f"{name}_high"] = bootstrap_ci(matrix)
    curves = curves[curves["revenue_mean"].notna()].reset_index(drop=True)

    cumulative_totals = np.asarray(cumulative_totals, dtype=float)
    revenue_low, revenue_high = bootstrap_ci(revenue)
    share_low, share_high = bootstrap_ci(share)
    cumulative_low, cumulative_high = bootstrap_ci(cumulative_totals)
    row = {
        "label": label,
        "agent": str(evaluations["agent"].iloc[0]),
        "n_seeds": len(run_ids),
        "final_step": float(final["step"].mean()),
        "revenue": float(revenue.mean()),
        "revenue_low": float(revenue_low),
        "revenue_high": float(revenue_high),
        "revenue_iqm": interquartile_mean(revenue),
        "oracle_revenue": float(oracle.mean()),
        "share_of_oracle": float(share.mean()),
        "share_low": float(share_low),
        "share_high": float(share_high),
        "regret": float(regret.mean()),
        "cumulative_regret": float(np.mean(cumulative_totals)) if np.isfinite(cumulative_totals).all() else np.nan,
        "cumulative_regret_low": float(cumulative_low),
        "cumulative_regret_high": float(cumulative_high),
        "price_mean": float(final["price_mean"].mean()),
        "flag": "",
    }
    return row, curves


def _flag_below_random(table: pd.DataFrame) -> None:
    baseline = table[table["agent"] == RANDOM_BASELINE]
    if baseline.empty:
        return
    random_revenue = float(baseline["revenue"].iloc[0])
    below = (table["revenue"] < random_revenue) & (table["agent"] != RANDOM_BASELINE)
    table.loc[below, "flag"] = BELOW_RANDOM_FLAG


def _average_price_paths(records: Records) -> pd.DataFrame:
    """Average each agent's price path of the first evaluation episode after training over seeds."""
    prices = records.prices
    if prices.empty:
        return pd.DataFrame(columns=["label", "period", "price_mean", "price_low", "price_high"])
    frames = []
    for label in records.labels:
        pivot = prices[prices["label"] == label].pivot_table(index="period", columns="run_id", values="price")
        if pivot.empty:
            continue
        matrix = pivot.to_numpy(dtype=float).T
        low, high = bootstrap_ci(matrix, n_resamples=2000)
        frames.append(
            pd.DataFrame(
                {
                    "label": label,
                    "period": pivot.index.to_numpy(),
                    "price_mean": np.nanmean(matrix, axis=0),
                    "price_low": low,
                    "price_high": high,
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
