"""SingleProduct-v0 and Inventory-v0: spaces, dynamics, determinism, validation."""

import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import envs  # noqa: F401  (registers the markets)
from envs.demand import LinearDemand, LogitDemand, ReferencePriceDemand
from envs.inventory import InventoryEnv
from envs.oracles import best_fixed_price_policy
from envs.single_product import SingleProductEnv

SINGLE = "PricingSim/SingleProduct-v0"
INVENTORY = "PricingSim/Inventory-v0"

MARKET_CONFIGS = [
    pytest.param(SINGLE, {}, id="single-discrete"),
    pytest.param(SINGLE, {"action_type": "continuous"}, id="single-continuous"),
    pytest.param(SINGLE, {"demand": "reference-price"}, id="single-reference"),
    pytest.param(INVENTORY, {}, id="inventory-discrete"),
    pytest.param(INVENTORY, {"action_type": "continuous"}, id="inventory-continuous"),
]


def _rollout(env, seed, n_steps=60, action_seed=1):
    """Return the list of (observation, reward, terminated, truncated, info) of random play."""
    env.action_space.seed(action_seed)
    observation, _ = env.reset(seed=seed)
    records = [(observation, None, False, False, {})]
    for _ in range(n_steps):
        step = env.step(env.action_space.sample())
        records.append(step)
        if step[2] or step[3]:
            observation, _ = env.reset()
            records.append((observation, None, False, False, {}))
    return records


def _assert_same_records(first, second):
    assert len(first) == len(second)
    for (obs_a, rew_a, term_a, trunc_a, info_a), (obs_b, rew_b, term_b, trunc_b, info_b) in zip(
        first, second
    ):
        np.testing.assert_array_equal(obs_a, obs_b)
        assert rew_a == rew_b
        assert (term_a, trunc_a) == (term_b, trunc_b)
        assert info_a == info_b


# -- defaults and spaces ----------------------------------------------------------------


def test_single_product_defaults():
    env = gym.make(SINGLE)
    market = env.unwrapped.market
    np.testing.assert_allclose(env.unwrapped.price_grid, np.arange(1.0, 10.01, 0.5))
    assert env.action_space == gym.spaces.Discrete(19)
    assert env.observation_space.shape == (4,)
    assert env.observation_space.dtype == np.float32
    assert market.horizon == 100
    assert isinstance(market.demand, LogitDemand)
    assert market.demand.market_size == 20.0
    observation, info = env.reset(seed=0)
    np.testing.assert_array_equal(observation, np.array([0.0, 0.0, 5.5, 1.0], dtype=np.float32))
    assert info == {}


def test_inventory_defaults():
    env = gym.make(INVENTORY)
    observation, _ = env.reset(seed=0)
    np.testing.assert_array_equal(observation, np.array([0.0, 0.0, 100.0, 50.0], dtype=np.float32))
    assert env.unwrapped.market.demand.market_size == 5.0
    np.testing.assert_array_equal(env.observation_space.high, [10.0, 100.0, 100.0, 50.0])


@pytest.mark.parametrize("env_id", [SINGLE, INVENTORY])
def test_price_bounds_on_unwrapped(env_id):
    env = gym.make(env_id, min_price=2.0, max_price=8.0, n_prices=7)
    assert env.unwrapped.min_price == 2.0
    assert env.unwrapped.max_price == 8.0
    with pytest.raises(AttributeError):
        env.unwrapped.min_price = 1.0


def test_continuous_action_maps_linearly():
    env = SingleProductEnv(action_type="continuous", min_price=2.0, max_price=6.0)
    env.reset(seed=0)
    for action, price in [(-1.0, 2.0), (0.0, 4.0), (1.0, 6.0), (0.5, 5.0)]:
        _, _, _, _, info = env.step(np.array([action], dtype=np.float32))
        assert info["price"] == pytest.approx(price)


def test_explicit_price_grid():
    env = SingleProductEnv(price_grid=[2.0, 3.5, 8.0])
    env.reset(seed=0)
    assert env.action_space.n == 3
    _, _, _, _, info = env.step(1)
    assert info["price"] == 3.5


# -- dynamics -----------------------------------------------------------------------------


def test_step_info_and_reward():
    env = SingleProductEnv(unit_cost=1.5)
    env.reset(seed=3)
    for action in range(19):
        observation, reward, terminated, truncated, info = env.step(action)
        assert type(reward) is float
        assert set(info) >= {"price", "customers", "units_sold", "revenue", "oracle_revenue"}
        assert info["revenue"] == info["price"] * info["units_sold"]
        assert reward == (info["price"] - 1.5) * info["units_sold"]
        assert 0 <= info["units_sold"] <= info["customers"]
        assert observation[0] == np.float32(info["price"])
        assert observation[1] == info["units_sold"]
        assert not terminated
        assert not truncated


def test_single_product_truncates_at_horizon():
    env = SingleProductEnv(horizon=5)
    env.reset(seed=0)
    flags = [env.step(3)[2:4] for _ in range(5)]
    assert flags == [(False, False)] * 4 + [(False, True)]
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(3)


def test_time_left_counts_down():
    env = SingleProductEnv(horizon=4)
    observation, _ = env.reset(seed=0)
    fractions = [observation[3]]
    for _ in range(4):
        fractions.append(env.step(0)[0][3])
    np.testing.assert_allclose(fractions, [1.0, 0.75, 0.5, 0.25, 0.0])


def test_stationary_reference_price_constant():
    env = SingleProductEnv(initial_reference_price=3.0)
    env.reset(seed=0)
    references = {float(env.step(action)[0][2]) for action in (0, 18, 5, 9)}
    assert references == {3.0}


def test_reference_price_follows_smoothing():
    demand = ReferencePriceDemand(LogitDemand(4.0, 0.6, 20.0), memory=0.7)
    env = SingleProductEnv(demand=demand, initial_reference_price=5.0)
    env.reset(seed=0)
    reference = 5.0
    for action in (18, 18, 0, 7):
        observation, _, _, _, info = env.step(action)
        reference = 0.7 * reference + 0.3 * info["price"]
        assert observation[2] == pytest.approx(reference, rel=1e-6)


def test_units_sold_match_poisson_thinning():
    # 20,000 periods at price 5.0: units ~ Poisson(M P), customers ~ Poisson(M).
    # Tolerance: 5 standard errors of the mean, so a correct sampler fails about once in
    # 3 million runs; the seeds are fixed anyway.
    env = SingleProductEnv(horizon=20_000)
    env.reset(seed=11)
    steps = [env.step(8)[4] for _ in range(20_000)]
    units = np.array([info["units_sold"] for info in steps])
    customers = np.array([info["customers"] for info in steps])
    expected_units = float(env.demand.expected_demand(5.0))
    tolerance = 5 * np.sqrt(expected_units / units.size)
    assert abs(units.mean() - expected_units) < tolerance
    assert abs(customers.mean() - 20.0) < 5 * np.sqrt(20.0 / units.size)
    # Poisson: variance equals the mean (within 10%, about 7 standard errors here).
    assert units.var() == pytest.approx(expected_units, rel=0.1)


def test_inventory_never_oversells():
    env = InventoryEnv(initial_stock=7, horizon=30)
    for seed in range(20):
        env.reset(seed=seed)
        sold = 0
        while True:
            observation, reward, terminated, truncated, info = env.step(0)
            sold += info["units_sold"]
            assert info["units_sold"] <= info["units_sold"] + info["lost_sales"]
            assert observation[2] == 7 - sold
            if terminated or truncated:
                break
        assert sold <= 7
        assert terminated == (sold == 7)


def test_inventory_terminates_when_sold_out():
    env = InventoryEnv(initial_stock=3, horizon=50)
    env.reset(seed=0)
    terminated = truncated = False
    while not (terminated or truncated):
        observation, _, terminated, truncated, info = env.step(0)
    assert terminated
    assert not truncated
    assert observation[2] == 0
    assert info["stock_left"] == 0
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)


def test_inventory_salvage_paid_at_end():
    env = InventoryEnv(initial_stock=100, horizon=3, salvage_value=2.0)
    env.reset(seed=0)
    for _ in range(3):
        _, reward, terminated, truncated, info = env.step(18)
    assert truncated
    assert not terminated
    assert info["salvage_revenue"] == 2.0 * info["stock_left"]
    assert reward == info["revenue"] + info["salvage_revenue"]


def test_render_ansi():
    env = SingleProductEnv(render_mode="ansi")
    env.reset(seed=0)
    assert "no price" in env.render()
    env.step(4)
    assert "price 3.00" in env.render()
    assert SingleProductEnv().render() is None


# -- determinism and pickling ------------------------------------------------------------


@pytest.mark.parametrize("env_id, kwargs", MARKET_CONFIGS)
def test_same_seed_same_trajectory(env_id, kwargs):
    first = _rollout(gym.make(env_id, horizon=25, **kwargs), seed=42)
    second = _rollout(gym.make(env_id, horizon=25, **kwargs), seed=42)
    _assert_same_records(first, second)


@pytest.mark.parametrize("env_id, kwargs", MARKET_CONFIGS)
def test_different_seed_different_trajectory(env_id, kwargs):
    first = _rollout(gym.make(env_id, horizon=25, **kwargs), seed=1)
    second = _rollout(gym.make(env_id, horizon=25, **kwargs), seed=2)
    assert [r[4].get("customers") for r in first] != [r[4].get("customers") for r in second]


@pytest.mark.parametrize("env_id, kwargs", MARKET_CONFIGS)
def test_pickle_round_trip(env_id, kwargs):
    env = gym.make(env_id, horizon=25, **kwargs).unwrapped
    env.reset(seed=5)
    action = env.action_space.sample()
    env.step(action)
    copy = pickle.loads(pickle.dumps(env))
    for _ in range(10):
        original = env.step(action)
        restored = copy.step(action)
        np.testing.assert_array_equal(original[0], restored[0])
        assert original[1:] == restored[1:]
        if original[2] or original[3]:
            break
    assert copy.reset(seed=9)[0] in copy.observation_space


# -- action validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    "action, match",
    [
        (float("nan"), "nan"),
        (19, "19"),
        (-1, "-1"),
        (2.5, "2.5"),
        ("3", "'3'"),
        (np.array([1, 2]), r"array\(\[1, 2\]\)"),
    ],
)
@pytest.mark.parametrize("env_class", [SingleProductEnv, InventoryEnv])
def test_invalid_discrete_action_rejected(env_class, action, match):
    env = env_class()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(action)


@pytest.mark.parametrize("value, match", [(float("nan"), "nan"), (1.5, "1.5"), (-1.01, "-1.01")])
@pytest.mark.parametrize("env_class", [SingleProductEnv, InventoryEnv])
def test_invalid_continuous_action_rejected(env_class, value, match):
    env = env_class(action_type="continuous")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(np.array([value], dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.array([0.0, 0.0], dtype=np.float32))


def test_integral_float_and_numpy_actions_accepted():
    env = SingleProductEnv()
    env.reset(seed=0)
    prices = [env.step(action)[4]["price"] for action in (3, np.int64(3), 3.0, np.array(3))]
    assert prices == [2.5] * 4


# -- constructor validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"action_type": "box"}, "action_type must be one of"),
        ({"horizon": 0}, "horizon must be an integer >= 1, got 0"),
        ({"n_prices": 1}, "n_prices must be an integer >= 2, got 1"),
        ({"min_price": 5.0, "max_price": 5.0}, "min_price must be below max_price"),
        ({"min_price": -1.0}, "min_price must be >= 0, got -1.0"),
        ({"price_grid": [1.0, 3.0, 2.0]}, "strictly increasing"),
        ({"price_grid": [1.0, 2.0], "n_prices": 3}, "disagrees"),
        ({"unit_cost": -1.0}, "unit_cost must be a finite number >= 0, got -1.0"),
        ({"initial_reference_price": 20.0}, "initial_reference_price must lie in"),
        ({"initial_reference_price": float("nan")}, "initial_reference_price must lie in"),
        ({"initial_reference_price": "5"}, "initial_reference_price must be a number .* got '5'"),
        ({"demand": LinearDemand(10.0, 1.0), "demand_params": {"intercept": 5}}, "demand_params"),
        ({"demand": "no-such-model"}, "no-such-model"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_single_product_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SingleProductEnv(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"initial_stock": 0}, "initial_stock must be an integer >= 1, got 0"),
        ({"salvage_value": float("nan")}, "salvage_value must be a finite number >= 0"),
        ({"demand": "reference-price"}, "stationary demand"),
    ],
)
def test_inventory_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        InventoryEnv(**kwargs)


@pytest.mark.parametrize("scenarios", [None, [{"kind": "shock", "start": 2, "factor": 0.5}]])
def test_empty_market_passes_checker(scenarios):
    env = SingleProductEnv(
        demand="logit", demand_params={"alpha": 4.0, "beta": 0.6, "market_size": 0.0}, scenarios=scenarios
    )
    assert env.observation_space.high[1] == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gymnasium_check_env(env, skip_render_check=True)


def test_demand_from_name_and_mapping():
    by_name = SingleProductEnv(demand="linear", demand_params={"intercept": 30.0, "slope": 3.0})
    by_mapping = SingleProductEnv(demand={"name": "linear", "intercept": 30.0, "slope": 3.0})
    assert by_name.demand == by_mapping.demand == LinearDemand(30.0, 3.0)


# -- observations stay inside the space ---------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    market_size=st.floats(0.0, 500.0),
    alpha=st.floats(-5.0, 20.0),
    beta=st.floats(0.01, 5.0),
    max_price=st.floats(0.5, 1000.0),
    continuous=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_observations_inside_space(market_size, alpha, beta, max_price, continuous, seed):
    env = SingleProductEnv(
        demand="logit",
        demand_params={"alpha": alpha, "beta": beta, "market_size": market_size},
        horizon=15,
        min_price=0.0,
        max_price=max_price,
        action_type="continuous" if continuous else "discrete",
    )
    env.action_space.seed(seed)
    observation, _ = env.reset(seed=seed)
    assert env.observation_space.contains(observation)
    for _ in range(15):
        observation, reward, _, _, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(observation)
        assert np.isfinite(reward)
        assert reward >= 0
        assert all(np.isfinite(value) for value in info.values())


@pytest.mark.parametrize("module_name", ["envs.single_product", "envs.inventory"])
def test_docstring_examples_run(module_name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module_name))
    assert result.attempted > 0
    assert result.failed == 0


DEMAND_CONFIGS = [
    pytest.param({"demand": "linear", "demand_params": {"intercept": 30.0, "slope": 4.0}}, id="linear"),
    pytest.param({"demand": "exponential", "demand_params": {"base_rate": 25.0, "sensitivity": 0.3}}, id="exponential"),
    pytest.param(
        {"demand": "constant-elasticity", "demand_params": {"scale": 60.0, "elasticity": 1.5, "floor": 0.5, "cap": 40.0}},
        id="constant-elasticity",
    ),
    pytest.param(
        {
            "demand": "mixture",
            "demand_params": {
                "segments": [
                    {"weight": 0.3, "model": {"name": "logit", "alpha": 6.0, "beta": 0.5, "market_size": 20.0}},
                    {"weight": 0.7, "model": {"name": "logit", "alpha": 3.0, "beta": 0.9, "market_size": 20.0}},
                ]
            },
        },
        id="mixture",
    ),
]


@pytest.mark.parametrize("action_type", ["discrete", "continuous"])
@pytest.mark.parametrize("kwargs", DEMAND_CONFIGS)
@pytest.mark.parametrize("env_class", [SingleProductEnv, InventoryEnv])
def test_every_demand_model_runs(env_class, kwargs, action_type):
    # Price range from 0, so the bounds of every model are exercised.
    env = env_class(horizon=12, action_type=action_type, min_price=0.0, max_price=12.0, **kwargs)
    oracle = env.oracle()
    assert np.isfinite(oracle.expected_return())
    assert oracle.expected_return() >= best_fixed_price_policy(env).expected_return() - 1e-9
    env.action_space.seed(0)
    observation, _ = env.reset(seed=0)
    for step in range(12):
        action = oracle.act(observation) if step % 2 else env.action_space.sample()
        assert env.action_space.contains(action)
        observation, reward, terminated, truncated, info = env.step(action)
        assert env.observation_space.contains(observation)
        assert np.isfinite(reward)
        assert all(np.isfinite(value) for value in info.values())
        if terminated or truncated:
            break
