"""Price grids and the mapping between actions and prices, shared by every market.

A market posts prices in one of two action modes:

- ``"discrete"``: ``Discrete(n)``, action ``i`` posts ``price_grid[i]``.
- ``"continuous"``: ``Box(-1, 1, (1,), float32)``, action ``a`` posts
  ``min_price + (a + 1) / 2 * (max_price - min_price)``.

Invalid actions (NaN, out of the space, wrong type) raise ``ValueError`` naming the value.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np
from gymnasium import spaces

ACTION_TYPES = ("discrete", "continuous")

# Prices the oracles search over in continuous mode when no closed form applies.
CONTINUOUS_CANDIDATE_PRICES = 201


def _check_finite_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    return float(value)


def build_price_grid(
    n_prices: int | None,
    min_price: float | None,
    max_price: float | None,
    price_grid: Any = None,
) -> np.ndarray:
    """Build and validate a strictly increasing float64 price grid.

    Either ``price_grid`` is given (then ``n_prices`` must be None or its length, and
    ``min_price``/``max_price`` must be None or match its ends), or ``n_prices`` evenly
    spaced prices from ``min_price`` to ``max_price`` are used.
    """
    if price_grid is not None:
        grid = np.asarray(price_grid, dtype=np.float64)
        if grid.ndim != 1 or grid.size < 2:
            raise ValueError(
                f"price_grid must be a 1-d sequence of at least 2 prices, got {price_grid!r}."
            )
        if not np.all(np.isfinite(grid)) or np.any(grid < 0):
            raise ValueError(f"price_grid must contain finite prices >= 0, got {price_grid!r}.")
        if np.any(np.diff(grid) <= 0):
            raise ValueError(f"price_grid must be strictly increasing, got {price_grid!r}.")
        if n_prices is not None and n_prices != grid.size:
            raise ValueError(
                f"n_prices={n_prices!r} disagrees with len(price_grid)={grid.size}; "
                "pass only one of them."
            )
        for name, value, end in (("min_price", min_price, grid[0]), ("max_price", max_price, grid[-1])):
            if value is not None and not math.isclose(float(value), float(end)):
                raise ValueError(
                    f"{name}={value!r} disagrees with the price grid end {end!r}; "
                    "pass only price_grid."
                )
        return grid

    if n_prices is None or min_price is None or max_price is None:
        raise ValueError(
            "Set n_prices, min_price and max_price, or pass an explicit price_grid; got "
            f"n_prices={n_prices!r}, min_price={min_price!r}, max_price={max_price!r}."
        )
    if isinstance(n_prices, bool) or not isinstance(n_prices, Integral) or n_prices < 2:
        raise ValueError(f"n_prices must be an integer >= 2, got {n_prices!r}.")
    low, high = check_price_range(min_price, max_price)
    return np.linspace(low, high, int(n_prices))


def check_price_range(min_price: Any, max_price: Any) -> tuple[float, float]:
    """Validate ``0 <= min_price < max_price`` (both finite) and return them as floats."""
    low = _check_finite_number("min_price", min_price)
    high = _check_finite_number("max_price", max_price)
    if low < 0:
        raise ValueError(f"min_price must be >= 0, got {min_price!r}.")
    if not low < high:
        raise ValueError(
            f"min_price must be below max_price, got min_price={min_price!r}, "
            f"max_price={max_price!r}."
        )
    return low, high


class PriceActions:
    """The action space of a market and the validated map from actions to prices.

    Args:
        action_type: ``"discrete"`` or ``"continuous"``.
        price_grid: strictly increasing prices; in discrete mode action ``i`` posts
            ``price_grid[i]``, in continuous mode only its ends matter.
    """

    def __init__(self, action_type: str, price_grid: np.ndarray) -> None:
        if action_type not in ACTION_TYPES:
            raise ValueError(
                f"action_type must be one of {ACTION_TYPES}, got {action_type!r}."
            )
        self.action_type = action_type
        self.discrete = action_type == "discrete"
        self.price_grid = np.asarray(price_grid, dtype=np.float64)
        self.n_prices = int(self.price_grid.size)
        self.min_price = float(self.price_grid[0])
        self.max_price = float(self.price_grid[-1])
        self._grid_list = self.price_grid.tolist()
        self._span = self.max_price - self.min_price

        if self.discrete:
            self.action_space: spaces.Space = spaces.Discrete(self.n_prices)
            self.candidate_prices = self.price_grid
        else:
            self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
            self.candidate_prices = np.linspace(
                self.min_price, self.max_price, CONTINUOUS_CANDIDATE_PRICES
            )

    # -- scalar actions -------------------------------------------------------------

    def discrete_index(self, action: Any) -> int:
        """Validate a discrete action and return it as a Python int."""
        # Fast paths first: this runs on every step, and Gymnasium samples numpy integers.
        if type(action) is int:
            index = action
        elif isinstance(action, np.integer):
            index = int(action)
        else:
            index = self._coerce_index(action)
        if not 0 <= index < self.n_prices:
            raise ValueError(
                f"Invalid action {action!r}: price index must lie in [0, {self.n_prices - 1}]."
            )
        return index

    def _coerce_index(self, action: Any) -> int:
        """Turn a 0-d or 1-element array, or an integral float, into an int, or raise."""
        value = action
        if isinstance(value, np.ndarray) and value.size == 1 and value.ndim <= 1:
            value = value.reshape(()).item()
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Integral, Real)):
            raise ValueError(
                f"Invalid action {action!r}: expected an integer price index in "
                f"[0, {self.n_prices - 1}]."
            )
        if not isinstance(value, Integral) and (not math.isfinite(value) or value != int(value)):
            raise ValueError(
                f"Invalid action {action!r}: expected an integer price index in "
                f"[0, {self.n_prices - 1}]."
            )
        return int(value)

    def continuous_price(self, action: Any) -> float:
        """Validate a continuous action in [-1, 1] and return the price it posts."""
        value = np.asarray(action, dtype=np.float64)
        if value.size != 1:
            raise ValueError(
                f"Invalid action {action!r}: expected an array of shape (1,) in [-1, 1]."
            )
        scaled = float(value.reshape(()))
        if not -1.0 <= scaled <= 1.0:
            raise ValueError(
                f"Invalid action {action!r}: continuous actions must lie in [-1, 1] "
                "and not be NaN."
            )
        return self.action_to_price(scaled)

    def action_to_price(self, scaled: float) -> float:
        """Map a continuous action value in [-1, 1] onto [min_price, max_price]."""
        price = self.min_price + (scaled + 1.0) / 2.0 * self._span
        return min(max(price, self.min_price), self.max_price)

    def price(self, action: Any) -> float:
        """Validate any action and return the price it posts."""
        if self.discrete:
            return self._grid_list[self.discrete_index(action)]
        return self.continuous_price(action)

    def price_to_action(self, price: float) -> int | np.ndarray:
        """Return the action that posts ``price`` (the nearest grid price in discrete mode)."""
        if self.discrete:
            return int(np.argmin(np.abs(self.price_grid - price)))
        scaled = 2.0 * (price - self.min_price) / self._span - 1.0
        return np.array([min(max(scaled, -1.0), 1.0)], dtype=np.float32)

    # -- batched actions ------------------------------------------------------------

    def batch_indices(self, actions: Any, num_envs: int) -> np.ndarray:
        """Validate a batch of discrete actions and return them as int64 indices."""
        array = np.asarray(actions)
        if array.shape != (num_envs,):
            raise ValueError(
                f"Invalid actions: expected shape ({num_envs},), got {array.shape} ({actions!r})."
            )
        if array.dtype.kind not in "iu":
            if array.dtype.kind != "f" or not np.all(np.isfinite(array)) or np.any(
                array != np.round(array)
            ):
                raise ValueError(
                    f"Invalid actions {actions!r}: expected integer price indices in "
                    f"[0, {self.n_prices - 1}]."
                )
        indices = array.astype(np.int64)
        bad = (indices < 0) | (indices >= self.n_prices)
        if bad.any():
            raise ValueError(
                f"Invalid action {array[bad][0]!r}: price index must lie in "
                f"[0, {self.n_prices - 1}]."
            )
        return indices

    def batch_prices(self, actions: Any, num_envs: int) -> np.ndarray:
        """Validate a batch of continuous actions of shape (num_envs, 1) and map them to prices."""
        array = np.asarray(actions, dtype=np.float64)
        if array.shape == (num_envs,):
            array = array[:, None]
        if array.shape != (num_envs, 1):
            raise ValueError(
                f"Invalid actions: expected shape ({num_envs}, 1), got {array.shape}."
            )
        scaled = array[:, 0]
        bad = ~((scaled >= -1.0) & (scaled <= 1.0))
        if bad.any():
            raise ValueError(
                f"Invalid action {scaled[bad][0]!r}: continuous actions must lie in [-1, 1] "
                "and not be NaN."
            )
        prices = self.min_price + (scaled + 1.0) / 2.0 * self._span
        return np.clip(prices, self.min_price, self.max_price)


class MarketProperties:
    """Read-only views of ``self.market`` that every PricingSim env exposes on ``env.unwrapped``.

    The market object holds the fixed parameters; these properties let agents and users read
    them from the env without knowing where they are stored.
    """

    market: Any

    @property
    def price_grid(self) -> np.ndarray:
        """Prices of the discrete actions (currency)."""
        return self.market.price_grid

    @property
    def min_price(self) -> float:
        """Lowest price the market can post (currency)."""
        return self.market.min_price

    @property
    def max_price(self) -> float:
        """Highest price the market can post (currency)."""
        return self.market.max_price
