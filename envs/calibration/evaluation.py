"""Held-out metrics, calibration curves, own-price elasticities, k-fold CV and model comparison.

Works with any fitted model that has ``predict(data)`` and ``choice_probabilities(prices,
promotions, users)`` (the logit and the MLP). On a choice panel the metrics treat each
occasion as one multiclass outcome (log-loss of the chosen item, accuracy of the most likely
item) and AUC pools every (occasion, item) pair with "was chosen" as the label. On an event
log every exposure is one binary outcome.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from envs.calibration.data import CalibrationData, ChoicePanel

_EPS = 1e-12
ELASTICITY_STEP = 0.01  # relative price change of the finite-difference elasticity


class PositivePriceEffectWarning(UserWarning):
    """Warning that a fitted model's demand for some items rises with their own price."""


class NoImprovementWarning(UserWarning):
    """Warning that a model beats the price-blind baseline on held-out rows by less than a clear margin."""


def split_train_test(
    data: CalibrationData, test_fraction: float, rng: np.random.Generator
) -> tuple[CalibrationData, CalibrationData]:
    """Split rows at random into a training and a held-out part (users keep their codes)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    order = rng.permutation(data.n_rows)
    n_test = max(1, int(round(test_fraction * data.n_rows)))
    if n_test >= data.n_rows:
        raise ValueError(f"cannot hold out {n_test} of {data.n_rows} rows; use more data or a smaller test_fraction")
    return data.subset(np.sort(order[n_test:])), data.subset(np.sort(order[:n_test]))


def _labels(data: CalibrationData) -> np.ndarray:
    if isinstance(data, ChoicePanel):
        onehot = np.zeros((data.n_rows, data.n_items))
        onehot[np.arange(data.n_rows), data.choices] = 1.0
        return onehot
    return data.purchased


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Return the area under the ROC curve (Mann-Whitney form, ties counted half), or NaN."""
    labels = np.asarray(labels).ravel() > 0.5
    scores = np.asarray(scores, dtype=float).ravel()
    n_positive = int(labels.sum())
    n_negative = labels.size - n_positive
    if n_positive == 0 or n_negative == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative))


def baseline_probabilities(train: CalibrationData, test: CalibrationData) -> np.ndarray:
    """Return the no-price baseline: item shares (panels) or per-item purchase rates (events)."""
    if isinstance(train, ChoicePanel):
        shares = np.bincount(train.choices, minlength=train.n_items) + 1.0
        return np.tile(shares / shares.sum(), (test.n_rows, 1))
    purchases = np.bincount(train.item, train.purchased, minlength=train.n_items) + 0.5
    trials = np.bincount(train.item, minlength=train.n_items) + 1.0
    return (purchases / trials)[test.item]


def score_probabilities(data: CalibrationData, probabilities: np.ndarray) -> dict[str, float]:
    """Return log-loss, accuracy and AUC of predicted probabilities on ``data``."""
    labels = _labels(data)
    if isinstance(data, ChoicePanel):
        chosen = probabilities[np.arange(data.n_rows), data.choices]
        log_loss = float(-np.mean(np.log(np.clip(chosen, _EPS, 1.0))))
        accuracy = float(np.mean(np.argmax(probabilities, axis=1) == data.choices))
    else:
        p = np.clip(probabilities, _EPS, 1.0 - _EPS)
        log_loss = float(-np.mean(labels * np.log(p) + (1.0 - labels) * np.log(1.0 - p)))
        accuracy = float(np.mean((probabilities > 0.5) == (labels > 0.5)))
    return {"log_loss": log_loss, "accuracy": accuracy, "auc": roc_auc(labels, probabilities)}


def evaluate(model, train: CalibrationData, test: CalibrationData) -> dict[str, float]:
    """Return held-out metrics of ``model`` on ``test`` beside the no-price baseline's log-loss."""
    metrics = score_probabilities(test, model.predict(test))
    baseline = score_probabilities(test, baseline_probabilities(train, test))
    metrics["baseline_log_loss"] = baseline["log_loss"]
    metrics["log_loss_reduction"] = 1.0 - metrics["log_loss"] / baseline["log_loss"]
    return metrics


def warn_no_improvement(metrics: dict[str, float], model_name: str, min_reduction: float = 0.01) -> bool:
    """Warn when the held-out log-loss is less than ``min_reduction`` below the baseline's.

    The baseline predicts each item's share of the training rows and ignores prices. A model
    that cannot beat it by a clear margin (1% of log-loss by default) has learned nothing
    usable about price response, and a gain smaller than that is within the noise of a
    single held-out split. Return whether it warned.
    """
    if metrics["log_loss_reduction"] >= min_reduction:
        return False
    warnings.warn(
        f"the {model_name} model's held-out log-loss {metrics['log_loss']:.4f} is only "
        f"{100 * metrics['log_loss_reduction']:.2f}% below the price-blind baseline's "
        f"{metrics['baseline_log_loss']:.4f} (less than {100 * min_reduction:g}%), so its price "
        "response is not supported by the data. Check that prices vary enough in the log, use "
        "more rows, or try the other model",
        NoImprovementWarning,
        stacklevel=2,
    )
    return True


def calibration_curve(data: CalibrationData, probabilities: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Bin predicted probabilities into equal-width bins and return the observed frequency per bin."""
    labels = _labels(data).ravel()
    predicted = np.asarray(probabilities, dtype=float).ravel()
    bins = np.clip((predicted * n_bins).astype(int), 0, n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_predicted = np.bincount(bins, predicted, minlength=n_bins) / count
        observed = np.bincount(bins, labels, minlength=n_bins) / count
    frame = pd.DataFrame(
        {"bin_low": np.arange(n_bins) / n_bins, "mean_predicted": mean_predicted, "observed": observed, "count": count}
    )
    return frame[frame["count"] > 0].reset_index(drop=True)


def _item_demand(model, data: CalibrationData, item: int, factor: float) -> float:
    """Return the expected purchases of ``item`` over ``data`` with its price multiplied by ``factor``."""
    if isinstance(data, ChoicePanel):
        prices = data.prices.copy()
        prices[:, item] *= factor
        return float(model.choice_probabilities(prices, data.promotions, data.users)[:, item].sum())
    rows = data.item == item
    subset = data.subset(rows)
    subset.price = subset.price * factor
    return float(model.predict(subset).sum())


def _elasticities(model, data: CalibrationData) -> np.ndarray:
    values = np.full(data.n_items, np.nan)
    for item in range(data.n_items):
        up = _item_demand(model, data, item, 1.0 + ELASTICITY_STEP)
        down = _item_demand(model, data, item, 1.0 - ELASTICITY_STEP)
        centre = _item_demand(model, data, item, 1.0)
        if centre > 0:
            values[item] = (up - down) / (2.0 * ELASTICITY_STEP * centre)
    return values


def _row_demand(model, data: CalibrationData) -> np.ndarray:
    """Return each row's expected purchases of each item at its price times 0.99, 1 and 1.01.

    Shape ``(J, 3, n)``; on an event log a row contributes only to its own item.
    """
    factors = (1.0 - ELASTICITY_STEP, 1.0, 1.0 + ELASTICITY_STEP)
    demand = np.zeros((data.n_items, 3, data.n_rows))
    for item in range(data.n_items):
        for k, factor in enumerate(factors):
            if isinstance(data, ChoicePanel):
                prices = data.prices.copy()
                prices[:, item] *= factor
                demand[item, k] = model.choice_probabilities(prices, data.promotions, data.users)[:, item]
            else:
                rows = np.flatnonzero(data.item == item)
                subset = data.subset(rows)
                subset.price = subset.price * factor
                demand[item, k, rows] = model.predict(subset)
    return demand


def _elasticities_from_rows(demand: np.ndarray) -> np.ndarray:
    down, centre, up = demand.sum(axis=2).T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(centre > 0, (up - down) / (2.0 * ELASTICITY_STEP * centre), np.nan)


def own_price_elasticities(
    model,
    data: CalibrationData,
    n_draws: int = 200,
    seed: int = 0,
    max_rows: int = 20_000,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Return each item's own-price elasticity of expected demand with a confidence interval.

    The elasticity is the relative change of the item's expected purchases over ``data`` per
    relative change of its price (central difference at +-1%). The interval comes from
    parameter draws from the fit's asymptotic normal when the model offers them (the logit),
    otherwise from a bootstrap over rows.
    NOTE: the bootstrap interval of the MLP reflects sampling of occasions only, not the
    uncertainty of its weights.
    """
    rng = np.random.default_rng(seed)
    if data.n_rows > max_rows:
        data = data.subset(np.sort(rng.choice(data.n_rows, size=max_rows, replace=False)))
    point = _elasticities(model, data)

    if hasattr(model, "sample_population_parameters"):
        draws = np.array([_elasticities(m, data) for m in model.sample_population_parameters(n_draws, rng)])
    else:
        # Predict each row once at -1%, 0 and +1%; a bootstrap replicate only re-sums rows.
        demand = _row_demand(model, data)
        draws = np.array([_elasticities_from_rows(demand[:, :, rng.integers(0, data.n_rows, data.n_rows)]) for _ in range(n_draws)])
    tail = (1.0 - confidence) / 2.0
    return pd.DataFrame(
        {
            "item": list(data.items),
            "elasticity": point,
            "ci_low": np.nanquantile(draws, tail, axis=0),
            "ci_high": np.nanquantile(draws, 1.0 - tail, axis=0),
        }
    )


def warn_positive_price_effects(elasticities: pd.DataFrame) -> list[str]:
    """Warn, naming the items, when a fitted own-price elasticity is positive; return those items."""
    items = elasticities.loc[elasticities["elasticity"] > 0, "item"].astype(str).tolist()
    if items:
        warnings.warn(
            f"the fitted demand of {items} rises with its own price (positive price effect); "
            "prices may be confounded with quality or promotions. Check the data, add promotion "
            "columns, or do not use these items as the priced item",
            PositivePriceEffectWarning,
            stacklevel=2,
        )
    return items


def k_fold_cross_validation(
    data: CalibrationData, make_model: Callable[[], object], k: int = 5, seed: int = 0
) -> pd.DataFrame:
    """Fit a fresh model on k-1 folds and score it on the held-out fold, k times.

    Returns one row of metrics per fold.
    """
    if not 2 <= k <= data.n_rows:
        raise ValueError(f"k must be between 2 and the number of rows ({data.n_rows}), got {k}")
    folds = np.array_split(np.random.default_rng(seed).permutation(data.n_rows), k)
    rows = []
    for index, fold in enumerate(folds):
        test_mask = np.zeros(data.n_rows, dtype=bool)
        test_mask[fold] = True
        train, test = data.subset(~test_mask), data.subset(test_mask)
        metrics = evaluate(make_model().fit(train), train, test)
        rows.append({"fold": index, **metrics})
    return pd.DataFrame(rows)


def compare_models(
    data: CalibrationData,
    builders: dict[str, Callable[[], object]],
    test_fraction: float = 0.2,
    seed: int = 0,
) -> pd.DataFrame:
    """Fit each model on the same training split and return their held-out metrics side by side."""
    train, test = split_train_test(data, test_fraction, np.random.default_rng(seed))
    columns = {}
    for name, build in builders.items():
        columns[name] = evaluate(build().fit(train), train, test)
    return pd.DataFrame(columns)
