"""Features for the deep demand model: user history, item features, and a saved scaler.

User history is computed from each user's *earlier* rows only (rows in source order, or by
timestamp when an event log has one), so a row's own outcome never leaks into its features:

* ``purchase_count``: log(1 + purchases the user made before this row);
* ``average_price_paid``: mean price of those purchases divided by the mean price of the
  data (1.0 before the first purchase);
* ``recency``: log(1 + rows since the user's previous purchase), or of seconds when the
  log has timestamps (0 before the first purchase);
* ``loyalty`` (panels only): per item, the smoothed share ``(n_j + 1/J) / (n + 1)`` of the
  user's earlier choices that went to item ``j``;
* ``earlier_views``, ``earlier_clicks``, ``earlier_carts`` (event logs only): log(1 + the
  user's view, click and cart events in earlier exposures).

Item features: ``base_price`` (median observed price) and ``popularity`` (share of purchases).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from envs.calibration.data import CalibrationData, ChoicePanel

HISTORY_FEATURES = ("purchase_count", "average_price_paid", "recency")
EVENT_HISTORY_FEATURES = (*HISTORY_FEATURES, "earlier_views", "earlier_clicks", "earlier_carts")


@dataclass
class FeatureScaler:
    """Standardize columns to zero mean and unit variance; saved as ``scaler.json``."""

    mean: np.ndarray
    scale: np.ndarray
    names: tuple[str, ...] = ()

    @classmethod
    def fit(cls, values: np.ndarray, names: tuple[str, ...] = ()) -> FeatureScaler:
        mean = values.mean(axis=0)
        scale = values.std(axis=0)
        scale[scale < 1e-12] = 1.0
        return cls(mean=mean, scale=scale, names=tuple(names))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.scale

    def to_dict(self) -> dict:
        return {"names": list(self.names), "mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, document: dict) -> FeatureScaler:
        return cls(
            mean=np.asarray(document["mean"], dtype=float),
            scale=np.asarray(document["scale"], dtype=float),
            names=tuple(document.get("names", ())),
        )


def _row_prices_and_purchases(data: CalibrationData) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(data, ChoicePanel):
        return data.prices[np.arange(data.n_rows), data.choices], np.ones(data.n_rows)
    return data.price, data.purchased


def _order(data: CalibrationData) -> np.ndarray:
    if not isinstance(data, ChoicePanel) and data.timestamp is not None:
        return np.lexsort((data.timestamp, data.users))
    return np.lexsort((np.arange(data.n_rows), data.users))


def add_history(data: CalibrationData) -> CalibrationData:
    """Compute the lagged user history (and panel loyalty) and attach it to ``data`` in place."""
    order = _order(data)
    users = data.users[order]
    price, bought = _row_prices_and_purchases(data)
    price, bought = price[order], bought[order]
    mean_price = float(np.mean(data.prices if isinstance(data, ChoicePanel) else data.price))

    frame = pd.DataFrame({"user": users, "bought": bought, "paid": price * bought})
    grouped = frame.groupby("user", sort=False)
    count_before = grouped["bought"].cumsum().to_numpy() - bought
    paid_before = grouped["paid"].cumsum().to_numpy() - price * bought
    with np.errstate(invalid="ignore", divide="ignore"):
        average_paid = np.where(count_before > 0, paid_before / count_before / mean_price, 1.0)

    # Position (or time) of the user's latest earlier purchase, carried forward within the user.
    if not isinstance(data, ChoicePanel) and data.timestamp is not None:
        clock = data.timestamp[order]
    else:
        clock = frame.groupby("user", sort=False).cumcount().to_numpy().astype(float)
    last = pd.Series(np.where(bought > 0, clock, np.nan))
    last_before = last.groupby(users).shift(1).groupby(users).ffill().to_numpy()
    recency = np.where(np.isnan(last_before), 0.0, np.log1p(np.maximum(clock - last_before, 0.0)))

    columns = [np.log1p(count_before), average_paid, recency]
    if not isinstance(data, ChoicePanel):
        browsing = _browsing(data)[order]
        earlier = pd.DataFrame(browsing).groupby(users, sort=False).cumsum().to_numpy() - browsing
        columns.extend(np.log1p(earlier).T)
    history = np.empty((data.n_rows, len(columns)))
    history[order] = np.column_stack(columns)
    data.history = history

    if isinstance(data, ChoicePanel):
        j = data.n_items
        onehot = np.zeros((data.n_rows, j))
        onehot[np.arange(data.n_rows), data.choices[order]] = 1.0
        cumulative = pd.DataFrame(onehot).groupby(users, sort=False).cumsum().to_numpy() - onehot
        loyalty = (cumulative + 1.0 / j) / (count_before[:, None] + 1.0)
        data.loyalty = np.empty_like(loyalty)
        data.loyalty[order] = loyalty
    return data


def _browsing(data) -> np.ndarray:
    return data.browsing if data.browsing is not None else np.zeros((data.n_rows, 3))


def user_snapshot(data: CalibrationData) -> tuple[np.ndarray, np.ndarray | None]:
    """Return each user's history after all of their rows: ``(U, F)`` and panel loyalty ``(U, J)``."""
    price, bought = _row_prices_and_purchases(data)
    mean_price = float(np.mean(data.prices if isinstance(data, ChoicePanel) else data.price))
    counts = np.bincount(data.users, bought, minlength=data.n_users)
    paid = np.bincount(data.users, price * bought, minlength=data.n_users)
    with np.errstate(invalid="ignore", divide="ignore"):
        average_paid = np.where(counts > 0, paid / counts / mean_price, 1.0)
    history = np.column_stack([np.log1p(counts), average_paid, np.zeros(data.n_users)])
    if not isinstance(data, ChoicePanel):
        browsing = np.stack([np.bincount(data.users, column, minlength=data.n_users) for column in _browsing(data).T], axis=1)
        return np.column_stack([history, np.log1p(browsing)]), None
    j = data.n_items
    chosen = np.zeros((data.n_users, j))
    np.add.at(chosen, (data.users, data.choices), 1.0)
    return history, (chosen + 1.0 / j) / (counts[:, None] + 1.0)


def item_features(data: CalibrationData) -> pd.DataFrame:
    """Return each item's base price (median observed price) and popularity (purchase share)."""
    if isinstance(data, ChoicePanel):
        base = np.median(data.prices, axis=0)
        purchases = np.bincount(data.choices, minlength=data.n_items).astype(float)
    else:
        base = np.array(
            [np.median(data.price[data.item == j]) if np.any(data.item == j) else np.nan for j in range(data.n_items)]
        )
        purchases = np.bincount(data.item, data.purchased, minlength=data.n_items)
    total = purchases.sum()
    return pd.DataFrame(
        {"item": list(data.items), "base_price": base, "popularity": purchases / total if total else purchases}
    )
