"""Oracles: closed forms, dynamic programming, value iteration, best fixed price."""

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the markets)
from envs.demand import ExponentialDemand, LinearDemand, LogitDemand, ReferencePriceDemand
from envs.inventory import InventoryEnv
from envs.oracles import (
    InventoryOracle,
    MyopicOracle,
    ReferencePriceOracle,
    best_fixed_price_policy,
    brute_force_inventory_value,
    brute_force_reference_return,
    solve_inventory_dp,
)
from envs.single_product import SingleProductEnv


def _mean_return(env, policy, seeds):
    """Return the episode returns of ``policy`` over ``seeds``."""
    returns = []
    for seed in seeds:
        observation, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            observation, reward, terminated, truncated, _ = env.step(policy.act(observation))
            total += reward
            done = terminated or truncated
        returns.append(total)
    return np.array(returns)


# -- stationary single-product markets ----------------------------------------------------


def test_default_market_figures():
    env = gym.make("PricingSim/SingleProduct-v0")
    oracle = env.unwrapped.oracle()
    market = env.unwrapped.market
    assert isinstance(oracle, MyopicOracle)
    assert oracle.price == 5.5
    assert oracle.act(None) == 9
    assert oracle.expected_return() == pytest.approx(7350.0655, abs=1e-3)
    # A uniformly random grid price earns clearly less than the oracle.
    random_return = market.fixed_price_returns(market.price_grid).mean()
    assert random_return < 0.75 * oracle.expected_return()
    # The continuous optimum lies strictly between two grid prices.
    optimum = market.demand.optimal_price()
    assert 5.0 < optimum < 5.5
    assert np.min(np.abs(market.price_grid - optimum)) > 0.1


@pytest.mark.parametrize(
    "demand",
    [
        LogitDemand(4.0, 0.6, 20.0),
        LinearDemand(40.0, 4.0),
        ExponentialDemand(30.0, 0.3),
    ],
    ids=["logit", "linear", "exponential"],
)
@pytest.mark.parametrize("unit_cost", [0.0, 2.0])
def test_continuous_oracle_matches_numeric_search(demand, unit_cost):
    env = SingleProductEnv(demand=demand, action_type="continuous", unit_cost=unit_cost)
    oracle = env.oracle()
    prices = np.linspace(1.0, 10.0, 900_001)
    numeric = prices[np.argmax(env.market.expected_rewards(prices))]
    assert oracle.price == pytest.approx(numeric, abs=2e-5)
    action = oracle.act(None)
    assert env.action_space.contains(action)
    assert env.market.actions.action_to_price(float(action[0])) == pytest.approx(oracle.price, abs=1e-5)


def test_discrete_oracle_is_best_grid_price():
    env = SingleProductEnv(unit_cost=3.0)
    rewards = env.market.expected_rewards(env.price_grid)
    oracle = env.oracle()
    assert oracle.act(None) == int(np.argmax(rewards))
    assert oracle.expected_return() == pytest.approx(100 * rewards.max())


def test_best_fixed_price_equals_myopic_when_stationary():
    for action_type in ("discrete", "continuous"):
        env = gym.make("PricingSim/SingleProduct-v0", action_type=action_type)
        fixed = best_fixed_price_policy(env)
        oracle = env.unwrapped.oracle()
        assert fixed.price == pytest.approx(oracle.price, abs=1e-9)
        assert fixed.expected_return() == pytest.approx(oracle.expected_return())


def test_oracle_revenue_in_info():
    env = SingleProductEnv()
    observation, _ = env.reset(seed=0)
    _, _, _, _, info = env.step(0)
    assert info["oracle_revenue"] == pytest.approx(env.oracle().expected_return() / 100)


def test_single_product_oracle_return_by_simulation():
    # 300 episodes: the standard error of the mean return is about 12 (sd about 200), so
    # 4 standard errors is a 1-in-16,000 false alarm rate for a correct oracle.
    env = SingleProductEnv()
    oracle = env.oracle()
    returns = _mean_return(env, oracle, range(300))
    standard_error = returns.std(ddof=1) / np.sqrt(returns.size)
    assert abs(returns.mean() - oracle.expected_return()) < 4 * standard_error


# -- reference-price markets -----------------------------------------------------------------


def _reference_market(horizon, **kwargs):
    demand = ReferencePriceDemand(
        LogitDemand(4.0, 0.6, 20.0), memory=0.6, gain_sensitivity=0.5, loss_sensitivity=1.0
    )
    return SingleProductEnv(demand=demand, horizon=horizon, **kwargs)


def test_value_iteration_matches_enumeration():
    # Five prices and five periods: 3,125 price sequences, enumerated exactly.
    env = _reference_market(horizon=5, price_grid=[3.0, 4.5, 5.5, 7.0, 9.0], initial_reference_price=6.0)
    oracle = env.oracle()
    assert isinstance(oracle, ReferencePriceOracle)
    best, _ = brute_force_reference_return(env.market)
    # The policy's exact return may fall short of the optimum only by the interpolation
    # error of 201 reference points.
    assert oracle.expected_return() <= best + 1e-9
    assert oracle.expected_return() == pytest.approx(best, rel=1e-4)
    assert oracle.interpolated_value() == pytest.approx(best, rel=1e-3)


def test_value_iteration_converges_with_finer_grid():
    env = _reference_market(horizon=60)
    gaps = []
    for points in (21, 81, 321):
        oracle = ReferencePriceOracle(env.market, n_reference_points=points)
        gaps.append(abs(oracle.interpolated_value() - oracle.expected_return()))
    assert gaps[2] < gaps[0]
    assert gaps[2] / ReferencePriceOracle(env.market, 321).expected_return() < 1e-4


def test_reference_oracle_beats_fixed_and_myopic():
    env = _reference_market(horizon=50)
    oracle = env.oracle()
    fixed = best_fixed_price_policy(env)
    assert oracle.expected_return() >= fixed.expected_return() - 1e-9

    # The myopic policy (best price for this period's reference) earns less.
    market = env.market
    reference, myopic_total = market.initial_reference_price, 0.0
    for _ in range(market.horizon):
        rewards = market.expected_rewards(market.price_grid, np.full(19, reference))
        price = market.price_grid[np.argmax(rewards)]
        myopic_total += rewards.max()
        reference = 0.6 * reference + 0.4 * price
    assert oracle.expected_return() > myopic_total


def test_reference_oracle_return_by_simulation():
    # Same tolerance argument as the stationary test: 4 standard errors over 200 episodes.
    env = _reference_market(horizon=30)
    oracle = env.oracle()
    returns = _mean_return(env, oracle, range(200))
    standard_error = returns.std(ddof=1) / np.sqrt(returns.size)
    assert abs(returns.mean() - oracle.expected_return()) < 4 * standard_error


def test_reference_oracle_step_reward_matches_info():
    env = _reference_market(horizon=10)
    observation, _ = env.reset(seed=0)
    oracle = env.oracle()
    for _ in range(10):
        expected = oracle.expected_step_reward(float(env._reference), int(round(observation[3] * 10)))
        observation, _, _, _, info = env.step(oracle.act(observation))
        assert info["oracle_revenue"] == pytest.approx(expected)


def test_reference_oracle_rejects_one_point():
    with pytest.raises(ValueError, match="n_reference_points must be at least 2, got 1"):
        ReferencePriceOracle(_reference_market(horizon=3).market, n_reference_points=1)


# -- inventory ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stock, horizon, salvage",
    [(3, 2, 0.0), (2, 3, 1.0), (3, 3, 0.5), (1, 4, 0.0)],
)
def test_inventory_dp_matches_brute_force(stock, horizon, salvage):
    prices = np.array([2.0, 4.0, 7.0])
    means = np.array([1.5, 0.8, 0.3])
    values, _ = solve_inventory_dp(prices, means, stock, horizon, salvage)
    expected = brute_force_inventory_value(prices, means, stock, horizon, salvage)
    assert values[horizon, stock] == pytest.approx(expected, rel=1e-12)


def test_inventory_dp_boundaries_and_monotonicity():
    env = InventoryEnv(initial_stock=30, horizon=20, salvage_value=1.0)
    oracle = env.oracle()
    assert isinstance(oracle, InventoryOracle)
    assert oracle.value(0, 20) == 0.0
    assert oracle.value(30, 0) == 30.0
    values = oracle.values
    # More stock or more time never hurts.
    assert np.all(np.diff(values[1:, :], axis=1) >= -1e-9)
    assert np.all(np.diff(values, axis=0) >= -1e-9)
    assert oracle.price_table.shape == (21, 31)
    with pytest.raises(ValueError, match="stock=31"):
        oracle.value(31, 5)


def test_inventory_prices_fall_with_stock():
    # Gallego and van Ryzin: with more stock left for the same time, the optimal price is lower.
    oracle = InventoryEnv(initial_stock=60, horizon=30).oracle()
    table = oracle.price_table[30, 1:]
    assert np.all(np.diff(table) <= 0)
    assert table[0] > table[-1]


def test_inventory_oracle_return_by_simulation():
    # 4 standard errors over 300 episodes, as for the single-product oracle.
    env = gym.make("PricingSim/Inventory-v0")
    oracle = env.unwrapped.oracle()
    returns = _mean_return(env, oracle, range(300))
    standard_error = returns.std(ddof=1) / np.sqrt(returns.size)
    assert abs(returns.mean() - oracle.expected_return()) < 4 * standard_error


def test_inventory_fixed_price_returns_by_simulation():
    env = InventoryEnv(initial_stock=40, horizon=15, salvage_value=0.5)
    policy = best_fixed_price_policy(env)
    assert policy.expected_return() < env.oracle().expected_return()
    returns = _mean_return(env, policy, range(300))
    standard_error = returns.std(ddof=1) / np.sqrt(returns.size)
    assert abs(returns.mean() - policy.expected_return()) < 4 * standard_error


def test_inventory_oracle_acts_inside_space():
    for action_type in ("discrete", "continuous"):
        env = InventoryEnv(initial_stock=20, horizon=10, action_type=action_type)
        observation, _ = env.reset(seed=0)
        action = env.oracle().act(observation)
        assert env.action_space.contains(action)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"demand": "reference-price"},
        {"scenarios": [{"kind": "shock", "start": 3, "factor": 0.5}]},
        {"demand": "reference-price", "scenarios": [{"kind": "shock", "start": 3, "factor": 0.5}]},
    ],
    ids=["reference", "scenario", "scenario-reference"],
)
@pytest.mark.parametrize(
    ("observation", "match"),
    [
        ([0.0, 0.0, np.nan, 1.0], "entries 2 and 3 must be finite"),
        ([0.0, 0.0, 5.0, np.inf], "entries 2 and 3 must be finite"),
        ([0.0, 0.0], "at least 4 entries"),
    ],
)
def test_sequential_oracle_rejects_bad_observation(kwargs, observation, match):
    oracle = SingleProductEnv(horizon=10, **kwargs).oracle()
    with pytest.raises(ValueError, match=match):
        oracle.act(np.array(observation, dtype=np.float32))


@pytest.mark.parametrize("observation", [[0.0, 0.0, np.nan, 10.0], [0.0, 0.0, 5.0, np.inf], [0.0]])
def test_inventory_oracle_rejects_bad_observation(observation):
    oracle = InventoryEnv(initial_stock=20, horizon=10).oracle()
    with pytest.raises(ValueError, match="Invalid observation"):
        oracle.act(np.array(observation, dtype=np.float32))
