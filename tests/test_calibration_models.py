"""Demand models: parameter recovery, evaluation, MLP early stopping, saving and loading."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from envs.calibration import (
    LogitDemandModel,
    ModelVersionError,
    PositivePriceEffectWarning,
    calibration_curve,
    compare_models,
    evaluate,
    k_fold_cross_validation,
    load_model,
    own_price_elasticities,
    preprocess_events,
    preprocess_panel,
    save_model,
    split_train_test,
    warn_positive_price_effects,
)
from envs.calibration.evaluation import roc_auc
from envs.calibration.features import add_history
from envs.calibration.mlp import MLPDemandModel
from envs.calibration.model_io import build_market_sample
from envs.calibration.synthetic import synthetic_events, synthetic_panel

TRUE_BETA = -1.5


@pytest.fixture(scope="module")
def panel():
    frame = synthetic_panel(6000, 300, [0.0, 0.5, -0.5], TRUE_BETA, np.random.default_rng(1), gamma=0.7)
    return preprocess_panel(frame, "synthetic")[0]


def test_logit_recovers_panel_price_coefficient(panel):
    model = LogitDemandModel(heterogeneity="none").fit(panel)
    errors = model.standard_errors()["beta"]
    # The maximum-likelihood estimate is asymptotically normal around the true value; 4
    # standard errors (about 0.1 here) keep a false failure below 1e-4 while a wrong sign,
    # scale or price unit is off by far more.
    assert np.all(np.abs(model.beta - TRUE_BETA) < 4 * errors)
    assert np.all(errors < 0.15)
    assert model.gamma[0] == pytest.approx(0.7, abs=4 * model.standard_errors()["gamma"][0])


def test_logit_recovers_event_price_coefficient():
    frame = synthetic_events(40_000, 500, [0.5, 1.0], -1.0, np.random.default_rng(2))
    log, _ = preprocess_events(frame, "synthetic")
    model = LogitDemandModel(heterogeneity="none").fit(log)
    errors = model.standard_errors()
    # Same 4-standard-error tolerance as the panel case (about 0.2 on beta here).
    assert np.all(np.abs(model.beta - (-1.0)) < 4 * errors["beta"])
    assert np.all(np.abs(model.alpha - [0.5, 1.0]) < 4 * errors["alpha"])


def test_user_heterogeneity_is_shrunk_and_recovered():
    frame = synthetic_panel(8000, 100, [0.0, 0.3], TRUE_BETA, np.random.default_rng(3), user_sd=0.5)
    data = preprocess_panel(frame, "synthetic")[0]
    model = LogitDemandModel(heterogeneity="user").fit(data)
    # 80 occasions per user identify each deviation to about +-0.3, so the fitted spread is
    # close to, and by shrinkage not above, the true 0.5 plus noise.
    assert 0.25 < np.std(model.delta) < 0.65
    assert np.mean(model.beta) == pytest.approx(TRUE_BETA, abs=0.2)


def test_evaluation_metrics_beat_baseline(panel):
    train, test = split_train_test(panel, 0.25, np.random.default_rng(0))
    metrics = evaluate(LogitDemandModel(heterogeneity="none").fit(train), train, test)
    assert metrics["log_loss"] < metrics["baseline_log_loss"]
    assert 0.5 < metrics["auc"] <= 1.0
    assert 0.0 <= metrics["accuracy"] <= 1.0


def test_auc_exact_values():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3]))


def test_calibration_curve_bins(panel):
    model = LogitDemandModel(heterogeneity="none").fit(panel)
    curve = calibration_curve(panel, model.predict(panel), n_bins=5)
    assert curve["count"].sum() == panel.n_rows * panel.n_items
    # A correctly specified model is calibrated: observed and predicted agree within 0.05.
    assert np.all(np.abs(curve["observed"] - curve["mean_predicted"])[curve["count"] > 500] < 0.05)


def test_elasticity_interval_covers_point(panel):
    model = LogitDemandModel(heterogeneity="none").fit(panel)
    table = own_price_elasticities(model, panel, n_draws=50)
    assert np.all(table["elasticity"] < 0)
    assert np.all(table["ci_low"] <= table["elasticity"])
    assert np.all(table["elasticity"] <= table["ci_high"])


def test_positive_price_effect_warns_naming_items(panel):
    frame = synthetic_panel(3000, 100, [0.0, 0.5], 0.8, np.random.default_rng(4))
    data = preprocess_panel(frame, "synthetic")[0]
    table = own_price_elasticities(LogitDemandModel(heterogeneity="none").fit(data), data, n_draws=20)
    with pytest.warns(PositivePriceEffectWarning, match=r"\['item0', 'item1'\] rises with its own price"):
        items = warn_positive_price_effects(table)
    assert items == ["item0", "item1"]


def test_k_fold_and_side_by_side(panel):
    small = panel.subset(np.arange(1500))
    folds = k_fold_cross_validation(small, lambda: LogitDemandModel(heterogeneity="none"), k=3)
    assert len(folds) == 3
    assert folds["log_loss"].notna().all()
    table = compare_models(
        small,
        {"logit": lambda: LogitDemandModel(heterogeneity="none"), "mlp": lambda: MLPDemandModel(max_epochs=5)},
    )
    assert list(table.columns) == ["logit", "mlp"]
    assert "log_loss" in table.index


def test_mlp_early_stops_on_small_panel(panel):
    small = panel.subset(np.arange(800))
    add_history(small)
    model = MLPDemandModel(hidden=16, max_epochs=300, patience=3, learning_rate=0.05, seed=0).fit(small)
    assert model.stopped_early
    assert len(model.validation_losses) < 300
    assert model.best_epoch == int(np.argmin(model.validation_losses))
    probabilities = model.predict(small)
    assert np.allclose(probabilities.sum(axis=1), 1.0)


def test_mlp_quantity_head():
    frame = synthetic_events(3000, 100, [0.0, 0.5], -1.0, np.random.default_rng(5), with_quantity=True)
    log, _ = preprocess_events(frame, "synthetic")
    model = MLPDemandModel(max_epochs=20, patience=5).fit(log)
    quantity = model.predict_quantity(log)
    assert quantity.shape == (log.n_rows,)
    assert np.all(quantity >= 0)
    # Units per exposure average purchase rate (about 0.3) times mean units (2).
    assert np.mean(quantity) == pytest.approx(np.mean(log.quantity), rel=0.3)


def test_logit_save_load_round_trip(panel, tmp_path):
    model = LogitDemandModel().fit(panel)
    save_model(model, tmp_path / "model", build_market_sample(panel), {"source": "synthetic"})
    loaded = load_model(tmp_path / "model")
    prices = panel.prices[:10]
    assert np.allclose(loaded.model.choice_probabilities(prices, panel.promotions[:10], panel.users[:10]),
                       model.choice_probabilities(prices, panel.promotions[:10], panel.users[:10]))
    assert loaded.metadata["source"] == "synthetic"


def test_mlp_save_load_round_trip(panel, tmp_path):
    small = panel.subset(np.arange(600))
    model = MLPDemandModel(max_epochs=3).fit(small)
    save_model(model, tmp_path / "mlp", build_market_sample(small), {"source": "synthetic"})
    assert (tmp_path / "mlp" / "scaler.json").exists()
    loaded = load_model(tmp_path / "mlp").model
    assert np.allclose(loaded.predict(small), model.predict(small), atol=1e-6)


def test_wrong_format_version_rejected(panel, tmp_path):
    save_model(LogitDemandModel(heterogeneity="none").fit(panel), tmp_path / "old", build_market_sample(panel), {"source": "log.csv"})
    document = json.loads((tmp_path / "old" / "model.json").read_text())
    document["format_version"] = 0
    (tmp_path / "old" / "model.json").write_text(json.dumps(document))
    with pytest.raises(ModelVersionError, match=r"model\.json' has model format version 0.*pricing-sim calibrate log\.csv"):
        load_model(tmp_path / "old")


def test_failed_save_leaves_previous_model(panel, tmp_path):
    model = LogitDemandModel(heterogeneity="none").fit(panel)
    save_model(model, tmp_path / "m", build_market_sample(panel))
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(TypeError):
        save_model(model, tmp_path / "m", build_market_sample(panel), {"bad": object()})
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert load_model(tmp_path / "m").model.kind == "choices"


def test_damaged_model_directory_named(panel, tmp_path):
    import shutil

    good = tmp_path / "good"
    save_model(LogitDemandModel(heterogeneity="none").fit(panel), good, build_market_sample(panel), {"source": "log.csv"})

    def damaged(name: str, damage) -> Path:
        directory = tmp_path / name
        shutil.copytree(good, directory)
        damage(directory)
        return directory

    no_arrays = damaged("no-arrays", lambda d: (d / "arrays.npz").unlink())
    with pytest.raises(FileNotFoundError, match=r"'.*no-arrays' lacks arrays\.npz; refit .*calibrate log\.csv"):
        load_model(no_arrays)

    no_market = damaged("no-market", lambda d: (d / "market.npz").unlink())
    with pytest.raises(FileNotFoundError, match=r"lacks market\.npz; refit"):
        load_model(no_market)

    bad_json = damaged("bad-json", lambda d: (d / "model.json").write_text("{"))
    with pytest.raises(ValueError, match=r"model\.json' is corrupt .*refit"):
        load_model(bad_json)

    bad_npz = damaged("bad-npz", lambda d: (d / "arrays.npz").write_bytes(b"PK\x03\x04 truncated"))
    with pytest.raises(ValueError, match=r"arrays\.npz' is corrupt .*refit"):
        load_model(bad_npz)

    def drop_first_array(directory: Path) -> None:
        with np.load(directory / "arrays.npz") as stored:
            arrays = {name: stored[name] for name in stored.files[1:]}
        np.savez(directory / "arrays.npz", **arrays)

    missing_array = damaged("missing-array", drop_first_array)
    with pytest.raises(ValueError, match=r"'.*missing-array' is incomplete or corrupt \(KeyError.*refit"):
        load_model(missing_array)


def test_missing_model_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="model.json not found"):
        load_model(tmp_path / "none")


def test_invalid_logit_arguments():
    with pytest.raises(ValueError, match="heterogeneity must be 'user' or 'none', got 'segments'"):
        LogitDemandModel(heterogeneity="segments")
    with pytest.raises(ValueError, match="shrinkage must be a positive number or 'auto', got -1"):
        LogitDemandModel(shrinkage=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LogitDemandModel(shrinkage=2.0)


def test_history_uses_only_earlier_rows():
    frame = synthetic_panel(50, 3, [0.0, 0.5], TRUE_BETA, np.random.default_rng(6))
    data = add_history(preprocess_panel(frame, "synthetic")[0])
    for user in range(data.n_users):
        rows = np.flatnonzero(data.users == user)
        # A user's first occasion has no history: zero purchases and uniform loyalty.
        assert data.history[rows[0], 0] == 0.0
        assert np.allclose(data.loyalty[rows[0]], 0.5)
        # The count before occasion k is k (each occasion is a purchase).
        assert np.allclose(np.expm1(data.history[rows, 0]), np.arange(rows.size))
        last = rows[-1]
        earlier = data.choices[rows[:-1]]
        expected = (np.bincount(earlier, minlength=2) + 0.5) / (earlier.size + 1)
        assert np.allclose(data.loyalty[last], expected)


def test_mlp_elasticity_bootstrap(panel):
    small = panel.subset(np.arange(600))
    model = MLPDemandModel(max_epochs=20, seed=1).fit(small)
    table = own_price_elasticities(model, small, n_draws=50)
    assert np.all(table["ci_low"] <= table["elasticity"])
    assert np.all(table["elasticity"] <= table["ci_high"])
    # The data fall steeply with price (about -1.5 * 2 * 0.67 = -2 at the mean), so even a
    # briefly trained MLP finds negative own-price elasticities.
    assert np.all(table["elasticity"] < 0)


def test_event_history_counts_earlier_browsing():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "user_id": ["u", "u", "u", "u", "v"],
            "item_id": ["a", "a", "b", "a", "a"],
            "behavior": ["view", "cart", "click", "purchase", "view"],
            "price": [1.0, 1.0, 2.0, 3.0, 1.0],
            "timestamp": [1, 2, 3, 4, 1],
        }
    )
    log = add_history(preprocess_events(frame, "events.csv")[0])
    order = np.argsort(log.timestamp + 10 * log.users)
    history = log.history[order]
    # Exposures of u in time order: (a, 1.0) view+cart, (b, 2.0) click, (a, 3.0) purchase.
    assert np.allclose(np.expm1(history[:3, 3:]), [[0, 0, 0], [1, 0, 1], [1, 1, 1]])
    assert np.allclose(np.expm1(history[:3, 0]), [0, 0, 0])
    assert np.allclose(np.expm1(history[3, 3:]), [0, 0, 0])


def test_save_into_file_rejected(panel, tmp_path):
    model = LogitDemandModel(heterogeneity="none").fit(panel)
    (tmp_path / "taken").write_text("keep me")
    with pytest.raises(ValueError, match=r"output '.*taken' is a file, not a directory; choose a new"):
        save_model(model, tmp_path / "taken", build_market_sample(panel))
    assert (tmp_path / "taken").read_text() == "keep me"

    with pytest.raises(OSError, match=r"cannot create the model directory '.*taken/model'.*writable location"):
        save_model(model, tmp_path / "taken" / "model", build_market_sample(panel))


def test_no_improvement_warning_when_worse_than_baseline():
    from envs.calibration import NoImprovementWarning, warn_no_improvement

    worse = {"log_loss": 0.70, "baseline_log_loss": 0.69, "log_loss_reduction": 1 - 0.70 / 0.69}
    with pytest.warns(NoImprovementWarning, match=r"0.7000 is only -1.45% below the price-blind baseline's 0.6900"):
        assert warn_no_improvement(worse, "mlp") is True

    marginal = {"log_loss": 0.688, "baseline_log_loss": 0.69, "log_loss_reduction": 1 - 0.688 / 0.69}
    with pytest.warns(NoImprovementWarning, match=r"less than 1%"):
        assert warn_no_improvement(marginal, "mlp") is True

    better = {"log_loss": 0.50, "baseline_log_loss": 0.69, "log_loss_reduction": 1 - 0.50 / 0.69}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_no_improvement(better, "logit") is False


def test_price_blind_data_triggers_no_improvement(panel):
    # Prices carry no information when the true price coefficient is 0, so the fitted model
    # beats the share baseline by at most chance: well under 1% of log-loss on 900 rows.
    from envs.calibration import NoImprovementWarning, warn_no_improvement

    for seed in (0, 1):
        frame = synthetic_panel(3000, 100, [0.0, 0.0, 0.0], 0.0, np.random.default_rng(seed))
        data = preprocess_panel(frame, "synthetic")[0]
        train, test = split_train_test(data, 0.3, np.random.default_rng(0))
        metrics = evaluate(LogitDemandModel(heterogeneity="user").fit(train), train, test)
        with pytest.warns(NoImprovementWarning):
            assert warn_no_improvement(metrics, "logit") is True


def test_price_responsive_data_passes_improvement_check(panel):
    train, test = split_train_test(panel, 0.3, np.random.default_rng(0))
    metrics = evaluate(LogitDemandModel(heterogeneity="none").fit(train), train, test)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from envs.calibration import warn_no_improvement

        assert warn_no_improvement(metrics, "logit") is False
