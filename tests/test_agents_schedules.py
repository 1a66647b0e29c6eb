"""Epsilon and alpha schedules, and the state discretizer."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.discretize import StateDiscretizer
from agents.schedules import EPSILON_SCHEDULES, make_alpha_schedule, make_epsilon_schedule

probabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
decay_steps = st.floats(min_value=1e-3, max_value=1e7, allow_nan=False)


@pytest.mark.parametrize("kind", EPSILON_SCHEDULES)
@settings(max_examples=60, deadline=None)
@given(start=probabilities, floor=probabilities, decay=decay_steps)
def test_epsilon_never_increases_nor_drops_below_floor(kind, start, floor, decay):
    start, floor = max(start, floor), min(start, floor)
    schedule = make_epsilon_schedule(kind, start, floor, decay)
    steps = np.unique(np.r_[0, np.geomspace(1, 1e9, 400).astype(np.int64), np.arange(0, 2000, 7)])

    values = schedule.values(steps)
    assert np.all(np.diff(values) <= 0.0)
    assert np.all(values >= schedule.floor)
    assert values[0] == pytest.approx(start)

    scalar_values = np.array([schedule(int(t)) for t in steps[::25]])
    np.testing.assert_allclose(scalar_values, values[::25], rtol=1e-12, atol=0.0)
    assert np.all(scalar_values >= schedule.floor)


def test_linear_epsilon_reaches_floor_at_decay_steps():
    schedule = make_epsilon_schedule("linear", 1.0, 0.1, 100)
    assert schedule(50) == pytest.approx(0.55)
    assert schedule(100) == pytest.approx(0.1)
    assert schedule(10**6) == pytest.approx(0.1)


def test_exponential_epsilon_time_constant():
    schedule = make_epsilon_schedule("exponential", 1.0, 0.0, 100)
    assert schedule(100) == pytest.approx(np.exp(-1.0))


def test_constant_epsilon_ignores_floor():
    schedule = make_epsilon_schedule("constant", 0.2, 0.0, 1)
    assert schedule(0) == schedule(10**9) == 0.2
    assert schedule.floor == 0.2


def test_epsilon_floor_above_start_rejected():
    with pytest.raises(ValueError, match=r"epsilon floor \(0.5\) must not exceed the start value \(0.1\)"):
        make_epsilon_schedule("linear", 0.1, 0.5, 10)


def test_unknown_epsilon_schedule_rejected():
    with pytest.raises(ValueError, match="unknown epsilon schedule 'cosine'; valid schedules: constant, linear"):
        make_epsilon_schedule("cosine", 1.0)


def test_epsilon_out_of_range_rejected():
    with pytest.raises(ValueError, match=r"epsilon start must be in \[0, 1\], got 1.5"):
        make_epsilon_schedule("linear", 1.5)


def test_alpha_schedules_values():
    assert make_alpha_schedule("constant", alpha=0.3)(7) == 0.3
    assert make_alpha_schedule("inverse-visits")(4) == 0.25
    assert make_alpha_schedule("polynomial", power=0.5 + 1e-9)(4) == pytest.approx(0.5)
    np.testing.assert_allclose(make_alpha_schedule("polynomial", power=0.8).values(np.array([1, 32])), [1.0, 0.0625])


def test_alpha_power_out_of_range_rejected():
    with pytest.raises(ValueError, match=r"alpha power must be in \(0.5, 1\], got 0.4"):
        make_alpha_schedule("polynomial", power=0.4)


def test_alpha_zero_rejected():
    with pytest.raises(ValueError, match="alpha = 0 would never learn"):
        make_alpha_schedule("constant", alpha=0.0)


# ------------------------------------------------------------------------- discretizer


def test_uniform_bins_over_box_bounds():
    space = gym.spaces.Box(np.array([0.0, -1.0]), np.array([10.0, 1.0]), dtype=np.float64)
    discretizer = StateDiscretizer(space, bins=[5, 2])
    assert discretizer.n_states == 10
    assert discretizer.transform([0.0, -1.0]) == 0
    assert discretizer.transform([3.9, 0.5]) == 1 * 2 + 1
    assert discretizer.transform([10.0, 1.0]) == 9
    # Out-of-range values fall into the edge bins.
    assert discretizer.transform([-5.0, 7.0]) == 1
    observations = np.array([[0.0, -1.0], [3.9, 0.5], [10.0, 1.0], [-5.0, 7.0]])
    assert discretizer.transform_batch(observations).tolist() == [0, 3, 9, 1]


def test_nan_observation_rejected():
    space = gym.spaces.Box(np.array([0.0, -1.0]), np.array([10.0, 1.0]), dtype=np.float64)
    discretizer = StateDiscretizer(space, bins=[5, 2])
    with pytest.raises(ValueError, match="has NaN in component 1"):
        discretizer.transform([1.0, np.nan])
    with pytest.raises(ValueError, match=r"\(row 1\) has NaN"):
        discretizer.transform_batch(np.array([[1.0, 0.0], [np.nan, 0.0]]))


def test_explicit_edges():
    space = gym.spaces.Box(-np.inf, np.inf, shape=(1,), dtype=np.float64)
    discretizer = StateDiscretizer(space, edges=[[0.0, 1.0]])
    assert discretizer.n_states == 3
    assert [discretizer.transform([v]) for v in (-1.0, 0.0, 0.5, 1.0, 9.0)] == [0, 1, 1, 2, 2]
    assert discretizer.state_labels() == ["obs[0] in [-inf, 0)", "obs[0] in [0, 1)", "obs[0] in [1, inf)"]


def test_state_labels_skip_single_bin_components():
    space = gym.spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float64)
    assert StateDiscretizer(space, bins=[1, 2]).state_labels() == ["obs[1] in [-inf, 0.5)", "obs[1] in [0.5, inf)"]
    assert StateDiscretizer(space, bins=1).state_labels() == ["every observation"]


def test_infinite_bounds_need_edges():
    space = gym.spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float64)
    with pytest.raises(ValueError, match="observation component 0 has infinite bounds.*pass explicit edges"):
        StateDiscretizer(space, bins=4)


def test_bins_count_must_match_components():
    space = gym.spaces.Box(0.0, 1.0, shape=(3,), dtype=np.float64)
    with pytest.raises(ValueError, match="bins has 2 entries but the observation has 3 components"):
        StateDiscretizer(space, bins=[2, 2])


def test_unsorted_edges_rejected():
    space = gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float64)
    with pytest.raises(ValueError, match="edges\\[0\\] must be finite and strictly increasing"):
        StateDiscretizer(space, edges=[[0.5, 0.2]])


def test_discrete_and_multidiscrete_spaces():
    assert StateDiscretizer(gym.spaces.Discrete(7)).transform(4) == 4
    multi = StateDiscretizer(gym.spaces.MultiDiscrete([3, 4]))
    assert multi.n_states == 12
    assert multi.transform(np.array([2, 1])) == 9


def test_unsupported_space_rejected():
    with pytest.raises(TypeError, match="cannot discretize a Dict observation space"):
        StateDiscretizer(gym.spaces.Dict({"a": gym.spaces.Discrete(2)}))
