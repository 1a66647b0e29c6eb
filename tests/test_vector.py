"""The vector env against scalar envs, and the random streams both rely on."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector.vector_env import AutoresetMode
from scipy.stats import poisson

import envs  # noqa: F401  (registers the markets)
from envs.random_streams import (
    PoissonTable,
    episode_bits,
    poisson_inverse_cdf,
    poisson_inverse_cdf_one,
    poisson_support_max,
    stream_counter,
    uniform_bits,
    uniform_bits_scalar,
)
from envs.single_product import SingleProductEnv
from envs.vector import SingleProductVectorEnv

CONFIGS = [
    pytest.param({}, id="discrete"),
    pytest.param({"action_type": "continuous"}, id="continuous"),
    pytest.param({"demand": "reference-price"}, id="reference-discrete"),
    pytest.param({"demand": "reference-price", "action_type": "continuous"}, id="reference-continuous"),
    pytest.param({"unit_cost": 2.0, "demand": "exponential", "demand_params": {"base_rate": 300.0, "sensitivity": 0.2}}, id="exponential-large"),
]
INFO_KEYS = ("price", "customers", "units_sold", "revenue", "profit", "oracle_revenue")


def _actions(space, rng, num_envs):
    if isinstance(space, gym.spaces.Discrete):
        return rng.integers(0, space.n, size=num_envs)
    return rng.uniform(-1.0, 1.0, size=(num_envs, 1)).astype(np.float32)


# -- agreement with scalar envs ----------------------------------------------------------


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_vector_matches_scalar_next_step(kwargs):
    # Horizon 6 and 20 steps cross two episode boundaries, with NEXT_STEP autoreset.
    num_envs, horizon = 4, 6
    vector = SingleProductVectorEnv(num_envs=num_envs, horizon=horizon, **kwargs)
    scalars = [SingleProductEnv(horizon=horizon, **kwargs) for _ in range(num_envs)]
    rng = np.random.default_rng(0)

    observations, _ = vector.reset(seed=100)
    for i, env in enumerate(scalars):
        np.testing.assert_array_equal(observations[i], env.reset(seed=100 + i)[0])

    needs_reset = [False] * num_envs
    for _ in range(20):
        actions = _actions(vector.single_action_space, rng, num_envs)
        observations, rewards, terminated, truncated, info = vector.step(actions)
        for i, env in enumerate(scalars):
            if needs_reset[i]:
                observation, _ = env.reset()
                reward, done, scalar_info = 0.0, (False, False), None
            else:
                observation, reward, *done, scalar_info = env.step(actions[i])
            np.testing.assert_array_equal(observations[i], observation)
            assert rewards[i] == reward
            assert (terminated[i], truncated[i]) == tuple(done)
            assert info["_price"][i] == (scalar_info is not None)
            if scalar_info is not None:
                for key in INFO_KEYS[:-1]:
                    assert info[key][i] == scalar_info[key], key
                # The oracle's per-period reward comes from a batched lookahead; allow for
                # rounding differences between batch sizes.
                assert info["oracle_revenue"][i] == pytest.approx(scalar_info["oracle_revenue"], rel=1e-12)
            needs_reset[i] = any(done)


def test_vector_matches_scalar_same_step():
    num_envs, horizon = 3, 4
    vector = SingleProductVectorEnv(
        num_envs=num_envs, horizon=horizon, autoreset_mode=AutoresetMode.SAME_STEP
    )
    scalars = [SingleProductEnv(horizon=horizon) for _ in range(num_envs)]
    vector.reset(seed=[7, 8, 9])
    for i, env in enumerate(scalars):
        env.reset(seed=7 + i)
    rng = np.random.default_rng(1)
    for step in range(10):
        actions = rng.integers(0, 19, size=num_envs)
        observations, rewards, _, truncated, info = vector.step(actions)
        for i, env in enumerate(scalars):
            observation, reward, _, scalar_truncated, scalar_info = env.step(actions[i])
            assert rewards[i] == reward
            assert truncated[i] == scalar_truncated
            assert info["units_sold"][i] == scalar_info["units_sold"]
            if scalar_truncated:
                np.testing.assert_array_equal(info["final_obs"][i], observation)
                assert info["final_info"]["units_sold"][i] == scalar_info["units_sold"]
                observation, _ = env.reset()
            np.testing.assert_array_equal(observations[i], observation)
        assert truncated.any() == (step % horizon == horizon - 1)


def test_disabled_autoreset_needs_reset_mask():
    vector = SingleProductVectorEnv(num_envs=2, horizon=2, autoreset_mode="Disabled")
    vector.reset(seed=0)
    vector.step(np.array([0, 1]))
    _, _, _, truncated, _ = vector.step(np.array([0, 1]))
    assert truncated.all()
    with pytest.raises(RuntimeError, match="reset_mask"):
        vector.step(np.array([0, 1]))
    observations, _ = vector.reset(options={"reset_mask": np.array([True, True])})
    np.testing.assert_array_equal(observations[:, 3], [1.0, 1.0])
    vector.step(np.array([0, 1]))


def test_reset_mask_resets_only_masked():
    vector = SingleProductVectorEnv(num_envs=3, horizon=5, autoreset_mode="Disabled")
    scalar = SingleProductEnv(horizon=5)
    vector.reset(seed=0)
    scalar.reset(seed=1)
    vector.step(np.array([1, 2, 3]))
    observations, _ = vector.reset(seed=50, options={"reset_mask": np.array([False, True, False])})
    np.testing.assert_array_equal(observations[[0, 2], 3], np.float32([0.8, 0.8]))
    np.testing.assert_array_equal(observations[1], scalar.reset(seed=51)[0])
    # The reseeded market now follows the scalar env seeded with 51.
    observations, *_ = vector.step(np.array([4, 4, 4]))
    np.testing.assert_array_equal(observations[1], scalar.step(4)[0])


def test_make_vec_uses_vector_entry_point():
    vector = gym.make_vec("PricingSim/SingleProduct-v0", num_envs=8, horizon=10)
    assert isinstance(vector.unwrapped, SingleProductVectorEnv)
    observations, _ = vector.reset(seed=0)
    assert observations.shape == (8, 4)
    assert vector.observation_space.contains(observations)
    assert vector.action_space.shape == (8,)


def test_reset_without_seed_differs():
    vector = SingleProductVectorEnv(num_envs=64, horizon=3)
    vector.reset()
    first = vector.step(np.full(64, 9))[4]["units_sold"]
    vector.reset()
    second = vector.step(np.full(64, 9))[4]["units_sold"]
    assert not np.array_equal(first, second)


def test_info_does_not_alias_state():
    vector = SingleProductVectorEnv(num_envs=2, horizon=3)
    vector.reset(seed=0)
    _, _, _, _, info = vector.step(np.array([3, 4]))
    expected = vector._observations()
    info["price"][:] = -1.0
    info["units_sold"][:] = -1
    np.testing.assert_array_equal(vector._observations(), expected)


@pytest.mark.parametrize(
    "actions, match",
    [
        (np.array([0, 19]), "19"),
        (np.array([0.0, np.nan]), "nan"),
        (np.array([0, 1, 2]), r"shape \(2,\)"),
    ],
)
def test_vector_rejects_bad_discrete_actions(actions, match):
    vector = SingleProductVectorEnv(num_envs=2)
    vector.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        vector.step(actions)


@pytest.mark.parametrize(
    "actions, match",
    [(np.array([[0.0], [1.5]]), "1.5"), (np.array([[np.nan], [0.0]]), "nan"), (np.zeros((2, 2)), "shape")],
)
def test_vector_rejects_bad_continuous_actions(actions, match):
    vector = SingleProductVectorEnv(num_envs=2, action_type="continuous")
    vector.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        vector.step(actions)


def test_vector_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_envs must be an integer >= 1, got 0"):
        SingleProductVectorEnv(num_envs=0)
    with pytest.raises(ValueError, match="autoreset_mode must be"):
        SingleProductVectorEnv(num_envs=2, autoreset_mode="sometimes")
    with pytest.raises(ValueError, match="entries, got 3"):
        SingleProductVectorEnv(num_envs=2).reset(seed=[1, 2, 3])
    with pytest.raises(RuntimeError, match="reset"):
        SingleProductVectorEnv(num_envs=2).step(np.array([0, 0]))


@pytest.mark.parametrize("argument", ["scenarios", "observe_competitor_prices"])
def test_make_vec_rejects_scalar_only_arguments(argument):
    value = [{"kind": "shock", "start": 1, "factor": 0.5}] if argument == "scenarios" else True
    with pytest.raises(ValueError, match=f"does not support '{argument}'.*vectorization_mode=\"sync\""):
        gym.make_vec(
            "PricingSim/SingleProduct-v0",
            num_envs=2,
            vectorization_mode="vector_entry_point",
            **{argument: value},
        )


def test_vector_rejects_unknown_argument():
    with pytest.raises(ValueError, match="unknown argument\\(s\\) 'stock'"):
        SingleProductVectorEnv(num_envs=2, stock=3)


def test_vector_exposes_price_bounds():
    vector = SingleProductVectorEnv(num_envs=2, min_price=2.0, max_price=8.0)
    assert (vector.min_price, vector.max_price) == (2.0, 8.0)


# -- random streams -----------------------------------------------------------------------------


def test_uniform_bits_scalar_matches_batch():
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 2**64, size=200, dtype=np.uint64)
    counters = rng.integers(0, 10**6, size=200).astype(np.uint64)
    batch = uniform_bits(keys, counters)
    assert batch.dtype == np.uint64
    assert int(batch.max()) < 2**53
    for key, counter, value in zip(keys, counters, batch):
        assert uniform_bits_scalar(int(key), int(counter)) == int(value)


def test_episode_bits_layout():
    bits = episode_bits(12345, 3)
    for period in range(3):
        for draw in range(2):
            assert bits[period][draw] == uniform_bits_scalar(12345, stream_counter(period, draw))


def test_uniform_bits_known_value():
    # SplitMix64 seeded with 0: its first output is 0xE220A8397B1DCDAF (reference C code).
    assert uniform_bits_scalar(0, 1) == 0xE220A8397B1DCDAF >> 11


@pytest.mark.parametrize("mean", [0.0, 0.05, 2.5, 20.0, 333.3, 5000.0])
def test_poisson_samplers_agree_and_fit(mean):
    bits = uniform_bits(np.uint64(99), np.arange(1, 50_001, dtype=np.uint64))
    table = PoissonTable(np.array([1.0, mean]))
    from_table = table.sample(np.ones(bits.size, dtype=np.int64), bits)
    from_cdf = poisson_inverse_cdf(bits, mean)
    np.testing.assert_array_equal(from_table, from_cdf)
    for i in range(0, bits.size, 2_501):
        assert table.sample_one(1, int(bits[i])) == from_table[i]
    assert from_table.max() <= poisson_support_max(mean)
    # Mean within 5 standard errors (50,000 draws).
    assert abs(from_table.mean() - mean) <= 5 * np.sqrt(max(mean, 1e-9) / bits.size) + 1e-12


def test_poisson_inverse_cdf_exact_quantiles():
    # bits / 2**53 just above F(k) must give k + 1, and exactly F(k) must give k.
    mean = 4.0
    for k in range(12):
        threshold = int(np.floor(poisson.cdf(k, mean) * 2.0**53))
        at = poisson_inverse_cdf(np.array([threshold], dtype=np.uint64), mean)[0]
        above = poisson_inverse_cdf(np.array([threshold + 1], dtype=np.uint64), mean)[0]
        assert at == k
        assert above == k + 1


def test_poisson_table_rejects_bad_means():
    with pytest.raises(ValueError, match="finite and >= 0"):
        PoissonTable(np.array([1.0, -2.0]))
    with pytest.raises(ValueError, match="empty"):
        PoissonTable(np.array([]))


def test_large_market_skips_table_same_draws():
    # A market too large for the lookup table samples with the generic inverse CDF, and the
    # two samplers agree, so the table is only a speed-up.
    params = {"alpha": 4.0, "beta": 0.6, "market_size": 60_000.0}
    env = SingleProductEnv(demand="logit", demand_params=params, horizon=5)
    assert not env.market.uses_table
    small = SingleProductEnv(demand="logit", demand_params=params, horizon=5, n_prices=3)
    assert small.market.uses_table
    env_three = SingleProductEnv(demand="logit", demand_params=params, horizon=5, n_prices=3)
    env_three.market.poisson_table = None
    env_three._table = None
    small.reset(seed=4)
    env_three.reset(seed=4)
    for action in (0, 1, 2, 1):
        assert small.step(action)[4] == env_three.step(action)[4]


@pytest.mark.parametrize("mean", [0.0, 0.01, 3.3, 20.0, 777.7])
def test_scalar_inverse_cdf_matches_batch(mean):
    bits = uniform_bits(np.uint64(5), np.arange(1, 3_001, dtype=np.uint64))
    bits = np.concatenate([bits, np.array([0, 1, 2**53 - 1], dtype=np.uint64)])
    batch = poisson_inverse_cdf(bits, mean)
    for value, expected in zip(bits.tolist(), batch.tolist()):
        assert poisson_inverse_cdf_one(value, mean) == expected
