"""Clean, validated tables that the demand models fit: choice panels and event logs.

Both are plain containers of numpy arrays built by :mod:`envs.calibration.preprocess`.
Users and items are stored as integer codes (``0..U-1`` and ``0..J-1``); ``user_ids`` and
``items`` map the codes back to the identifiers in the source file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class _TableSizes:
    """Row, item and user counts shared by the cleaned tables."""

    items: tuple[str, ...]
    user_ids: np.ndarray
    users: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.users.shape[0])

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_users(self) -> int:
        return int(self.user_ids.shape[0])


@dataclass
class ChoicePanel(_TableSizes):
    """Purchase occasions on which each customer chose exactly one of ``J`` items.

    Attributes:
        items: item names, in column order of ``prices``.
        user_ids: original user identifier of each user code, shape ``(U,)``.
        users: user code of each occasion, shape ``(n,)``.
        prices: price of every item on every occasion (currency), shape ``(n, J)``.
        promotions: promotion indicators (feature ads, displays), shape ``(n, J, P)``.
        promotion_names: names of the ``P`` promotion kinds.
        choices: code of the chosen item on each occasion, shape ``(n,)``.
        row_numbers: 1-based data row of each occasion in the source table.
        source: file or dataset name the panel came from.
        history: per-occasion user history features (see :mod:`envs.calibration.features`),
            shape ``(n, F)``, or None until computed.
        loyalty: per-occasion share of the user's earlier choices going to each item,
            shape ``(n, J)``, or None until computed.
    """

    items: tuple[str, ...]
    user_ids: np.ndarray
    users: np.ndarray
    prices: np.ndarray
    promotions: np.ndarray
    promotion_names: tuple[str, ...]
    choices: np.ndarray
    row_numbers: np.ndarray
    source: str = ""
    history: np.ndarray | None = None
    loyalty: np.ndarray | None = None

    kind = "choices"

    def subset(self, rows: np.ndarray) -> ChoicePanel:
        """Return the occasions at ``rows`` (indices or a boolean mask), keeping all user codes."""
        return ChoicePanel(
            items=self.items,
            user_ids=self.user_ids,
            users=self.users[rows],
            prices=self.prices[rows],
            promotions=self.promotions[rows],
            promotion_names=self.promotion_names,
            choices=self.choices[rows],
            row_numbers=self.row_numbers[rows],
            source=self.source,
            history=None if self.history is None else self.history[rows],
            loyalty=None if self.loyalty is None else self.loyalty[rows],
        )


@dataclass
class EventLog(_TableSizes):
    """Exposures of users to single items at a price, each with a purchase outcome.

    One row is one (user, item, price) exposure after preprocessing: views, clicks and
    carts of the same user and item at the same price collapse into one row whose
    ``purchased`` is 1 when any of them ended in a purchase.

    Attributes:
        items: item names, indexed by the codes in ``item``.
        user_ids: original user identifier of each user code, shape ``(U,)``.
        users: user code of each exposure, shape ``(n,)``.
        item: item code of each exposure, shape ``(n,)``.
        price: price shown (currency), shape ``(n,)``.
        promotions: promotion indicators of each exposure, shape ``(n, P)``.
        promotion_names: names of the ``P`` promotion columns.
        purchased: 1.0 when the exposure ended in a purchase, else 0.0, shape ``(n,)``.
        quantity: units bought (0 when not purchased), shape ``(n,)``, or None when the
            log has no quantity column.
        timestamp: time of the last event of the exposure (seconds), or None.
        row_numbers: 1-based data row in the source table of the exposure's first event.
        source: file name the log came from.
        history: per-exposure user history features, shape ``(n, F)``, or None until computed.
        browsing: number of view, click and cart events in each exposure, shape ``(n, 3)``,
            or None when unknown.
    """

    items: tuple[str, ...]
    user_ids: np.ndarray
    users: np.ndarray
    item: np.ndarray
    price: np.ndarray
    promotions: np.ndarray
    promotion_names: tuple[str, ...]
    purchased: np.ndarray
    quantity: np.ndarray | None
    timestamp: np.ndarray | None
    row_numbers: np.ndarray
    source: str = ""
    history: np.ndarray | None = None
    browsing: np.ndarray | None = None

    kind = "events"

    def subset(self, rows: np.ndarray) -> EventLog:
        """Return the exposures at ``rows`` (indices or a boolean mask), keeping all codes."""
        return EventLog(
            items=self.items,
            user_ids=self.user_ids,
            users=self.users[rows],
            item=self.item[rows],
            price=self.price[rows],
            promotions=self.promotions[rows],
            promotion_names=self.promotion_names,
            purchased=self.purchased[rows],
            quantity=None if self.quantity is None else self.quantity[rows],
            timestamp=None if self.timestamp is None else self.timestamp[rows],
            row_numbers=self.row_numbers[rows],
            source=self.source,
            history=None if self.history is None else self.history[rows],
            browsing=None if self.browsing is None else self.browsing[rows],
        )


CalibrationData = ChoicePanel | EventLog
