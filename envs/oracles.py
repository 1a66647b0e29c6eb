"""Optimal pricing policies of the markets, computed from the true demand model.

Every policy here has ``act(observation)``, which returns an action inside the market's
action space, and ``expected_return()``, the expected total reward of an episode from the
start state when the policy is followed.

- Stationary demand (``SingleProduct-v0`` without a reference price): periods are
  independent, so the myopic optimum is optimal in every period. On a discrete grid it is
  the grid price with the highest expected reward. In continuous mode it is the demand
  model's closed-form ``optimal_price`` inside [min_price, max_price].
- Reference-price demand: the state is (reference price ``r``, periods left ``t``) and
  ``r`` moves deterministically, ``r' = memory * r + (1 - memory) * p``. Backward induction
  on a grid of reference prices, with linear interpolation between grid points, gives
  ``V_t``; the policy is the one-step lookahead on the interpolated ``V_{t-1}``.
- Inventory (``Inventory-v0``): exact dynamic programming over (stock left, periods left)
  with Poisson demand cut at the stock (the tail mass sells the whole stock).
- ``best_fixed_price_policy``: the single price with the highest expected episode reward.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
from scipy.special import gammaln, pdtrc, xlogy

from envs.pricing import PriceActions

# Reference-price grid points of the value iteration. On the default reference-price
# market (logit base, memory 0.8, 100 periods) 201 points put the interpolated start value
# within 5e-7 (relative) of the exact return of the policy it induces. That return is
# within 1e-7 of the return of the policy from 3,201 points (docs/markets.md).
DEFAULT_REFERENCE_POINTS = 201

# Demand probabilities below this are set to zero in the inventory dynamic program.
_NEGLIGIBLE_PROBABILITY = 1e-200


def _price_action(actions: PriceActions, price: float, index: int | None) -> Any:
    if actions.discrete:
        return int(index) if index is not None else actions.price_to_action(price)
    return actions.price_to_action(price)


def observation_state(observation: Any) -> tuple[float, float]:
    """Return entries 2 and 3 of a market observation, the ones the sequential oracles read.

    They are the reference price and the fraction of the horizon left (SingleProduct-v0) or
    the stock and the periods left (Inventory-v0). Raises ``ValueError`` for an observation
    that is not a 1-d array of at least 4 entries, or whose entries 2 and 3 are not finite.
    """
    array = np.asarray(observation, dtype=np.float64)
    if array.ndim != 1 or array.size < 4:
        raise ValueError(
            f"Invalid observation {observation!r}: the oracle needs the market's observation, "
            "a 1-d array of at least 4 entries."
        )
    first, second = float(array[2]), float(array[3])
    if not (np.isfinite(first) and np.isfinite(second)):
        raise ValueError(
            f"Invalid observation {observation!r}: entries 2 and 3 must be finite."
        )
    return first, second


class FixedPricePolicy:
    """Post the same price in every period.

    Attributes:
        price: the posted price (currency).
        action: the action that posts it.
    """

    def __init__(
        self,
        actions: PriceActions,
        price: float,
        episode_return: float,
        step_reward: float | None = None,
        index: int | None = None,
    ) -> None:
        self.price = float(price)
        self.action = _price_action(actions, self.price, index)
        self._episode_return = float(episode_return)
        self._step_reward = step_reward

    def act(self, observation: Any = None) -> Any:
        """Return the fixed action, whatever the observation."""
        if isinstance(self.action, np.ndarray):
            return self.action.copy()
        return self.action

    def expected_return(self) -> float:
        """Return the expected total reward of an episode from the start state."""
        return self._episode_return

    def expected_step_reward(self, *state: Any) -> float | np.ndarray:
        """Return the expected reward of one period (the same in every state)."""
        if self._step_reward is None:
            raise NotImplementedError("This fixed-price policy has no per-period reward.")
        if state and np.ndim(state[0]) > 0:
            return np.full(np.shape(state[0]), self._step_reward)
        return self._step_reward

    def __repr__(self) -> str:
        return f"{type(self).__name__}(price={self.price!r}, expected_return={self._episode_return!r})"


class MyopicOracle(FixedPricePolicy):
    """The optimal policy of a stationary market: the best price of one period, every period."""


def myopic_oracle(market: Any) -> MyopicOracle:
    """Build the myopic optimum of a stationary single-product market.

    ``market`` is a ``SingleProductMarket`` (``env.unwrapped.market``).
    """
    actions = market.actions
    if actions.discrete:
        rewards = market.expected_rewards(actions.price_grid)
        index = int(np.argmax(rewards))
        price = float(actions.price_grid[index])
    else:
        index = None
        price = float(
            market.demand.optimal_price(
                unit_cost=market.unit_cost, price_bounds=(market.min_price, market.max_price)
            )
        )
        # The closed form is exact, but guard against a model whose numeric optimum
        # missed: never do worse than the candidate grid.
        grid = actions.candidate_prices
        grid_rewards = market.expected_rewards(grid)
        if grid_rewards.max() > float(market.expected_rewards(np.array([price]))[0]):
            price = float(grid[int(np.argmax(grid_rewards))])
    step_reward = float(market.expected_rewards(np.array([price]))[0])
    return MyopicOracle(actions, price, market.horizon * step_reward, step_reward, index)


def _best_fixed_price(market: Any) -> tuple[float, float, int | None]:
    """Return (price, expected episode reward, grid index or None) of the best fixed price."""
    actions: PriceActions = market.actions
    candidates = np.asarray(actions.candidate_prices, dtype=np.float64)
    if not actions.discrete:
        try:
            closed_form = market.demand.optimal_price(
                unit_cost=getattr(market, "unit_cost", 0.0),
                price_bounds=(actions.min_price, actions.max_price),
            )
            candidates = np.unique(np.append(candidates, closed_form))
        except ValueError:
            # Some models have no myopic optimum without bounds; the grid still applies.
            pass
    returns = np.asarray(market.fixed_price_returns(candidates), dtype=np.float64)
    best = int(np.argmax(returns))
    index = best if actions.discrete else None
    return float(candidates[best]), float(returns[best]), index


def _searched_prices(market: Any) -> np.ndarray:
    """Return the prices a sequential oracle searches.

    The grid in discrete mode. In continuous mode, 201 evenly spaced prices plus the best
    fixed price, so the oracle never does worse than ``best_fixed_price_policy``.
    """
    actions: PriceActions = market.actions
    prices = np.asarray(actions.candidate_prices, dtype=np.float64)
    if actions.discrete:
        return prices
    return np.unique(np.append(prices, _best_fixed_price(market)[0]))


def best_fixed_price_policy(env: Any) -> FixedPricePolicy:
    """Return the single price with the highest expected episode reward.

    Searches the price grid (discrete mode) or 201 evenly spaced prices plus the demand
    model's myopic optimum (continuous mode). ``env`` is any market whose ``unwrapped``
    has a ``market`` with ``actions`` and ``fixed_price_returns(prices)``.
    """
    market = env.unwrapped.market
    price, expected_return, index = _best_fixed_price(market)
    return FixedPricePolicy(market.actions, price, expected_return, index=index)


# ------------------------------------------------------------------------------------------
# Reference-price markets: value iteration over a discretized reference price


class ReferencePriceOracle:
    """Near-optimal policy of a single-product market with reference-price demand.

    Backward induction over (reference price, periods left), with the reference price on
    ``n_reference_points`` evenly spaced points of [min_price, max_price] and linear
    interpolation in between. The actions searched are the price grid (discrete mode) or
    201 evenly spaced prices plus the best fixed price (continuous mode).

    ``expected_return()`` is the exact expected return of this policy from the start state,
    computed by a rollout (the reference price moves deterministically), so it is a lower
    bound on the true optimum. ``interpolated_value()`` is the value-iteration estimate;
    their gap measures the discretization error.
    """

    def __init__(self, market: Any, n_reference_points: int = DEFAULT_REFERENCE_POINTS) -> None:
        if n_reference_points < 2:
            raise ValueError(
                f"n_reference_points must be at least 2, got {n_reference_points!r}."
            )
        self.market = market
        self.actions: PriceActions = market.actions
        self.prices = _searched_prices(market)
        self.horizon = int(market.horizon)
        self.references = np.linspace(market.min_price, market.max_price, n_reference_points)
        self._step = self.references[1] - self.references[0]

        rewards = self._rewards(self.references)
        lower, weight = self._interpolation(self._next_references(self.references))
        values = np.zeros((self.horizon + 1, n_reference_points))
        for periods_left in range(1, self.horizon + 1):
            previous = values[periods_left - 1]
            future = previous[lower] * (1.0 - weight) + previous[lower + 1] * weight
            values[periods_left] = np.max(rewards + future, axis=1)
        self.values = values
        self._expected_return: float | None = None

    def _rewards(self, references: np.ndarray) -> np.ndarray:
        prices = np.broadcast_to(self.prices, (references.size, self.prices.size))
        refs = np.broadcast_to(references[:, None], prices.shape)
        return self.market.expected_rewards(prices, refs)

    def _next_references(self, references: np.ndarray) -> np.ndarray:
        prices = np.broadcast_to(self.prices, (references.size, self.prices.size))
        refs = np.broadcast_to(references[:, None], prices.shape)
        return self.market.next_references(refs, prices)

    def _interpolation(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        position = (points - self.references[0]) / self._step
        position = np.clip(position, 0.0, self.references.size - 1.0)
        lower = np.minimum(np.floor(position).astype(np.int64), self.references.size - 2)
        return lower, position - lower

    def _lookahead(
        self, references: np.ndarray, periods_left: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return this period's expected rewards and Q(r, t, p), both of shape (N, n_prices)."""
        references = np.asarray(references, dtype=np.float64).reshape(-1)
        periods_left = np.clip(np.asarray(periods_left, dtype=np.int64).reshape(-1), 1, self.horizon)
        rewards = self._rewards(references)
        lower, weight = self._interpolation(self._next_references(references))
        previous = self.values[periods_left - 1]
        rows = np.arange(references.size)[:, None]
        future = previous[rows, lower] * (1.0 - weight) + previous[rows, lower + 1] * weight
        return rewards, rewards + future

    def best_indices(self, references: np.ndarray, periods_left: np.ndarray) -> np.ndarray:
        """Return the index into ``prices`` of the best price in each state."""
        return np.argmax(self._lookahead(references, periods_left)[1], axis=1)

    def act(self, observation: Any) -> Any:
        """Return the best action for an observation of ``SingleProduct-v0``."""
        reference, time_left = observation_state(observation)
        periods_left = int(round(time_left * self.horizon))
        index = int(self.best_indices(np.array([reference]), np.array([periods_left]))[0])
        return _price_action(self.actions, float(self.prices[index]), index)

    def expected_step_reward(
        self, reference: float | np.ndarray, periods_left: int | np.ndarray
    ) -> float | np.ndarray:
        """Return the expected reward of the oracle's price in the given state(s)."""
        references = np.atleast_1d(np.asarray(reference, dtype=np.float64))
        lefts = np.broadcast_to(np.asarray(periods_left), references.shape)
        rewards, action_values = self._lookahead(references, lefts)
        indices = np.argmax(action_values, axis=1)
        step_rewards = rewards[np.arange(references.size), indices]
        if np.ndim(reference) == 0:
            return float(step_rewards[0])
        return step_rewards

    def expected_return(self) -> float:
        """Return the exact expected return of this policy from the start state."""
        if self._expected_return is None:
            reference = np.array([self.market.initial_reference_price])
            total = 0.0
            for periods_left in range(self.horizon, 0, -1):
                index = self.best_indices(reference, np.array([periods_left]))
                price = self.prices[index]
                total += float(self.market.expected_rewards(price, reference)[0])
                reference = self.market.next_references(reference, price)
            self._expected_return = total
        return self._expected_return

    def interpolated_value(self) -> float:
        """Return the value-iteration estimate of the optimal return from the start state."""
        lower, weight = self._interpolation(np.array([self.market.initial_reference_price]))
        start = self.values[self.horizon]
        return float(start[lower[0]] * (1.0 - weight[0]) + start[lower[0] + 1] * weight[0])


def brute_force_reference_return(market: Any) -> tuple[float, tuple[float, ...]]:
    """Return the best expected return and price sequence by enumerating every sequence.

    Exact for the market's candidate prices. It enumerates ``n_prices ** horizon``
    sequences, so it is feasible only for a few prices and periods; the tests use it to
    check the value iteration.
    """
    prices = np.asarray(market.actions.candidate_prices, dtype=np.float64)
    sequences = np.array(list(itertools.product(prices, repeat=market.horizon)))
    references = np.full(len(sequences), market.initial_reference_price)
    total = np.zeros(len(sequences))
    for period in range(market.horizon):
        posted = sequences[:, period]
        total += market.expected_rewards(posted, references)
        references = market.next_references(references, posted)
    best = int(np.argmax(total))
    return float(total[best]), tuple(sequences[best].tolist())


# ------------------------------------------------------------------------------------------
# Inventory: exact dynamic programming


def poisson_pmf(counts: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Return the Poisson pmf ``P(D = counts)`` for ``D ~ Poisson(means)``, broadcast."""
    return np.exp(xlogy(counts, means) - means - gammaln(counts + 1.0))


def inventory_demand_tables(
    prices: np.ndarray, means: np.ndarray, stock: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return the demand pmf ``pmf[d, j]`` for d = 0..stock and ``E[min(D_j, c)]`` for c = 0..stock.

    ``D_j`` is Poisson(``means[j]``), the demand at price ``prices[j]``.
    """
    demand = np.arange(stock + 1, dtype=np.float64)
    pmf = poisson_pmf(demand[:, None], means[None, :])
    # Flush negligible probabilities to zero: subnormal floats make the matrix products of
    # the dynamic program over a hundred times slower, and these terms change no value.
    pmf[pmf < _NEGLIGIBLE_PROBABILITY] = 0.0
    # P(D >= k) for k = 1..stock; E[min(D, c)] = sum_{k=1}^{c} P(D >= k).
    tail = pdtrc(demand[:-1, None], means[None, :])
    expected_sold = np.vstack([np.zeros((1, means.size)), np.cumsum(tail, axis=0)])
    return pmf, expected_sold


def solve_inventory_dp(
    prices: np.ndarray,
    means: np.ndarray,
    stock: int,
    horizon: int,
    salvage_value: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve the finite-stock pricing problem exactly by backward induction.

    Demand at price ``prices[j]`` is Poisson(``means[j]``) per period, and sales are
    ``min(demand, stock left)``. Unsold units are worth ``salvage_value`` each after the
    last period.

    Returns ``(values, policy)``, both of shape (horizon + 1, stock + 1).
    ``values[t, c]`` is the optimal expected reward with ``c`` units and ``t`` periods left,
    and ``policy[t, c]`` is the index of the optimal price. Row 0 and column 0 are end
    states, and their policy entries are 0.
    """
    prices = np.asarray(prices, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    pmf, expected_sold = inventory_demand_tables(prices, means, stock)
    immediate = expected_sold * prices[None, :]

    # continuation[c] = sum_{d < c} pmf(d) V(c - d); demand >= c sells out, worth V(0) = 0.
    # shifted[c, d] indexes V(c - d) for d < c and a padding zero otherwise.
    levels = np.arange(stock + 1)
    shifted = levels[:, None] - levels[None, :]
    shifted = np.where(shifted > 0, shifted, stock + 1)

    values = np.zeros((horizon + 1, stock + 1))
    policy = np.zeros((horizon + 1, stock + 1), dtype=np.int64)
    values[0] = salvage_value * levels
    padded = np.zeros(stock + 2)
    for periods_left in range(1, horizon + 1):
        padded[: stock + 1] = values[periods_left - 1]
        action_values = immediate + padded[shifted] @ pmf
        best = np.argmax(action_values, axis=1)
        policy[periods_left] = best
        values[periods_left] = action_values[levels, best]
        values[periods_left, 0] = 0.0
        policy[periods_left, 0] = 0
    return values, policy


def brute_force_inventory_value(
    prices: np.ndarray,
    means: np.ndarray,
    stock: int,
    horizon: int,
    salvage_value: float = 0.0,
) -> float:
    """Return the optimal expected reward by enumerating every deterministic Markov policy.

    Each policy assigns a price to every (periods left, stock > 0) state and is evaluated
    exactly by pushing the stock distribution forward period by period. Feasible only for
    tiny instances (``len(prices) ** (horizon * stock)`` policies).
    """
    prices = np.asarray(prices, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    states = [(t, c) for t in range(horizon, 0, -1) for c in range(1, stock + 1)]
    # Transition to each stock level and expected sales, per price index and stock level.
    transition = np.zeros((prices.size, stock + 1, stock + 1))
    sales = np.zeros((prices.size, stock + 1))
    for j, mean in enumerate(means):
        for c in range(1, stock + 1):
            for d in range(c):
                probability = float(poisson_pmf(np.float64(d), mean))
                transition[j, c, c - d] += probability
                sales[j, c] += d * probability
            sell_out = float(pdtrc(c - 1, mean))
            transition[j, c, 0] += sell_out
            sales[j, c] += c * sell_out
    transition[:, 0, 0] = 1.0

    best = -np.inf
    for assignment in itertools.product(range(prices.size), repeat=len(states)):
        choice = dict(zip(states, assignment))
        distribution = np.zeros(stock + 1)
        distribution[stock] = 1.0
        total = 0.0
        for periods_left in range(horizon, 0, -1):
            following = np.zeros(stock + 1)
            following[0] += distribution[0]
            for c in range(1, stock + 1):
                if distribution[c] == 0.0:
                    continue
                j = choice[(periods_left, c)]
                total += distribution[c] * prices[j] * sales[j, c]
                following += distribution[c] * transition[j, c]
            distribution = following
        total += salvage_value * float(np.dot(distribution, np.arange(stock + 1)))
        best = max(best, total)
    return float(best)


@functools.lru_cache(maxsize=8)
def _cached_inventory_dp(
    prices: tuple[float, ...],
    means: tuple[float, ...],
    stock: int,
    horizon: int,
    salvage_value: float,
) -> tuple[np.ndarray, np.ndarray]:
    # Markets built with the same arguments (one per seed in an experiment) share one
    # solution. The arrays are read-only because every oracle of those markets shares them.
    values, policy = solve_inventory_dp(
        np.array(prices), np.array(means), stock, horizon, salvage_value
    )
    values.flags.writeable = False
    policy.flags.writeable = False
    return values, policy


class InventoryOracle:
    """The optimal policy of ``Inventory-v0`` by exact dynamic programming.

    Attributes:
        prices: the prices searched (the grid, or in continuous mode 201 evenly spaced
            prices plus the best fixed price).
        price_table: ``price_table[t, c]``, the optimal price with ``t`` periods and ``c``
            units left (row 0 and column 0 are end states and hold the lowest price).
        values: ``values[t, c]``, the optimal expected reward from that state.
    """

    def __init__(self, market: Any) -> None:
        self.market = market
        self.actions: PriceActions = market.actions
        self.prices = _searched_prices(market)
        self.means = market.market_size * market.purchase_probabilities(self.prices)
        self.stock = int(market.initial_stock)
        self.horizon = int(market.horizon)
        self.values, self.policy = _cached_inventory_dp(
            tuple(self.prices.tolist()),
            tuple(self.means.tolist()),
            self.stock,
            self.horizon,
            float(market.salvage_value),
        )
        self.price_table = self.prices[self.policy]
        _, self._expected_sold = inventory_demand_tables(self.prices, self.means, self.stock)

    def _state(self, stock: Any, periods_left: Any) -> tuple[int, int]:
        stock = int(round(float(stock)))
        periods_left = int(round(float(periods_left)))
        if not 0 <= stock <= self.stock or not 0 <= periods_left <= self.horizon:
            raise ValueError(
                f"State out of range: stock={stock!r} must lie in [0, {self.stock}] and "
                f"periods_left={periods_left!r} in [0, {self.horizon}]."
            )
        return stock, periods_left

    def value(self, stock: int, periods_left: int) -> float:
        """Return the optimal expected reward with ``stock`` units and ``periods_left`` left."""
        stock, periods_left = self._state(stock, periods_left)
        return float(self.values[periods_left, stock])

    def act(self, observation: Any) -> Any:
        """Return the optimal action for an observation of ``Inventory-v0``."""
        stock, periods_left = self._state(*observation_state(observation))
        index = int(self.policy[periods_left, stock])
        return _price_action(self.actions, float(self.prices[index]), index)

    def expected_step_reward(self, stock: int, periods_left: int) -> float:
        """Return the expected sales revenue of the optimal price in one state."""
        stock, periods_left = self._state(stock, periods_left)
        if stock == 0 or periods_left == 0:
            return 0.0
        index = self.policy[periods_left, stock]
        return float(self.prices[index] * self._expected_sold[stock, index])

    def expected_return(self) -> float:
        """Return the optimal expected reward of an episode from the start state."""
        return float(self.values[self.horizon, self.stock])
