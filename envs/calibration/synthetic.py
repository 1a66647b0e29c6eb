"""Synthetic logs drawn from known logit parameters, for tests and benchmarks.

Both generators return raw tables in the file layouts of :mod:`envs.calibration.io`, so they
exercise the same preprocessing as real files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, softmax


def synthetic_panel(
    n_occasions: int,
    n_users: int,
    alpha: np.ndarray,
    beta: float,
    rng: np.random.Generator,
    gamma: float = 0.0,
    user_sd: float = 0.0,
    price_low: float = 1.0,
    price_high: float = 3.0,
) -> pd.DataFrame:
    """Return a wide choice panel drawn from ``v_j = alpha_j + (beta + delta_u) p_j + gamma feat_j``.

    Prices are uniform on ``[price_low, price_high]`` rounded to cents; feature ads occur with
    probability 0.2; ``delta_u ~ N(0, user_sd^2)``.
    """
    alpha = np.asarray(alpha, dtype=float)
    j = alpha.size
    users = rng.integers(0, n_users, n_occasions)
    delta = rng.normal(0.0, user_sd, n_users)
    prices = np.round(rng.uniform(price_low, price_high, (n_occasions, j)), 2)
    feature = (rng.random((n_occasions, j)) < 0.2).astype(float)
    utilities = alpha + (beta + delta[users])[:, None] * prices + gamma * feature
    probabilities = softmax(utilities, axis=1)
    cumulative = probabilities.cumsum(axis=1)
    choices = np.minimum((rng.random(n_occasions)[:, None] > cumulative).sum(axis=1), j - 1)
    items = [f"item{k}" for k in range(j)]
    frame = pd.DataFrame({"user_id": users, "choice": np.array(items)[choices]})
    for k, item in enumerate(items):
        frame[f"price.{item}"] = prices[:, k]
    for k, item in enumerate(items):
        frame[f"feat.{item}"] = feature[:, k]
    return frame


def synthetic_events(
    n_events: int,
    n_users: int,
    alpha: np.ndarray,
    beta: float,
    rng: np.random.Generator,
    price_low: float = 1.0,
    price_high: float = 3.0,
    with_quantity: bool = False,
) -> pd.DataFrame:
    """Return an event log of views and purchases drawn from ``P(buy) = sigmoid(alpha_j + beta p)``.

    Each row is one exposure at a price with a distinct timestamp; prices are uniform on
    ``[price_low, price_high]`` rounded to cents.
    """
    alpha = np.asarray(alpha, dtype=float)
    item = rng.integers(0, alpha.size, n_events)
    price = np.round(rng.uniform(price_low, price_high, n_events), 2)
    bought = rng.random(n_events) < expit(alpha[item] + beta * price)
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, n_users, n_events),
            "item_id": np.char.add("item", item.astype(str)),
            "behavior": np.where(bought, "purchase", "view"),
            "price": price,
            "timestamp": np.arange(n_events),
        }
    )
    if with_quantity:
        frame["quantity"] = np.where(bought, rng.integers(1, 4, n_events), 0)
    return frame
