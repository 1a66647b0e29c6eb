"""Many independent single-product markets stepped together in numpy.

``SingleProductVectorEnv`` is the ``vector_entry_point`` of ``PricingSim/SingleProduct-v0``,
so ``gymnasium.make_vec("PricingSim/SingleProduct-v0", num_envs=N)`` returns it.

Market ``i`` reproduces, step for step and bit for bit, a scalar ``SingleProductEnv``
built with the same arguments and reset with seed ``seed + i`` (or ``seeds[i]`` for a
list), as ``gymnasium.vector.SyncVectorEnv`` would seed it, including across automatic
resets. Both draw their arrivals from the counter-based streams of
``envs.random_streams``, keyed by a 64-bit key that each market draws from its own
``np_random`` at reset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import VectorEnv
from gymnasium.vector.utils import batch_space
from gymnasium.vector.vector_env import AutoresetMode

from envs.demand import DemandModel
from envs.pricing import MarketProperties
from envs.random_streams import draw_stream_key, uniform_bits
from envs.single_product import DEFAULT_DEMAND, DEFAULT_HORIZON, SingleProductMarket

INFO_KEYS = ("price", "customers", "units_sold", "revenue", "profit", "oracle_revenue")


def _autoreset_mode(value: Any) -> AutoresetMode:
    if isinstance(value, AutoresetMode):
        return value
    for mode in AutoresetMode:
        if isinstance(value, str) and value.replace("_", "").lower() == mode.value.lower():
            return mode
    valid = [mode.value for mode in AutoresetMode]
    raise ValueError(f"autoreset_mode must be an AutoresetMode or one of {valid}, got {value!r}.")


# Arguments of SingleProductEnv that the batched markets do not implement.
SCALAR_ONLY_ARGUMENTS = ("scenarios", "observe_competitor_prices")


def _reject_unsupported(arguments: Mapping[str, Any]) -> None:
    """Raise ValueError for keyword arguments that ``SingleProductVectorEnv`` does not take."""
    if not arguments:
        return
    names = ", ".join(repr(name) for name in sorted(arguments))
    scalar_only = sorted(set(arguments) & set(SCALAR_ONLY_ARGUMENTS))
    if scalar_only:
        raise ValueError(
            f"SingleProductVectorEnv does not support {names}: only the scalar SingleProductEnv "
            "runs scenarios. Use gymnasium.make_vec(..., vectorization_mode=\"sync\") to step "
            "scalar markets with these arguments."
        )
    raise ValueError(
        f"SingleProductVectorEnv got unknown argument(s) {names}; valid arguments are num_envs, "
        "autoreset_mode, render_mode and those of SingleProductEnv without scenarios."
    )


class SingleProductVectorEnv(MarketProperties, VectorEnv):
    """``num_envs`` independent ``SingleProduct-v0`` markets in one numpy step.

    Every market shares the arguments of ``SingleProductEnv`` (demand, horizon, price grid,
    action type, unit cost, initial reference price); see that class for the observation,
    action, reward and info of one market. Here they are batched: observations of shape
    (num_envs, 4), actions of shape (num_envs,) (discrete) or (num_envs, 1) (continuous),
    rewards, terminations and truncations of shape (num_envs,), and info arrays of shape
    (num_envs,) under the same keys, each with its ``_key`` mask.

    Args:
        num_envs: number of markets, >= 1.
        autoreset_mode: ``AutoresetMode.NEXT_STEP`` (default, as ``SyncVectorEnv``): the
            step after an episode ends resets that market, ignores its action and returns
            reward 0. ``SAME_STEP``: a finished market resets in the same step, and its last
            observation and info go to ``info["final_obs"]`` and ``info["final_info"]``.
            ``DISABLED``: reset finished markets with ``reset(options={"reset_mask": m})``.
        **market arguments: as ``SingleProductEnv``, except ``scenarios`` and
            ``observe_competitor_prices``, which raise ``ValueError`` (step scalar markets
            with ``vectorization_mode="sync"`` for those).

    Seeding follows ``SyncVectorEnv``: ``reset(seed=s)`` seeds market ``i`` with ``s + i``,
    a list seeds each market, and ``None`` keeps each market's generator (or creates one
    from fresh entropy on the first reset).
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int = 1,
        demand: str | DemandModel | Mapping[str, Any] = DEFAULT_DEMAND,
        demand_params: Mapping[str, Any] | None = None,
        horizon: int = DEFAULT_HORIZON,
        action_type: str = "discrete",
        n_prices: int | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        price_grid: Any = None,
        unit_cost: float = 0.0,
        initial_reference_price: float | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        **unsupported: Any,
    ) -> None:
        _reject_unsupported(unsupported)
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}.")
        if render_mode is not None:
            raise ValueError(
                f"SingleProductVectorEnv does not render; render_mode must be None, got {render_mode!r}."
            )
        self.num_envs = int(num_envs)
        self.render_mode = None
        self.autoreset_mode = _autoreset_mode(autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}

        self.market = SingleProductMarket(
            demand=demand,
            demand_params=demand_params,
            horizon=horizon,
            action_type=action_type,
            n_prices=n_prices,
            min_price=min_price,
            max_price=max_price,
            price_grid=price_grid,
            unit_cost=unit_cost,
            initial_reference_price=initial_reference_price,
        )
        self.single_action_space = self.market.actions.action_space
        self.single_observation_space = self.market.observation_space
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)

        n = self.num_envs
        self._rngs: list[np.random.Generator | None] = [None] * n
        self._keys = np.zeros(n, dtype=np.uint64)
        self._periods = np.full(n, self.market.horizon, dtype=np.int64)
        self._last_prices = np.zeros(n)
        self._last_units = np.zeros(n, dtype=np.int64)
        self._references = np.full(n, self.market.initial_reference_price)
        self._needs_reset = np.zeros(n, dtype=bool)
        self._draw_offsets = np.array([1, 2], dtype=np.uint64)
        self._has_reset = False

        self._constant_oracle_reward: float | None = None
        if not self.market.reference_dependent:
            self._constant_oracle_reward = float(
                self.market.oracle().expected_step_reward(self.market.initial_reference_price)
            )

    def oracle(self) -> Any:
        """Return the optimal policy of one market (they are all the same market)."""
        return self.market.oracle()

    # -- reset ------------------------------------------------------------------------

    def _seeds(self, seed: int | Sequence[int | None] | None) -> list[int | None]:
        if seed is None:
            return [None] * self.num_envs
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            return [int(seed) + i for i in range(self.num_envs)]
        seeds = list(seed)
        if len(seeds) != self.num_envs:
            raise ValueError(
                f"A list of seeds must have num_envs={self.num_envs} entries, got {len(seeds)}."
            )
        return seeds

    def _reset_markets(self, indices: np.ndarray, seeds: list[int | None] | None = None) -> None:
        # Resets are rare (once per episode), so a Python loop over the markets is fine.
        for position, i in enumerate(indices.tolist()):
            seed = None if seeds is None else seeds[position]
            if seed is not None or self._rngs[i] is None:
                self._rngs[i], _ = seeding.np_random(seed)
            self._keys[i] = draw_stream_key(self._rngs[i])
        self._periods[indices] = 0
        self._last_prices[indices] = 0.0
        self._last_units[indices] = 0
        self._references[indices] = self.market.initial_reference_price
        self._needs_reset[indices] = False

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        seeds = self._seeds(seed)
        mask = None if options is None else options.get("reset_mask")
        if mask is None:
            indices = np.arange(self.num_envs)
        else:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
                raise ValueError(
                    f"options['reset_mask'] must be a bool array of shape ({self.num_envs},), "
                    f"got {mask!r}."
                )
            if not self._has_reset and not mask.all():
                raise ValueError("The first reset must reset every market; omit reset_mask.")
            indices = np.flatnonzero(mask)
            seeds = [seeds[i] for i in indices]
        self._reset_markets(indices, seeds)
        self._has_reset = True
        return self._observations(), {}

    # -- step -------------------------------------------------------------------------

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._has_reset:
            raise RuntimeError("Call reset() before step().")
        market = self.market
        horizon = market.horizon

        if self.autoreset_mode == AutoresetMode.DISABLED and self._needs_reset.any():
            ended = np.flatnonzero(self._needs_reset).tolist()
            raise RuntimeError(
                f"Markets {ended} have ended; reset them with "
                "reset(options={'reset_mask': mask}) before stepping (autoreset is disabled)."
            )
        resetting = (
            np.flatnonzero(self._needs_reset)
            if self.autoreset_mode == AutoresetMode.NEXT_STEP
            else np.empty(0, dtype=np.int64)
        )

        # Validate the actions and turn them into prices.
        if market.actions.discrete:
            indices = market.actions.batch_indices(actions, self.num_envs)
            prices = market.price_grid[indices]
        else:
            indices = None
            prices = market.actions.batch_prices(actions, self.num_envs)

        # Random bits of this period: one row per market, columns (buyers, non-buyers).
        periods = np.minimum(self._periods, horizon - 1)
        counters = (2 * periods).astype(np.uint64)[:, None] + self._draw_offsets
        bits = uniform_bits(self._keys[:, None], counters)

        references = self._references
        if market.uses_table:
            rows = np.concatenate([indices, indices + market.actions.n_prices])
            draws = market.poisson_table.sample(rows, bits.T.ravel())
            units = draws[: self.num_envs]
            customers = units + draws[self.num_envs :]
        else:
            units, customers = market.sample_sales(prices, references, bits[:, 0], bits[:, 1])

        if self._constant_oracle_reward is not None:
            oracle_rewards = np.full(self.num_envs, self._constant_oracle_reward)
        else:
            oracle_rewards = market.oracle().expected_step_reward(references, horizon - periods)

        revenues = prices * units
        rewards = (prices - market.unit_cost) * units
        self._references = market.next_references(references, prices)
        self._periods = self._periods + 1
        # Copies: the info arrays returned to the caller must not alias the state.
        self._last_prices = prices.copy()
        self._last_units = units.copy()
        truncated = self._periods >= horizon
        terminated = np.zeros(self.num_envs, dtype=bool)

        info: dict[str, Any] = {
            "price": prices,
            "customers": customers,
            "units_sold": units,
            "revenue": revenues,
            "profit": rewards.copy(),
            "oracle_revenue": oracle_rewards,
        }
        has_info = np.ones(self.num_envs, dtype=bool)

        if resetting.size:
            self._reset_markets(resetting)
            rewards[resetting] = 0.0
            truncated[resetting] = False
            has_info[resetting] = False
            for key in INFO_KEYS:
                info[key][resetting] = 0

        for key in INFO_KEYS:
            info[f"_{key}"] = has_info

        observations = self._observations()
        ended = truncated | terminated
        if self.autoreset_mode == AutoresetMode.SAME_STEP and ended.any():
            finished = np.flatnonzero(ended)
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in finished.tolist():
                final_obs[i] = observations[i].copy()
            info["final_obs"] = final_obs
            info["_final_obs"] = ended.copy()
            final_info: dict[str, Any] = {}
            for key in INFO_KEYS:
                final_info[key] = np.where(ended, info[key], np.zeros_like(info[key]))
                final_info[f"_{key}"] = ended.copy()
            info["final_info"] = final_info
            info["_final_info"] = ended.copy()
            self._reset_markets(finished)
            observations = self._observations()
        else:
            self._needs_reset = ended

        return observations, rewards, terminated, truncated, info

    def _observations(self) -> np.ndarray:
        horizon = self.market.horizon
        observations = np.empty((self.num_envs, 4), dtype=np.float32)
        observations[:, 0] = self._last_prices
        observations[:, 1] = self._last_units
        observations[:, 2] = self._references
        observations[:, 3] = (horizon - self._periods) / horizon
        return observations

    def close_extras(self, **kwargs: Any) -> None:
        """Release nothing: the markets hold no external resources."""
