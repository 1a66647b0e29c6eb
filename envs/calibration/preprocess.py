"""Clean raw logs into :class:`ChoicePanel` or :class:`EventLog`, with a report of every drop.

Each raw row is either kept or dropped for the first reason it fails, checked in this order:
missing value, non-numeric price, non-positive price, unknown behaviour, unknown item,
duplicate. The report therefore always satisfies ``rows_in == rows_out + sum(dropped)``.
Row numbers in the report are 1-based data rows (row 1 is the first row after the header).

All checks are vectorized pandas operations, so a log of a million events takes seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from envs.calibration.data import ChoicePanel, EventLog
from envs.calibration.io import (
    EVENT_COLUMNS,
    PANEL_PRICE_PREFIX,
    PANEL_PROMOTION_PREFIXES,
    DataFormatError,
    panel_items,
    require_columns,
)

DROP_REASONS = (
    "missing value",
    "non-numeric price",
    "non-positive price",
    "unknown behaviour",
    "unknown item",
    "duplicate",
)
EXAMPLES_PER_REASON = 5

# Behaviour labels, lower-cased, mapped to whether the event is a purchase.
BEHAVIOURS = {
    "view": False,
    "pv": False,
    "impression": False,
    "click": False,
    "fav": False,
    "cart": False,
    "purchase": True,
    "buy": True,
    "0": False,
    "1": True,
    "0.0": False,
    "1.0": True,
    "false": False,
    "true": True,
}


# Browsing behaviours counted per exposure, as features of the user's later exposures.
BROWSING_BEHAVIOURS = {"view": "view", "pv": "view", "impression": "view", "click": "click", "fav": "cart", "cart": "cart"}
BROWSING_KINDS = ("view", "click", "cart")


@dataclass
class PreprocessReport:
    """Summary of cleaning one table: rows in, rows dropped by reason, rows out."""

    source: str
    rows_in: int
    rows_out: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_dropped(self) -> int:
        return int(sum(self.dropped.values()))

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "dropped": dict(self.dropped),
            "examples": {reason: list(rows) for reason, rows in self.examples.items()},
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        lines = [f"Preprocessing {self.source}", f"  rows in:  {self.rows_in:>10,}"]
        for reason in DROP_REASONS:
            count = self.dropped.get(reason, 0)
            if count:
                rows = ", ".join(str(row) for row in self.examples.get(reason, []))
                lines.append(f"  dropped, {reason + ':':<20}{count:>10,}  (e.g. rows {rows})")
        lines.append(f"  rows out: {self.rows_out:>10,}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


class _DropTracker:
    """Assign each row the first reason it fails and keep example row numbers per reason."""

    def __init__(self, n_rows: int, source: str):
        self.keep = np.ones(n_rows, dtype=bool)
        self.report = PreprocessReport(source=source, rows_in=n_rows)

    def drop(self, reason: str, failing: np.ndarray) -> None:
        newly = failing & self.keep
        count = int(newly.sum())
        if count:
            self.keep &= ~newly
            self.report.dropped[reason] = self.report.dropped.get(reason, 0) + count
            self.report.examples[reason] = (np.flatnonzero(newly)[:EXAMPLES_PER_REASON] + 1).tolist()

    def finish(self) -> PreprocessReport:
        self.report.rows_out = int(self.keep.sum())
        return self.report


def _numeric_price_checks(tracker: _DropTracker, raw: pd.DataFrame) -> pd.DataFrame:
    """Drop non-numeric (infinite included) and non-positive prices in the price columns of ``raw``."""
    numeric = raw.apply(pd.to_numeric, errors="coerce")
    with np.errstate(invalid="ignore"):
        infinite = np.isinf(numeric.to_numpy(dtype=float))
    non_numeric = ((numeric.isna() & raw.notna()).to_numpy() | infinite).any(axis=1)
    tracker.drop("non-numeric price", non_numeric)
    values = numeric.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(values) & (values > 0))
    tracker.drop("non-positive price", bad.any(axis=1))
    return numeric


def preprocess_events(
    frame: pd.DataFrame, source: str = "events", items: list[str] | None = None
) -> tuple[EventLog, PreprocessReport]:
    """Clean an event log and collapse it into purchase/no-purchase exposures.

    Args:
        frame: the raw table with ``user_id``, ``item_id``, ``behavior``, ``price`` and
            optionally ``timestamp``, ``quantity`` and ``promo_<name>`` columns.
        source: name of the file, used in the report and in errors.
        items: the known items; events of other items are dropped as unknown items. None
            accepts every item in the log.

    Returns:
        The exposures and the report of the cleaning step. The report's ``rows_out`` counts
        cleaned events; a note gives the number of exposures they collapse into.
    """
    require_columns(frame, EVENT_COLUMNS, source, "events")
    tracker = _DropTracker(len(frame), source)

    tracker.drop("missing value", frame[list(EVENT_COLUMNS)].isna().to_numpy().any(axis=1))
    price = _numeric_price_checks(tracker, frame[["price"]])["price"].to_numpy(dtype=float)

    behaviour = frame["behavior"].astype(str).str.strip().str.lower()
    is_purchase = behaviour.map(BEHAVIOURS)
    tracker.drop("unknown behaviour", is_purchase.isna().to_numpy())

    item_labels = frame["item_id"].astype(str)
    if items is not None:
        tracker.drop("unknown item", ~item_labels.isin([str(item) for item in items]).to_numpy())
    tracker.drop("duplicate", frame.duplicated(keep="first").to_numpy())
    report = tracker.finish()

    keep = tracker.keep
    promotion_columns = [str(c) for c in frame.columns if str(c).startswith("promo_")]
    kept = pd.DataFrame(
        {
            "user": frame["user_id"].to_numpy()[keep],
            "item": item_labels.to_numpy()[keep],
            "price": price[keep],
            "purchased": is_purchase.to_numpy()[keep].astype(float),
            "row": np.flatnonzero(keep) + 1,
        }
    )
    browsing = behaviour.map(BROWSING_BEHAVIOURS).to_numpy()[keep]
    for kind in BROWSING_KINDS:
        kept[f"n_{kind}"] = (browsing == kind).astype(float)
    for column in promotion_columns:
        kept[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0.0).to_numpy()[keep]
    has_quantity = "quantity" in frame.columns
    if has_quantity:
        quantity = pd.to_numeric(frame["quantity"], errors="coerce").fillna(1.0).to_numpy()[keep]
        kept["quantity"] = np.where(kept["purchased"].to_numpy() > 0, np.maximum(quantity, 0.0), 0.0)
    has_time = "timestamp" in frame.columns
    if has_time:
        kept["timestamp"] = _timestamps_in_seconds(frame["timestamp"])[keep]
    if kept.empty:
        raise DataFormatError(
            f"data file {source!r} has no usable rows after preprocessing:\n{report}\n"
            "Fix the reasons listed above in the file"
        )

    # One exposure per (user, item, price): a view followed by a purchase is one trial.
    aggregations: dict[str, tuple[str, str]] = {"purchased": ("purchased", "max"), "row": ("row", "min")}
    for kind in BROWSING_KINDS:
        aggregations[f"n_{kind}"] = (f"n_{kind}", "sum")
    for column in promotion_columns:
        aggregations[column] = (column, "max")
    if has_quantity:
        aggregations["quantity"] = ("quantity", "sum")
    if has_time:
        aggregations["timestamp"] = ("timestamp", "max")
    exposures = kept.groupby(["user", "item", "price"], sort=False, observed=True).agg(**aggregations).reset_index()
    report.notes.append(
        f"{report.rows_out:,} events collapse into {len(exposures):,} (user, item, price) exposures, "
        f"{int(exposures['purchased'].sum()):,} of them purchases"
    )

    user_codes, user_ids = pd.factorize(exposures["user"], sort=True)
    item_names = sorted(exposures["item"].unique()) if items is None else [str(i) for i in items]
    item_codes = pd.Categorical(exposures["item"], categories=item_names).codes
    log = EventLog(
        items=tuple(item_names),
        user_ids=np.asarray(user_ids),
        users=user_codes.astype(np.int64),
        item=item_codes.astype(np.int64),
        price=exposures["price"].to_numpy(dtype=float),
        promotions=exposures[promotion_columns].to_numpy(dtype=float).reshape(len(exposures), len(promotion_columns)),
        promotion_names=tuple(c[len("promo_"):] for c in promotion_columns),
        purchased=exposures["purchased"].to_numpy(dtype=float),
        quantity=exposures["quantity"].to_numpy(dtype=float) if has_quantity else None,
        timestamp=exposures["timestamp"].to_numpy(dtype=float) if has_time else None,
        browsing=exposures[[f"n_{kind}" for kind in BROWSING_KINDS]].to_numpy(dtype=float),
        row_numbers=exposures["row"].to_numpy(dtype=np.int64),
        source=source,
    )
    return log, report


def _timestamps_in_seconds(column: pd.Series) -> np.ndarray:
    numeric = pd.to_numeric(column, errors="coerce")
    if numeric.notna().mean() > 0.5:
        return numeric.to_numpy(dtype=float)
    parsed = pd.to_datetime(column, errors="coerce", utc=True)
    seconds = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return seconds.to_numpy(dtype=float)


def preprocess_panel(frame: pd.DataFrame, source: str = "panel") -> tuple[ChoicePanel, PreprocessReport]:
    """Clean a wide choice panel (one row per purchase occasion) into a :class:`ChoicePanel`.

    Duplicates are detected only through an ``occasion_id`` column: without one, two equal
    rows are two real purchases at the same prices (common in scanner panels), not an error.
    """
    require_columns(frame, ("user_id", "choice"), source, "choices")
    items = panel_items(frame, source)
    price_columns = [PANEL_PRICE_PREFIX + item for item in items]
    tracker = _DropTracker(len(frame), source)

    tracker.drop("missing value", frame[["user_id", "choice", *price_columns]].isna().to_numpy().any(axis=1))
    prices = _numeric_price_checks(tracker, frame[price_columns]).to_numpy(dtype=float)
    choice_labels = frame["choice"].astype(str).str.strip()
    tracker.drop("unknown item", ~choice_labels.isin(items).to_numpy())
    if "occasion_id" in frame.columns:
        tracker.drop("duplicate", frame.duplicated(subset=["user_id", "occasion_id"], keep="first").to_numpy())
    else:
        tracker.report.notes.append("duplicates not checked: the panel has no occasion_id column")
    report = tracker.finish()
    keep = tracker.keep
    if not keep.any():
        raise DataFormatError(
            f"data file {source!r} has no usable rows after preprocessing:\n{report}\n"
            "Fix the reasons listed above in the file"
        )

    promotion_kinds = []
    for prefix in PANEL_PROMOTION_PREFIXES:
        if any(f"{prefix}{item}" in frame.columns for item in items):
            promotion_kinds.append(prefix)
    promotions = np.zeros((int(keep.sum()), len(items), len(promotion_kinds)))
    for k, prefix in enumerate(promotion_kinds):
        for j, item in enumerate(items):
            column = f"{prefix}{item}"
            if column in frame.columns:
                values = pd.to_numeric(frame[column], errors="coerce").fillna(0.0).to_numpy(dtype=float)
                promotions[:, j, k] = values[keep]

    user_codes, user_ids = pd.factorize(frame["user_id"].to_numpy()[keep], sort=True)
    choices = pd.Categorical(choice_labels.to_numpy()[keep], categories=items).codes
    panel = ChoicePanel(
        items=tuple(items),
        user_ids=np.asarray(user_ids),
        users=user_codes.astype(np.int64),
        prices=prices[keep],
        promotions=promotions,
        promotion_names=tuple(prefix.rstrip(".") for prefix in promotion_kinds),
        choices=choices.astype(np.int64),
        row_numbers=np.flatnonzero(keep).astype(np.int64) + 1,
        source=source,
    )
    return panel, report
