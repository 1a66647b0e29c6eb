"""Save and load a fitted demand model as a directory, written atomically.

Layout of a model directory::

    model.json    format version, model type, items, metadata (source, fit settings)
    arrays.npz    fitted parameters (logit coefficients or MLP weights)
    scaler.json   feature scaler of the MLP (absent for the logit)
    market.npz    observed competitor prices, promotions and users, for CalibratedEnv
    report.json   preprocessing report and evaluation, when given

The directory is first written under a temporary name beside the target and then renamed,
so an interrupted save never leaves a half-written model behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from envs.calibration.data import CalibrationData, ChoicePanel

FORMAT_VERSION = 1
MODEL_FILE = "model.json"
ARRAYS_FILE = "arrays.npz"
SCALER_FILE = "scaler.json"
MARKET_FILE = "market.npz"
REPORT_FILE = "report.json"
MAX_MARKET_ROWS = 20_000


class ModelVersionError(ValueError):
    """A model directory written by a different, incompatible format version."""


@dataclass
class SavedModel:
    """A loaded model directory."""

    model: object
    market: dict[str, np.ndarray]
    metadata: dict
    report: dict | None
    path: Path


def build_market_sample(data: CalibrationData, seed: int = 0) -> dict[str, np.ndarray]:
    """Return observed price scenarios of all items, for the calibrated market to replay.

    A choice panel keeps its occasions, so competitor prices keep their joint distribution.
    An event log has one price per row, so each item's price is drawn independently from the
    prices it was shown at. At most ``MAX_MARKET_ROWS`` rows are kept.
    """
    rng = np.random.default_rng(seed)
    if isinstance(data, ChoicePanel):
        rows = np.arange(data.n_rows)
        if rows.size > MAX_MARKET_ROWS:
            rows = np.sort(rng.choice(rows, MAX_MARKET_ROWS, replace=False))
        return {
            "prices": data.prices[rows],
            "promotions": data.promotions[rows],
            "users": data.users[rows],
            "row_users": data.users,
        }

    size = min(data.n_rows, MAX_MARKET_ROWS)
    prices = np.empty((size, data.n_items))
    promotions = np.zeros((size, data.n_items, len(data.promotion_names)))
    for item in range(data.n_items):
        rows = np.flatnonzero(data.item == item)
        if rows.size == 0:
            prices[:, item] = np.median(data.price)
            continue
        drawn = rng.choice(rows, size)
        prices[:, item] = data.price[drawn]
        promotions[:, item, :] = data.promotions[drawn]
    return {
        "prices": prices,
        "promotions": promotions,
        "users": data.users[rng.choice(data.n_rows, size)],
        "row_users": data.users,
    }


def save_model(
    model,
    directory: str | Path,
    market: dict[str, np.ndarray],
    metadata: dict | None = None,
    report: dict | None = None,
) -> Path:
    """Write ``model`` and its market sample to ``directory``, replacing it atomically."""
    directory = Path(directory)
    check_output_directory(directory)
    meta, arrays = model.to_state()
    document = {"format_version": FORMAT_VERSION, **meta, "metadata": metadata or {}}

    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    except OSError as error:
        raise OSError(
            error.errno,
            f"cannot create the model directory {str(directory)!r} ({error.strerror}: {error.filename}); "
            "choose an output directory in a writable location",
        ) from error
    try:
        (staging / MODEL_FILE).write_text(json.dumps(document, indent=2, default=_json_default))
        np.savez_compressed(staging / ARRAYS_FILE, **arrays)
        np.savez_compressed(staging / MARKET_FILE, **market)
        scaler = getattr(model, "scaler", None)
        if scaler is not None:
            (staging / SCALER_FILE).write_text(json.dumps(scaler.to_dict(), indent=2))
        if report is not None:
            (staging / REPORT_FILE).write_text(json.dumps(report, indent=2, default=_json_default))
        _replace_directory(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def check_output_directory(directory: str | Path) -> None:
    """Raise ``ValueError`` if ``directory`` cannot take a model: a file, or a folder of other files."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"output {str(directory)!r} is a file, not a directory; choose a new or empty output directory")
    if directory.is_dir() and not (directory / MODEL_FILE).exists() and any(directory.iterdir()):
        raise ValueError(
            f"{str(directory)!r} exists and is not a model directory; choose a new or empty output directory"
        )


def _replace_directory(staging: Path, directory: Path) -> None:
    if not directory.exists():
        os.replace(staging, directory)
        return
    if not (directory / MODEL_FILE).exists() and any(directory.iterdir()):
        raise ValueError(
            f"{str(directory)!r} exists and is not a model directory; choose a new or empty output directory"
        )
    retired = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
    os.replace(directory, retired / "model")
    os.replace(staging, directory)
    shutil.rmtree(retired, ignore_errors=True)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def load_model(directory: str | Path) -> SavedModel:
    """Load a model directory written by :func:`save_model`.

    Raises:
        FileNotFoundError: the directory, its model.json or another required file does not exist.
        ModelVersionError: the directory was written in another format version.
        ValueError: a file of the directory is corrupt or lacks a field the model needs.
    """
    directory = Path(directory)
    model_file = directory / MODEL_FILE
    if not model_file.exists():
        raise FileNotFoundError(
            f"no model at {str(directory)!r}: {MODEL_FILE} not found; create one with "
            f"`pricing-sim calibrate DATA -o {directory}`"
        )
    document = _read_json(model_file, directory, source=None)
    if not isinstance(document, dict):
        raise ValueError(f"{str(model_file)!r} is not a model file (expected a JSON object); {_refit(directory, None)}")
    source = document.get("metadata", {}).get("source") if isinstance(document.get("metadata"), dict) else None
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelVersionError(
            f"{str(model_file)!r} has model format version {version!r}, but this pricing-sim reads "
            f"version {FORMAT_VERSION}; {_refit(directory, source)}"
        )

    arrays = _read_arrays(directory / ARRAYS_FILE, directory, source)
    market = _read_arrays(directory / MARKET_FILE, directory, source)

    model_type = document.get("model_type")
    try:
        if model_type == "logit":
            from envs.calibration.logit import LogitDemandModel

            model = LogitDemandModel.from_state(document, arrays)
        elif model_type == "mlp":
            from envs.calibration.features import FeatureScaler
            from envs.calibration.mlp import MLPDemandModel

            scaler = FeatureScaler.from_dict(_read_json(directory / SCALER_FILE, directory, source))
            model = MLPDemandModel.from_state(document, arrays, scaler)
        else:
            raise ValueError(f"{str(model_file)!r} has unknown model_type {model_type!r}; expected 'logit' or 'mlp'")
    except (KeyError, IndexError, TypeError, AttributeError) as error:
        # A field or array that the loader expects is absent or has another shape.
        raise ValueError(
            f"model directory {str(directory)!r} is incomplete or corrupt ({type(error).__name__}: {error}); "
            f"{_refit(directory, source)}"
        ) from error

    report_file = directory / REPORT_FILE
    report = _read_json(report_file, directory, source) if report_file.exists() else None
    return SavedModel(model=model, market=market, metadata=document.get("metadata", {}), report=report, path=directory)


def _refit(directory: Path, source: str | None) -> str:
    return f"refit the model with `pricing-sim calibrate {source or 'DATA'} -o {directory}`"


def _read_json(path: Path, directory: Path, source: str | None):
    """Read a JSON file of a model directory, naming the file and the refit command if it is missing or corrupt."""
    if not path.is_file():
        raise FileNotFoundError(f"model directory {str(directory)!r} lacks {path.name}; {_refit(directory, source)}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{str(path)!r} is corrupt ({error}); {_refit(directory, source)}") from error


def _read_arrays(path: Path, directory: Path, source: str | None) -> dict[str, np.ndarray]:
    """Read an ``.npz`` file of a model directory, naming the file and the refit command if it is missing or corrupt."""
    if not path.is_file():
        raise FileNotFoundError(f"model directory {str(directory)!r} lacks {path.name}; {_refit(directory, source)}")
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        # np.load raises ValueError for bytes that are neither .npy nor .npz, and
        # zipfile.BadZipFile for a truncated .npz archive.
        raise ValueError(f"{str(path)!r} is corrupt ({error}); {_refit(directory, source)}") from error
