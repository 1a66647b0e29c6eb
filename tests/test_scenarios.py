"""Stress scenarios on SingleProduct-v0: schedules, demand, oracle, determinism and errors."""

import itertools
import math
import pickle
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401  (registers the markets)
from envs.demand import ExponentialDemand, LinearDemand, LogitDemand, make_demand
from envs.oracles import best_fixed_price_policy
from envs.scenarios import (
    DemandShock,
    FixedCompetitor,
    JumpingCompetitor,
    LinearDrift,
    RandomWalkDrift,
    ScenarioDemand,
    Seasonality,
    UndercuttingCompetitor,
    make_scenario,
    make_scenarios,
)
from envs.scenarios.market import scenario_probability

ENV_ID = "PricingSim/SingleProduct-v0"
ALPHA, BETA, MARKET_SIZE = 4.0, 0.6, 20.0  # the default logit market
GRID = np.linspace(1.0, 10.0, 19)


def make_env(scenarios, **kwargs):
    return gym.make(ENV_ID, scenarios=scenarios, **kwargs).unwrapped


def grid_optimum(model, unit_cost=0.0):
    """Return (price, expected reward) of the best grid price of a stationary model."""
    rewards = model.expected_revenue(GRID, unit_cost)
    best = int(np.argmax(rewards))
    return float(GRID[best]), float(rewards[best])


def run_episode(env, seed, policy=None):
    observation, _ = env.reset(seed=seed)
    trajectory = [observation]
    while True:
        action = policy(observation) if policy else env.action_space.sample()
        observation, reward, terminated, truncated, info = env.step(action)
        trajectory.append((observation, reward, info))
        if terminated or truncated:
            return trajectory


# --------------------------------------------------------------------------------------------
# Schedules against hand-computed values


def test_shock_schedule_window_and_permanent():
    window = DemandShock(target="market_size", factor=0.5, start=2, duration=3)
    np.testing.assert_array_equal(window.factors(7), [1, 1, 0.5, 0.5, 0.5, 1, 1])
    permanent = DemandShock(target="price_sensitivity", factor=2.0, start=4)
    np.testing.assert_array_equal(permanent.factors(6), [1, 1, 1, 1, 2, 2])


def test_linear_drift_schedule():
    drift = LinearDrift(target="market_size", rate=0.1, start=2, duration=3)
    np.testing.assert_allclose(drift.factors(7), [1, 1, 1, 1.1, 1.2, 1.3, 1.3], rtol=0, atol=1e-12)
    falling = LinearDrift(target="price_sensitivity", rate=-0.05)
    np.testing.assert_allclose(falling.factors(4), [1, 0.95, 0.9, 0.85], rtol=0, atol=1e-12)


def test_seasonality_schedule():
    season = Seasonality(amplitude=0.5, period=4, phase=0.0)
    np.testing.assert_allclose(season.factors(5), [1, 1.5, 1, 0.5, 1], rtol=0, atol=1e-12)
    shifted = Seasonality(amplitude=1.0, period=4, phase=math.pi / 2)
    np.testing.assert_allclose(shifted.factors(4), [2, 1, 0, 1], rtol=0, atol=1e-12)
    assert shifted.factors(4).min() >= 0.0


def test_random_walk_schedule_follows_generator():
    walk = RandomWalkDrift(target="market_size", volatility=0.1, start=1, duration=4)
    path = walk.factors(8, np.random.default_rng(3))
    steps = np.random.default_rng(3).normal(0.0, 0.1, 8)
    # Steps apply in periods start + 1 .. start + duration - 1 = 2..4, then the factor stays.
    log_path = np.cumsum(np.where((np.arange(8) >= 2) & (np.arange(8) <= 4), steps, 0.0))
    np.testing.assert_allclose(path, np.exp(log_path), rtol=1e-12)
    np.testing.assert_array_equal(walk.factors(8), np.ones(8))


def test_random_walk_stays_within_bounds():
    walk = RandomWalkDrift(target="market_size", volatility=2.0, min_factor=0.5, max_factor=1.5)
    path = walk.factors(500, np.random.default_rng(0))
    assert path.min() == pytest.approx(0.5)
    assert path.max() == pytest.approx(1.5)


def test_competitor_price_processes():
    fixed = FixedCompetitor(price=4.0, start=2)
    np.testing.assert_array_equal(fixed.prices(4), [np.nan, np.nan, 4.0, 4.0])

    undercut = UndercuttingCompetitor(price=7.0, step=0.5, interval=2, floor_price=5.6, start=1)
    expected = [np.nan, 7.0, 7.0, 6.5, 6.5, 6.0, 6.0, 5.6]
    np.testing.assert_array_equal(undercut.prices(8), expected)

    never = JumpingCompetitor(price=6.0, jump_probability=0.0, low=2.0, high=9.0)
    np.testing.assert_array_equal(never.prices(5, np.random.default_rng(0)), np.full(5, 6.0))

    always = JumpingCompetitor(price=6.0, jump_probability=1.0, low=2.0, high=9.0, start=1)
    rng = np.random.default_rng(5)
    rng.random(6)
    targets = rng.uniform(2.0, 9.0, 6)
    prices = always.prices(6, np.random.default_rng(5))
    np.testing.assert_array_equal(prices[:2], [np.nan, 6.0])
    np.testing.assert_array_equal(prices[2:], targets[2:])


def test_scenarios_compose_by_multiplying():
    env = make_env(
        [
            {"kind": "shock", "start": 2, "factor": 0.5, "target": "market_size"},
            {"kind": "seasonality", "amplitude": 0.5, "period": 4},
            {"kind": "shock", "start": 1, "factor": 2.0, "target": "price_sensitivity"},
        ],
        horizon=4,
    )
    schedule = env.market.scenario.schedule
    np.testing.assert_allclose(schedule.market_factors, [1, 1.5, 0.5, 0.25], atol=1e-12)
    np.testing.assert_array_equal(schedule.price_factors, [1, 2, 2, 2])
    np.testing.assert_array_equal(schedule.outside_log_odds, np.zeros(4))


# --------------------------------------------------------------------------------------------
# Demand in a period


def test_price_sensitivity_factor_scales_logit_beta():
    env = make_env([{"kind": "shock", "factor": 1.5, "target": "price_sensitivity"}])
    probability = env.market.scenario.purchase_probabilities(0, GRID)
    np.testing.assert_allclose(probability, expit(ALPHA - 1.5 * BETA * GRID), rtol=1e-14)


def test_competitor_enters_as_logit_outside_option():
    env = make_env([{"kind": "competitor", "price": 4.0}])
    probability = float(env.market.scenario.purchase_probabilities(0, 5.0))
    u_p, u_c = ALPHA - BETA * 5.0, ALPHA - BETA * 4.0
    expected = math.exp(u_p) / (1.0 + math.exp(u_p) + math.exp(u_c))
    assert probability == pytest.approx(expected, rel=1e-13)


def test_cheaper_competitor_lowers_purchase_probability():
    probabilities = [
        float(make_env([{"kind": "competitor", "price": c}]).market.scenario.purchase_probabilities(0, 5.0))
        for c in (9.0, 7.0, 5.0, 3.0)
    ]
    assert all(a > b for a, b in zip(probabilities, probabilities[1:]))
    assert probabilities[0] < expit(ALPHA - BETA * 5.0)


def test_two_competitors_and_utility_offset():
    env = make_env(
        [
            {"kind": "competitor", "price": 4.0, "utility_offset": 0.5},
            {"kind": "competitor", "process": "undercut", "price": 6.0, "step": 1.0, "floor_price": 2.0},
        ]
    )
    u_p = ALPHA - BETA * 5.0
    u_1, u_2 = ALPHA - BETA * 4.0 + 0.5, ALPHA - BETA * 5.0  # period 1: second at 6 - 1
    expected = math.exp(u_p) / (1.0 + math.exp(u_p) + math.exp(u_1) + math.exp(u_2))
    assert float(env.market.scenario.purchase_probabilities(1, 5.0)) == pytest.approx(expected, rel=1e-13)


def test_period_demand_optimum_matches_dense_search():
    # Closed forms (no competitor; logit with one) and the numeric search (others).
    bases = [
        LogitDemand(ALPHA, BETA, MARKET_SIZE),
        LinearDemand(intercept=40.0, slope=5.0),
        ExponentialDemand(base_rate=30.0, sensitivity=0.3),
        make_demand(
            "mixture",
            segments=[
                {"weight": 0.5, "model": {"name": "logit", "alpha": 4, "beta": 0.6, "market_size": 20}},
                {"weight": 0.5, "model": {"name": "logit", "alpha": 2, "beta": 0.2, "market_size": 20}},
            ],
        ),
    ]
    dense = np.linspace(1.0, 10.0, 90_001)
    for base in bases:
        for price_factor, outside in [(1.0, 0.0), (1.3, 0.0), (0.7, 1.2), (1.0, 2.0)]:
            model = ScenarioDemand(base=base, price_factor=price_factor, outside_log_odds=outside)
            price = model.optimal_price(unit_cost=0.5, price_bounds=(1.0, 10.0))
            # The dense grid's step is 1e-4, so its best price is within 1e-4 of the optimum.
            best = dense[int(np.argmax(model.expected_revenue(dense, 0.5)))]
            assert price == pytest.approx(best, abs=1e-4), (base, price_factor, outside)
            assert model.expected_revenue(price, 0.5) >= model.expected_revenue(best, 0.5) - 1e-9


# --------------------------------------------------------------------------------------------
# The oracle


@pytest.mark.parametrize("action_type", ["discrete", "continuous"])
def test_oracle_prices_shocked_optimum_in_shocked_periods(action_type):
    factor, start, duration = 1.6, 30, 40
    env = make_env(
        [{"kind": "shock", "start": start, "duration": duration, "factor": factor, "target": "price_sensitivity"}],
        action_type=action_type,
    )
    oracle = env.oracle()
    base = LogitDemand(ALPHA, BETA, MARKET_SIZE)
    shocked = LogitDemand(ALPHA, BETA * factor, MARKET_SIZE)
    if action_type == "discrete":
        (base_price, base_reward), (shock_price, shock_reward) = grid_optimum(base), grid_optimum(shocked)
    else:
        base_price = base.optimal_price(price_bounds=(1.0, 10.0))
        shock_price = shocked.optimal_price(price_bounds=(1.0, 10.0))
        base_reward = float(base.expected_revenue(base_price))
        shock_reward = float(shocked.expected_revenue(shock_price))

    in_shock = (np.arange(100) >= start) & (np.arange(100) < start + duration)
    np.testing.assert_allclose(oracle.prices[in_shock], shock_price, rtol=1e-12)
    np.testing.assert_allclose(oracle.prices[~in_shock], base_price, rtol=1e-12)
    assert shock_price < base_price
    expected_return = (100 - duration) * base_reward + duration * shock_reward
    assert oracle.expected_return() == pytest.approx(expected_return, rel=1e-12)


def test_oracle_under_market_size_shock_keeps_price():
    env = make_env([{"kind": "shock", "start": 50, "factor": 0.5, "target": "market_size"}])
    oracle = env.oracle()
    price, reward = grid_optimum(LogitDemand(ALPHA, BETA, MARKET_SIZE))
    np.testing.assert_array_equal(oracle.prices, np.full(100, price))
    assert oracle.expected_return() == pytest.approx(50 * reward + 50 * 0.5 * reward, rel=1e-12)


def test_oracle_acts_on_each_period_of_an_episode():
    env = make_env([{"kind": "competitor", "process": "undercut", "price": 8.0, "step": 0.5, "floor_price": 3.0}])
    oracle = env.oracle()
    trajectory = run_episode(env, seed=0, policy=oracle.act)
    posted = np.array([info["price"] for _, _, info in trajectory[1:]])
    oracle_rewards = np.array([info["oracle_revenue"] for _, _, info in trajectory[1:]])
    np.testing.assert_array_equal(posted, oracle.prices)
    np.testing.assert_allclose(oracle_rewards, oracle.step_rewards, rtol=0)
    assert oracle_rewards.sum() == pytest.approx(oracle.expected_return(), rel=1e-12)
    # The competitor's cuts push the optimal price down.
    assert oracle.prices[-1] < oracle.prices[0]


def test_oracle_revenue_matches_monte_carlo():
    env = make_env(
        [
            {"kind": "seasonality", "amplitude": 0.8, "period": 20},
            {"kind": "competitor", "price": 5.0, "start": 10},
        ],
        horizon=40,
    )
    oracle = env.oracle()
    returns = [
        sum(reward for _, reward, _ in run_episode(env, seed, oracle.act)[1:]) for seed in range(300)
    ]
    # Episode revenue is a sum of Poisson sales times prices, so its variance is
    # sum_t p_t^2 * mean_t. Five standard errors keep a false failure below 1e-6.
    means = oracle.step_rewards / oracle.prices
    standard_error = math.sqrt(float(np.sum(oracle.prices**2 * means)) / len(returns))
    assert abs(np.mean(returns) - oracle.expected_return()) < 5 * standard_error


def test_oracle_beats_best_fixed_price_under_shock():
    env = make_env([{"kind": "shock", "start": 50, "factor": 2.0, "target": "price_sensitivity"}])
    fixed = best_fixed_price_policy(env)
    table = env.market.scenario.reward_table(GRID)
    # The best fixed price is searched on the scenario's episode returns.
    assert fixed.expected_return() == pytest.approx(table.sum(axis=0).max(), rel=1e-12)
    assert env.oracle().expected_return() > fixed.expected_return()


def test_random_walk_oracle_uses_schedule_of_last_reset():
    env = make_env([{"kind": "drift", "mode": "random-walk", "volatility": 0.1, "target": "price_sensitivity"}])
    oracle = env.oracle()
    nominal = oracle.expected_return()
    price, reward = grid_optimum(LogitDemand(ALPHA, BETA, MARKET_SIZE))
    assert nominal == pytest.approx(100 * reward, rel=1e-12)

    env.reset(seed=1)
    first = oracle.expected_return()
    schedule = env.market.scenario.schedule
    per_period = [
        grid_optimum(LogitDemand(ALPHA, BETA * s, MARKET_SIZE))[1] for s in schedule.price_factors
    ]
    assert first == pytest.approx(math.fsum(per_period), rel=1e-12)
    env.reset(seed=2)
    assert oracle.expected_return() != first
    env.reset(seed=1)
    assert oracle.expected_return() == first


# --------------------------------------------------------------------------------------------
# Reference-price demand


def test_reference_neutral_scenario_matches_plain_market():
    plain = gym.make(ENV_ID, demand="reference-price").unwrapped
    neutral = make_env([{"kind": "shock", "factor": 1.0}], demand="reference-price")
    assert neutral.oracle().expected_return() == pytest.approx(plain.oracle().expected_return(), rel=1e-12)
    plain.action_space.seed(1)
    neutral.action_space.seed(1)
    for (obs_a, reward_a, info_a), (obs_b, reward_b, info_b) in zip(
        run_episode(plain, seed=3)[1:], run_episode(neutral, seed=3)[1:]
    ):
        np.testing.assert_array_equal(obs_a, obs_b)
        assert reward_a == reward_b
        assert info_a["oracle_revenue"] == pytest.approx(info_b["oracle_revenue"], rel=1e-9)


def test_reference_oracle_matches_enumeration():
    env = make_env(
        [
            {"kind": "shock", "factor": 1.8, "start": 2, "target": "price_sensitivity"},
            {"kind": "competitor", "price": 4.0, "start": 3},
        ],
        demand="reference-price",
        horizon=5,
        n_prices=5,
    )
    scenario = env.market.scenario
    best = -math.inf
    # Every one of the 5**5 price sequences, with the reference rolled forward exactly.
    for sequence in itertools.product(env.price_grid.tolist(), repeat=5):
        reference, total = env.market.initial_reference_price, 0.0
        for period, price in enumerate(sequence):
            total += float(scenario.expected_rewards(period, price, reference))
            reference = float(scenario.next_references(reference, price))
        best = max(best, total)
    # The value iteration interpolates the reference price, so its policy may lose a little.
    assert env.oracle().expected_return() == pytest.approx(best, rel=1e-4)
    assert env.oracle().expected_return() <= best + 1e-9


def test_reference_oracle_revenue_follows_episode():
    env = make_env([{"kind": "seasonality", "amplitude": 0.5, "period": 10}], demand="reference-price", horizon=30)
    oracle = env.oracle()
    trajectory = run_episode(env, seed=0, policy=oracle.act)
    oracle_rewards = [info["oracle_revenue"] for _, _, info in trajectory[1:]]
    assert math.fsum(oracle_rewards) == pytest.approx(oracle.expected_return(), rel=1e-9)
    assert oracle.interpolated_value() == pytest.approx(oracle.expected_return(), rel=1e-4)


# --------------------------------------------------------------------------------------------
# Observations, seeding, checkers, pickling

SCENARIO_LISTS = {
    "shock": [{"kind": "shock", "start": 5, "duration": 10, "factor": 3.0, "target": "market_size"}],
    "random": [
        {"kind": "drift", "mode": "random-walk", "volatility": 0.3, "target": "market_size"},
        {"kind": "competitor", "process": "jumps", "price": 6.0, "low": 3.0, "high": 8.0},
        {"kind": "seasonality", "amplitude": 0.3, "period": 7, "target": "price_sensitivity"},
    ],
}


@pytest.mark.parametrize("action_type", ["discrete", "continuous"])
@pytest.mark.parametrize("demand", ["logit", "reference-price"])
@pytest.mark.parametrize("name", SCENARIO_LISTS)
def test_env_checkers_pass(name, demand, action_type):
    observe = name == "random"
    env = make_env(
        SCENARIO_LISTS[name], demand=demand, horizon=30, action_type=action_type, observe_competitor_prices=observe
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gymnasium_check_env(env, skip_render_check=False)
        sb3_check_env(env, warn=True)


def test_passive_checker_episode_stays_in_space():
    env = gym.make(ENV_ID, scenarios=SCENARIO_LISTS["random"], observe_competitor_prices=True)
    env.action_space.seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for observation, reward, _ in run_episode(env, seed=0)[1:]:
            assert env.observation_space.contains(observation)
            assert type(reward) is float


def test_market_size_bound_grows_with_shock():
    base = gym.make(ENV_ID).unwrapped
    env = make_env(SCENARIO_LISTS["shock"])
    assert env.observation_space.high[1] > base.observation_space.high[1]
    assert env.observation_space.shape == (4,)


def test_competitor_prices_observed_for_coming_period():
    env = make_env(
        [{"kind": "competitor", "process": "undercut", "price": 8.0, "step": 1.0, "floor_price": 5.0, "start": 1}],
        horizon=6,
        observe_competitor_prices=True,
    )
    assert env.observation_space.shape == (5,)
    assert env.observation_space.high[4] == 8.0
    observation, _ = env.reset(seed=0)
    observed = [float(observation[4])]
    for _ in range(5):
        observation, *_ = env.step(0)
        observed.append(float(observation[4]))
    assert observed == [0.0, 8.0, 7.0, 6.0, 5.0, 5.0]


def test_same_seed_same_trajectory():
    first, second = make_env(SCENARIO_LISTS["random"]), make_env(SCENARIO_LISTS["random"])
    for env in (first, second):
        env.action_space.seed(7)
    one, two = run_episode(first, seed=11), run_episode(second, seed=11)
    np.testing.assert_array_equal(one[0], two[0])
    for (obs_a, reward_a, info_a), (obs_b, reward_b, info_b) in zip(one[1:], two[1:]):
        np.testing.assert_array_equal(obs_a, obs_b)
        assert reward_a == reward_b
        assert info_a == info_b
    schedule_a, schedule_b = first.market.scenario.schedule, second.market.scenario.schedule
    np.testing.assert_array_equal(schedule_a.market_factors, schedule_b.market_factors)


def test_neutral_scenario_reproduces_plain_market():
    # Scenarios draw after the arrival stream key, so the same seed gives the same sales.
    plain = gym.make(ENV_ID).unwrapped
    neutral = make_env(
        [
            {"kind": "shock", "factor": 1.0, "target": "market_size"},
            {"kind": "drift", "mode": "random-walk", "volatility": 0.0},
        ]
    )
    plain.action_space.seed(3)
    neutral.action_space.seed(3)
    for (obs_a, reward_a, info_a), (obs_b, reward_b, info_b) in zip(
        run_episode(plain, seed=4)[1:], run_episode(neutral, seed=4)[1:]
    ):
        np.testing.assert_array_equal(obs_a, obs_b)
        assert reward_a == reward_b
        assert info_a["oracle_revenue"] == pytest.approx(info_b["oracle_revenue"], rel=1e-12)


def test_pickle_round_trip_mid_episode():
    env = make_env(SCENARIO_LISTS["random"], observe_competitor_prices=True)
    env.reset(seed=0)
    for action in (3, 9, 12):
        env.step(action)
    clone = pickle.loads(pickle.dumps(env))
    for action in (5, 0, 18):
        obs_a, reward_a, _, _, info_a = env.step(action)
        obs_b, reward_b, _, _, info_b = clone.step(action)
        np.testing.assert_array_equal(obs_a, obs_b)
        assert (reward_a, info_a) == (reward_b, info_b)
    assert clone.oracle().expected_return() == env.oracle().expected_return()


# --------------------------------------------------------------------------------------------
# Configs and errors


def test_config_round_trip():
    for scenario in (
        DemandShock(target="price_sensitivity", factor=0.8, start=3, duration=2),
        LinearDrift(rate=-0.01),
        RandomWalkDrift(volatility=0.2, max_factor=2.0),
        Seasonality(amplitude=0.4, period=12.5, phase=1.0),
        UndercuttingCompetitor(price=7.0, step=0.25, interval=5, floor_price=4.0),
        JumpingCompetitor(price=5.0, low=3.0, high=9.0, jump_probability=0.2),
    ):
        assert make_scenario(scenario.to_dict()) == scenario
    assert make_scenarios({"kind": "competitor", "price": 3}) == (FixedCompetitor(price=3.0),)
    assert make_scenario({"kind": "drift", "mode": "random_walk", "volatility": 0.1}).random


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        ({"kind": "shock", "factor": 0.0, "target": "price_sensitivity"}, ValueError, r"factor must be a finite number > 0 .* got 0\.0"),
        ({"kind": "shock", "factor": -1, "target": "market_size"}, ValueError, r"factor must be .*>= 0, got -1"),
        ({"kind": "shock", "factor": "half"}, TypeError, r"factor must be a real number"),
        ({"kind": "shock", "factor": 2, "target": "price"}, ValueError, r"target must be one of market_size, price_sensitivity, got 'price'"),
        ({"kind": "shock", "factor": 2, "duration": 0}, ValueError, r"duration must be an integer >= 1, got 0"),
        ({"kind": "seasonality", "amplitude": 1.5, "period": 4}, ValueError, r"amplitude must be a finite number in \[0, 1\], got 1\.5"),
        ({"kind": "seasonality", "amplitude": 1.0, "period": 4, "target": "price_sensitivity"}, ValueError, r"amplitude .*in \[0, 1\) for price_sensitivity"),
        ({"kind": "seasonality", "amplitude": 0.5, "period": 0}, ValueError, r"period must be a finite number > 0, got 0"),
        ({"kind": "drift", "mode": "random-walk", "volatility": -0.1}, ValueError, r"volatility must be .*>= 0, got -0\.1"),
        ({"kind": "drift", "mode": "random-walk", "min_factor": 2.0}, ValueError, r"min_factor must be .*in \(0, 1\], got 2\.0"),
        ({"kind": "drift", "mode": "sideways"}, ValueError, r"Unknown mode 'sideways' for scenario kind 'drift'; valid: linear, random-walk"),
        ({"kind": "competitor", "process": "undercut", "price": 5, "floor_price": 6}, ValueError, r"floor_price must be .*in \[0, price=5\.0\], got 6"),
        ({"kind": "competitor", "process": "jumps", "price": 5, "low": 4, "high": 3}, ValueError, r"high must be .*>= low=4\.0, got 3"),
        ({"kind": "competitor", "process": "jumps", "jump_probability": 1.5}, ValueError, r"jump_probability must be .*in \[0, 1\], got 1\.5"),
        ({"kind": "competitor", "price": -2}, ValueError, r"price must be a finite number >= 0, got -2"),
        ({"kind": "earthquake"}, ValueError, r"Unknown scenario kind 'earthquake'; valid kinds: shock, drift, seasonality, competitor"),
        ({"factor": 0.5}, ValueError, r"needs a 'kind' key"),
        ({"kind": "shock", "factr": 0.5}, ValueError, r"Unknown parameter\(s\) 'factr' for scenario 'shock'; valid parameters: target, factor"),
    ],
)
def test_invalid_scenario_raises(spec, error, match):
    with pytest.raises(error, match=match):
        make_scenario(spec)


def test_invalid_market_combinations_raise():
    with pytest.raises(ValueError, match=r"start must be below the horizon \(10 periods\), got 10"):
        make_env([{"kind": "shock", "start": 10, "factor": 0.5}], horizon=10)
    with pytest.raises(ValueError, match=r"rate=-0\.2 takes the price-sensitivity factor to -0\.8"):
        make_env([{"kind": "drift", "rate": -0.2, "target": "price_sensitivity"}], horizon=10)
    with pytest.raises(ValueError, match=r"observe_competitor_prices=True needs at least one scenario of kind 'competitor'"):
        make_env([{"kind": "shock", "factor": 0.5}], observe_competitor_prices=True)
    with pytest.raises(TypeError, match=r"scenarios must be a list"):
        make_env("shock")
    reference_env = make_env([{"kind": "shock", "factor": 0.5}], demand="reference-price")
    with pytest.raises(ValueError, match=r"period_demand needs stationary demand"):
        reference_env.market.scenario.period_demand(0)


def test_shipped_config_builds_shocked_market():
    from experiments.config import load_config

    path = Path(__file__).resolve().parents[1] / "experiments" / "configs" / "demand-shock.toml"
    config = load_config(path)
    env = gym.make(config.env.id, **config.env.kwargs).unwrapped
    oracle = env.oracle()
    np.testing.assert_array_equal(oracle.prices[:50], np.full(50, 5.5))
    np.testing.assert_array_equal(oracle.prices[50:], np.full(50, 3.5))
    assert oracle.expected_return() == pytest.approx(6127.0177, abs=1e-3)


BASE_DEMANDS = {
    "logit": {},
    "linear": {"intercept": 30.0, "slope": 4.0},
    "exponential": {"base_rate": 25.0, "sensitivity": 0.4},
    "constant-elasticity": {"scale": 60.0, "elasticity": 1.5, "cap": 30.0},
}


@settings(max_examples=40, deadline=None)
@given(
    demand=st.sampled_from(sorted(BASE_DEMANDS)),
    size_factor=st.floats(0.0, 5.0),
    price_factor=st.floats(0.05, 5.0),
    competitor_price=st.floats(0.0, 20.0),
    utility_offset=st.floats(-20.0, 20.0),
)
def test_probabilities_stay_valid(demand, size_factor, price_factor, competitor_price, utility_offset):
    env = make_env(
        [
            {"kind": "shock", "factor": size_factor, "target": "market_size"},
            {"kind": "shock", "factor": price_factor, "target": "price_sensitivity"},
            {"kind": "competitor", "price": competitor_price, "utility_offset": utility_offset},
        ],
        demand=demand,
        demand_params=BASE_DEMANDS[demand],
        horizon=3,
    )
    prices = np.linspace(0.0, 10.0, 41)
    scenario = env.market.scenario
    probability = scenario.purchase_probabilities(0, prices)
    assert np.all(np.isfinite(probability))
    assert np.all((probability >= 0.0) & (probability <= 1.0))
    # A competitor never raises the purchase probability above the one without it. The
    # tolerance covers rounding in the round trip through the log-odds.
    alone = scenario_probability(scenario.base, price_factor * prices, 0.0)
    assert np.all(probability <= alone + 1e-12)
    oracle = env.oracle()
    assert np.isfinite(oracle.expected_return())
    assert oracle.expected_return() >= 0.0
