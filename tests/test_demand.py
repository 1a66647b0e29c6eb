"""Tests of the customer response models: properties, closed-form optima, validation, configs."""

from __future__ import annotations

import dataclasses
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from envs.demand import (
    DEMAND_MODELS,
    ConstantElasticityDemand,
    DemandModel,
    ExponentialDemand,
    LinearDemand,
    LogitDemand,
    ReferencePriceDemand,
    Segment,
    SegmentMixture,
    make_demand,
)

PROPERTY_SETTINGS = settings(max_examples=40, deadline=None)

# Highest price the property tests post; large enough that every model's demand is
# negligible or floored there for most parameter draws.
MAX_PRICE = 1e4


# --------------------------------------------------------------------------------------------
# Strategies


def finite(low: float, high: float):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def log_uniform(low: float, high: float):
    return finite(math.log(low), math.log(high)).map(math.exp)


linear_models = st.builds(
    LinearDemand, intercept=log_uniform(1e-3, 1e6), slope=log_uniform(1e-3, 1e3)
)
logit_models = st.builds(
    LogitDemand,
    alpha=finite(-800.0, 800.0),
    beta=log_uniform(1e-4, 1e3),
    market_size=finite(0.0, 1e6),
)
exponential_models = st.builds(
    ExponentialDemand, base_rate=finite(0.0, 1e6), sensitivity=log_uniform(1e-4, 1e3)
)


@st.composite
def constant_elasticity_models(draw):
    cap = draw(log_uniform(1e-3, 1e6))
    floor = draw(finite(0.0, 1.0)) * cap * draw(st.sampled_from([0.0, 1.0]))
    return ConstantElasticityDemand(
        scale=draw(log_uniform(1e-3, 1e6)),
        elasticity=draw(log_uniform(0.05, 20.0)),
        floor=floor,
        cap=cap,
    )


base_models = st.one_of(
    linear_models, logit_models, exponential_models, constant_elasticity_models()
)


@st.composite
def mixtures(draw):
    models = draw(st.lists(base_models, min_size=1, max_size=3))
    raw = np.asarray(draw(st.lists(finite(0.01, 1.0), min_size=len(models), max_size=len(models))))
    weights = raw / raw.sum()
    weights[-1] = 1.0 - weights[:-1].sum()
    return SegmentMixture([(float(w), m) for w, m in zip(weights, models)])


stationary_models = st.one_of(base_models, mixtures())

reference_models = st.builds(
    ReferencePriceDemand,
    base=stationary_models,
    memory=finite(0.0, 0.999),
    gain_sensitivity=finite(0.0, 50.0),
    loss_sensitivity=finite(0.0, 50.0),
)

all_models = st.one_of(stationary_models, reference_models)

price_arrays = st.lists(finite(0.0, MAX_PRICE), min_size=1, max_size=20).map(
    lambda prices: np.asarray(prices + [0.0, MAX_PRICE])
)


def dense_argmax(model: DemandModel, unit_cost: float, low: float, high: float, n: int = 400_001):
    """Return the best price of an ``n``-point grid on ``[low, high]`` and its profit."""
    grid = np.linspace(low, high, n)
    profit = np.asarray(model.expected_revenue(grid, unit_cost))
    best = int(np.argmax(profit))
    return float(grid[best]), float(profit[best]), (high - low) / (n - 1)


# --------------------------------------------------------------------------------------------
# Properties of every model


@PROPERTY_SETTINGS
@given(model=all_models, prices=price_arrays, unit_cost=finite(0.0, 100.0))
def test_outputs_bounded_and_finite(model, prices, unit_cost):
    probability = np.asarray(model.purchase_probability(prices))
    demand = np.asarray(model.expected_demand(prices))
    revenue = np.asarray(model.expected_revenue(prices, unit_cost))

    assert probability.shape == prices.shape
    assert np.all(np.isfinite(probability))
    assert np.all((probability >= 0.0) & (probability <= 1.0))
    assert np.all(np.isfinite(demand))
    assert np.all(demand >= 0.0)
    assert np.all(np.isfinite(revenue))
    np.testing.assert_allclose(demand, model.market_size * probability, rtol=1e-12)
    np.testing.assert_allclose(revenue, (prices - unit_cost) * demand, rtol=1e-12)


@PROPERTY_SETTINGS
@given(model=stationary_models, prices=price_arrays)
def test_demand_nonincreasing_in_price(model, prices):
    prices = np.sort(prices)
    demand = np.asarray(model.expected_demand(prices))

    # Rounding in the mixture's weighted sum may add a few ulps.
    assert np.all(np.diff(demand) <= 1e-12 * max(1.0, model.market_size))


@PROPERTY_SETTINGS
@given(model=reference_models, prices=price_arrays, reference=finite(0.0, MAX_PRICE))
def test_reference_outputs_bounded_and_monotone(model, prices, reference):
    prices = np.sort(prices)
    probability = np.asarray(model.purchase_probability(prices, reference))
    demand = np.asarray(model.expected_demand(prices, reference))
    revenue = np.asarray(model.expected_revenue(prices, 1.0, reference_price=reference))

    assert np.all(np.isfinite(probability))
    assert np.all((probability >= 0.0) & (probability <= 1.0))
    assert np.all(demand >= 0.0)
    np.testing.assert_allclose(revenue, (prices - 1.0) * demand, rtol=1e-12)
    assert np.all(np.diff(demand) <= 1e-12 * max(1.0, model.market_size))


@PROPERTY_SETTINGS
@given(model=all_models, unit_cost=finite(0.0, 50.0), low=finite(0.0, 50.0), width=finite(0.0, 50.0))
def test_bounded_optimum_inside_bounds(model, unit_cost, low, width):
    price = model.optimal_price(unit_cost, (low, low + width))

    assert isinstance(price, float)
    assert low <= price <= low + width


# --------------------------------------------------------------------------------------------
# Batch shapes


@pytest.mark.parametrize(
    "model",
    [
        LinearDemand(),
        LogitDemand(),
        ExponentialDemand(),
        ConstantElasticityDemand(),
        SegmentMixture([(0.3, LinearDemand()), (0.7, LogitDemand())]),
        ReferencePriceDemand(LogitDemand()),
    ],
    ids=lambda model: model.name,
)
def test_batch_shapes(model):
    scalar = model.purchase_probability(2.0)
    matrix = np.linspace(0.0, 10.0, 12).reshape(3, 4)

    assert isinstance(scalar, np.float64)
    assert isinstance(model.expected_demand(2.0), np.float64)
    assert isinstance(model.expected_revenue(2.0, 0.5), np.float64)
    assert model.purchase_probability([1.0, 2.0]).shape == (2,)
    assert model.expected_revenue(matrix).shape == (3, 4)
    np.testing.assert_array_equal(
        model.purchase_probability(matrix)[1], model.purchase_probability(matrix[1])
    )
    assert model.purchase_probability(matrix)[0, 0] == model.purchase_probability(0.0)


def test_reference_broadcasts_prices_against_references():
    model = ReferencePriceDemand(LogitDemand(), gain_sensitivity=0.3, loss_sensitivity=0.6)
    prices = np.array([[1.0], [4.0], [7.0]])
    references = np.array([2.0, 4.0, 6.0, 8.0])

    probability = model.purchase_probability(prices, references)

    assert probability.shape == (3, 4)
    assert probability[1, 2] == model.purchase_probability(4.0, 6.0)
    assert isinstance(model.purchase_probability(4.0, 6.0), np.float64)
    with pytest.raises(ValueError, match="broadcast"):
        model.purchase_probability(np.ones(3), np.ones(4))


def test_extreme_parameters_stay_finite():
    prices = np.array([0.0, 1e-300, 1.0, 1e300])
    models = [
        LinearDemand(intercept=1e-300, slope=1e10),
        LinearDemand(intercept=1e300, slope=1e-300),
        LogitDemand(alpha=1e300, beta=1e300),
        ExponentialDemand(base_rate=1e300, sensitivity=1e300),
        ConstantElasticityDemand(scale=1e-300, elasticity=1e-3, cap=1e300),
        ConstantElasticityDemand(scale=1e300, elasticity=1e-3, cap=1e-300),
    ]
    for model in models:
        # Products such as slope * price overflow to inf here and numpy warns, but the
        # probability saturates correctly. The hot path skips np.errstate, which costs
        # about as much as the whole call.
        with np.errstate(over="ignore"):
            probability = np.asarray(model.purchase_probability(prices))
        assert np.all(np.isfinite(probability)), model
        assert np.all((probability >= 0.0) & (probability <= 1.0)), model


def test_reference_extreme_shift_stays_finite():
    model = ReferencePriceDemand(LinearDemand(1.0, 1.0), gain_sensitivity=1e300, loss_sensitivity=1e300)

    # The linear base has probability exactly 0 above its choke price 1 and exactly 1 at 0.
    # The shift overflows to inf before it is clipped, so numpy's overflow warning is muted.
    with np.errstate(over="ignore"):
        assert model.purchase_probability(2.0, 1e10) == 0.0
        assert model.purchase_probability(0.0, 1e10) == 1.0
        assert model.purchase_probability(0.5, 1e10) == 1.0
        assert model.purchase_probability(0.5, 0.0) == 0.0


def test_nan_price_gives_nan():
    for model in [LinearDemand(), LogitDemand(), ExponentialDemand(), ConstantElasticityDemand()]:
        assert np.isnan(model.purchase_probability(np.nan)), model.name


# --------------------------------------------------------------------------------------------
# Closed-form optima against a dense numeric search


# Tolerance: the closed form must earn at least the best grid profit, less a relative 1e-12
# for rounding. It must also lie within two grid steps of the best grid point, because for
# a unimodal profit the true optimum is within one step h of the best point of a grid.
CLOSED_FORM_CASES = [
    (LinearDemand(100.0, 10.0), 0.0, 20.0),
    (LinearDemand(100.0, 10.0), 4.0, 20.0),
    (LinearDemand(5.0, 0.01), 30.0, 600.0),
    (LogitDemand(3.0, 0.5, 100.0), 0.0, 40.0),
    (LogitDemand(3.0, 0.5, 100.0), 2.0, 40.0),
    (LogitDemand(-4.0, 2.0, 10.0), 0.5, 10.0),
    (LogitDemand(30.0, 0.1, 1.0), 5.0, 600.0),
    (ExponentialDemand(100.0, 0.2), 0.0, 60.0),
    (ExponentialDemand(100.0, 0.2), 3.0, 60.0),
    (ExponentialDemand(3.0, 5.0), 0.1, 3.0),
    (ConstantElasticityDemand(100.0, 2.0, 0.0, 1000.0), 1.0, 30.0),
    (ConstantElasticityDemand(100.0, 3.5, 0.0, 1000.0), 2.0, 30.0),
    (ConstantElasticityDemand(100.0, 2.0, 0.0, 1000.0), 0.0, 30.0),
    (ConstantElasticityDemand(100.0, 1.5, 0.0, 50.0), 0.1, 30.0),
]


@pytest.mark.parametrize("model, unit_cost, search_high", CLOSED_FORM_CASES)
def test_closed_form_matches_grid(model, unit_cost, search_high):
    price = model.optimal_price(unit_cost)
    grid_price, grid_profit, step = dense_argmax(model, unit_cost, 0.0, search_high)

    assert model.expected_revenue(price, unit_cost) >= grid_profit * (1 - 1e-12) - 1e-12
    assert abs(price - grid_price) <= 2 * step


@pytest.mark.parametrize("model, unit_cost, search_high", CLOSED_FORM_CASES)
@pytest.mark.parametrize("bounds_fraction", [(0.0, 0.1), (0.05, 0.3), (0.4, 0.9)])
def test_bounded_closed_form_matches_grid(model, unit_cost, search_high, bounds_fraction):
    bounds = (bounds_fraction[0] * search_high, bounds_fraction[1] * search_high)
    price = model.optimal_price(unit_cost, bounds)
    _, grid_profit, _ = dense_argmax(model, unit_cost, *bounds, n=100_001)

    assert bounds[0] <= price <= bounds[1]
    assert model.expected_revenue(price, unit_cost) >= grid_profit - 1e-9 * max(1.0, abs(grid_profit))


def test_closed_form_values():
    assert LinearDemand(100.0, 10.0).optimal_price(2.0) == 6.0
    assert ExponentialDemand(50.0, 0.25).optimal_price(1.0) == 5.0
    assert ConstantElasticityDemand(100.0, 3.0, 0.0, 1000.0).optimal_price(2.0) == 3.0
    # Cost 0, eps > 1: revenue falls with price until the cap binds at (A / cap)^(1 / eps).
    assert ConstantElasticityDemand(100.0, 2.0, 0.0, 400.0).optimal_price(0.0) == pytest.approx(0.5, rel=1e-15)
    # Logit with alpha = 1 + beta c: W(e^0) = W(1) = omega constant 0.5671432904097838.
    assert LogitDemand(3.0, 0.5).optimal_price(4.0) == pytest.approx(
        4.0 + (1 + 0.5671432904097838) / 0.5, rel=1e-14
    )


@PROPERTY_SETTINGS
@given(model=st.one_of(linear_models, logit_models, exponential_models), unit_cost=finite(0.0, 100.0))
def test_unimodal_optimum_beats_neighbours(model, unit_cost):
    price = model.optimal_price(unit_cost)
    profit = model.expected_revenue(price, unit_cost)
    offsets = np.array([1e-6, 1e-3, 1e-1, 1.0]) * max(price, 1e-3)
    neighbours = np.concatenate([np.maximum(price - offsets, 0.0), price + offsets])

    tolerance = 1e-9 * max(1.0, abs(profit))
    assert np.all(np.asarray(model.expected_revenue(neighbours, unit_cost)) <= profit + tolerance)


@PROPERTY_SETTINGS
@given(
    model=stationary_models,
    unit_cost=finite(0.0, 20.0),
    low=finite(0.0, 20.0),
    width=finite(0.0, 40.0),
)
def test_bounded_optimum_beats_grid(model, unit_cost, low, width):
    bounds = (low, low + width)
    price = model.optimal_price(unit_cost, bounds)
    _, grid_profit, _ = dense_argmax(model, unit_cost, *bounds, n=20_001)

    # Closed forms are exact. The mixture's zooming search matches a 20,001-point grid up to
    # rounding unless a peak is narrower than the search's first grid step.
    tolerance = 1e-9 * max(1.0, abs(grid_profit))
    assert model.expected_revenue(price, unit_cost) >= grid_profit - tolerance


@PROPERTY_SETTINGS
@given(
    model=reference_models,
    unit_cost=finite(0.0, 20.0),
    reference=finite(0.0, 40.0),
    high=finite(0.0, 40.0),
)
def test_reference_bounded_optimum_beats_grid(model, unit_cost, reference, high):
    bounds = (0.0, high)
    price = model.optimal_price(unit_cost, bounds, reference_price=reference)
    grid = np.linspace(0.0, high, 20_001)
    grid_profit = np.max(model.expected_revenue(grid, unit_cost, reference_price=reference))

    tolerance = 1e-9 * max(1.0, abs(grid_profit))
    assert 0.0 <= price <= high
    assert model.expected_revenue(price, unit_cost, reference_price=reference) >= grid_profit - tolerance


# Exponents z = alpha - beta c - 1 from far below to far above exp's overflow at z = 709.8.
@pytest.mark.parametrize("z", [-800.0, -50.0, -1.0, 0.0, 50.0, 699.0, 700.0, 700.5, 710.0, 1e4, 1e8])
@pytest.mark.parametrize("beta", [1e-3, 1.0, 1e3])
def test_logit_lambert_w_at_extremes(z, beta):
    unit_cost = 2.0
    model = LogitDemand(alpha=z + 1.0 + beta * unit_cost, beta=beta, market_size=1.0)
    price = model.optimal_price(unit_cost)

    # First-order condition beta (p - c) (1 - P(p)) = 1, with 1 - P = expit(-(alpha - beta p)).
    # alpha - beta p cancels to about -log(W), so its rounding error, a few ulps of alpha,
    # becomes the relative error of the check: hence the tolerance grows with |alpha|.
    margin = beta * (price - unit_cost)
    tolerance = 1e-9 + 1e-15 * abs(model.alpha)
    assert math.isfinite(price)
    assert margin * special.expit(-(model.alpha - beta * price)) == pytest.approx(1.0, rel=tolerance)

    # The margin is 1 + W(e^z) and W(e^z) solves w + log(w) = z.
    w = margin - 1.0
    if w > 1e-300:
        assert w + math.log(w) == pytest.approx(z, rel=1e-12, abs=1e-9 if z < 1e3 else 0.0)


def test_logit_lambert_w_continuous_at_overflow_switch():
    below = LogitDemand(alpha=701.0 - 1e-9, beta=1.0).optimal_price(0.0)
    above = LogitDemand(alpha=701.0 + 1e-9, beta=1.0).optimal_price(0.0)

    assert above - below == pytest.approx(2e-9, abs=1e-10)


# --------------------------------------------------------------------------------------------
# Constant elasticity: floor, cap and unbounded profit


def test_constant_elasticity_demand_values():
    model = ConstantElasticityDemand(scale=100.0, elasticity=2.0, floor=1.0, cap=400.0)
    prices = np.array([0.0, 0.25, 0.5, 1.0, 10.0, 100.0])

    np.testing.assert_allclose(model.expected_demand(prices), [400, 400, 400, 100, 1, 1])
    assert model.cap_price == 0.5
    assert model.floor_price == 10.0
    assert model.market_size == 400.0


@pytest.mark.parametrize(
    "model",
    [
        ConstantElasticityDemand(100.0, 2.0, floor=1.0, cap=400.0),
        ConstantElasticityDemand(100.0, 0.8, floor=0.0, cap=400.0),
        ConstantElasticityDemand(100.0, 1.0, floor=0.0, cap=400.0),
    ],
)
def test_constant_elasticity_unbounded_profit_needs_bounds(model):
    with pytest.raises(ValueError, match=r"grows without bound.*price_bounds=\(low, high\)"):
        model.optimal_price(1.0)
    with pytest.raises(ValueError, match="grows without bound"):
        SegmentMixture([(1.0, model)]).optimal_price(1.0)


def test_constant_elasticity_bounded_two_peaks():
    # With a floor, profit peaks at the markup price and grows again in the floor region.
    model = ConstantElasticityDemand(100.0, 2.0, floor=1.0, cap=400.0)

    assert model.optimal_price(1.0, (0.0, 20.0)) == 2.0  # 25 at p = 2, 19 at p = 20
    assert model.optimal_price(1.0, (0.0, 40.0)) == 40.0  # 39 at p = 40
    assert ConstantElasticityDemand(100.0, 0.5, 0.0, 1e6).optimal_price(1.0, (1.0, 9.0)) == 9.0


@PROPERTY_SETTINGS
@given(model=constant_elasticity_models(), unit_cost=finite(0.0, 10.0), high=finite(0.1, 50.0))
def test_constant_elasticity_bounded_matches_grid(model, unit_cost, high):
    price = model.optimal_price(unit_cost, (0.0, high))
    _, grid_profit, _ = dense_argmax(model, unit_cost, 0.0, high, n=20_001)

    assert model.expected_revenue(price, unit_cost) >= grid_profit - 1e-9 * max(1.0, abs(grid_profit))


# --------------------------------------------------------------------------------------------
# Segment mixtures


@pytest.mark.parametrize(
    "model",
    [LinearDemand(), LogitDemand(), ExponentialDemand(), ConstantElasticityDemand()],
    ids=lambda model: model.name,
)
def test_mixture_of_one_segment_equals_model(model):
    mixture = SegmentMixture([Segment(1.0, model, name="everyone")])
    prices = np.linspace(0.0, 30.0, 301)

    np.testing.assert_array_equal(mixture.purchase_probability(prices), model.purchase_probability(prices))
    np.testing.assert_allclose(mixture.expected_demand(prices), model.expected_demand(prices), rtol=1e-15)
    assert mixture.market_size == model.market_size
    assert mixture.optimal_price(1.0) == pytest.approx(model.optimal_price(1.0), rel=1e-9)
    assert mixture.optimal_price(1.0, (2.0, 3.0)) == pytest.approx(
        model.optimal_price(1.0, (2.0, 3.0)), rel=1e-9
    )


def test_mixture_weights_and_market_size():
    budget = LogitDemand(alpha=2.0, beta=1.0, market_size=100.0)
    premium = ExponentialDemand(base_rate=50.0, sensitivity=0.1)
    mixture = SegmentMixture([(0.75, budget), (0.25, premium)])
    prices = np.array([0.0, 1.0, 5.0, 20.0])

    expected = 0.75 * budget.purchase_probability(prices) + 0.25 * premium.purchase_probability(prices)
    np.testing.assert_allclose(mixture.purchase_probability(prices), expected, rtol=1e-15)
    assert mixture.market_size == 0.75 * 100.0 + 0.25 * 50.0
    assert SegmentMixture([(0.75, budget), (0.25, premium)], market_size=10.0).market_size == 10.0
    np.testing.assert_array_equal(mixture.weights, [0.75, 0.25])


def test_mixture_two_peaked_optimum_matches_grid():
    # A price-sensitive majority and a small segment that pays much more: profit has two
    # local maxima, and the numeric search must find the higher one.
    mixture = SegmentMixture(
        [
            (0.8, LogitDemand(alpha=4.0, beta=2.0, market_size=100.0)),
            (0.2, LogitDemand(alpha=20.0, beta=0.5, market_size=100.0)),
        ]
    )
    price = mixture.optimal_price(0.5)
    grid_price, grid_profit, step = dense_argmax(mixture, 0.5, 0.0, 80.0)

    assert mixture.expected_revenue(price, 0.5) >= grid_profit * (1 - 1e-12)
    assert abs(price - grid_price) <= 2 * step
    assert price > 30.0


@PROPERTY_SETTINGS
@given(
    models=st.lists(st.one_of(linear_models, logit_models, exponential_models), min_size=1, max_size=3),
    unit_cost=finite(0.0, 20.0),
)
def test_mixture_optimum_within_segment_optima(models, unit_cost):
    weight = 1.0 / len(models)
    segments = [(weight, model) for model in models[:-1]]
    segments.append((1.0 - weight * (len(models) - 1), models[-1]))
    mixture = SegmentMixture(segments)
    optima = [model.optimal_price(unit_cost) for model in models]
    price = mixture.optimal_price(unit_cost)

    assert min(optima) - 1e-9 <= price <= max(optima) + 1e-9


def test_nested_mixture_accepts_mappings():
    mixture = make_demand(
        "mixture",
        segments=[
            {"weight": 0.5, "model": {"name": "logit", "alpha": 2.0, "beta": 1.0}, "name": "budget"},
            {"weight": 0.5, "model": {"name": "mixture", "segments": [(1.0, LinearDemand())]}},
        ],
    )

    assert mixture.segments[0].name == "budget"
    assert isinstance(mixture.segments[1].model, SegmentMixture)
    assert mixture.optimal_price(0.0) > 0.0


# --------------------------------------------------------------------------------------------
# Reference prices


def test_reference_smoothing():
    model = ReferencePriceDemand(LogitDemand(), memory=0.75)

    assert model.next_reference_price(8.0, 4.0) == 0.75 * 8.0 + 0.25 * 4.0
    np.testing.assert_allclose(model.next_reference_price(np.array([8.0, 2.0]), 4.0), [7.0, 2.5])

    # Posting one price forever moves the reference geometrically onto that price.
    reference = 10.0
    for _ in range(200):
        reference = model.next_reference_price(reference, 4.0)
    assert reference == pytest.approx(4.0, abs=1e-12)
    assert ReferencePriceDemand(LogitDemand(), memory=0.0).next_reference_price(9.0, 3.0) == 3.0


def test_reference_gain_loss_asymmetry():
    base = LogitDemand(alpha=3.0, beta=0.5)
    model = ReferencePriceDemand(base, gain_sensitivity=0.2, loss_sensitivity=0.7)
    reference, distance = 6.0, 1.5

    gain_side = model.purchase_probability(reference - distance, reference)
    loss_side = model.purchase_probability(reference + distance, reference)

    assert gain_side == pytest.approx(
        special.expit(base.alpha - base.beta * (reference - distance) + 0.2 * distance), rel=1e-14
    )
    assert loss_side == pytest.approx(
        special.expit(base.alpha - base.beta * (reference + distance) - 0.7 * distance), rel=1e-14
    )
    # Loss aversion: a price above the reference loses more log-odds than the same
    # distance below it gains.
    base_logit = special.logit
    gain = base_logit(gain_side) - base_logit(base.purchase_probability(reference - distance))
    loss = base_logit(base.purchase_probability(reference + distance)) - base_logit(loss_side)
    assert gain == pytest.approx(0.2 * distance, rel=1e-9)
    assert loss == pytest.approx(0.7 * distance, rel=1e-9)
    assert model.purchase_probability(reference, reference) == base.purchase_probability(reference)


@pytest.mark.parametrize(
    "base",
    [LinearDemand(), ExponentialDemand(), ConstantElasticityDemand(floor=0.0, elasticity=2.5)],
    ids=lambda model: model.name,
)
def test_reference_shift_on_other_bases(base):
    model = ReferencePriceDemand(base, gain_sensitivity=0.4, loss_sensitivity=0.9)
    prices = np.array([1.0, 2.0, 3.0])

    shifted = model.purchase_probability(prices, 2.0)
    expected = special.expit(special.logit(base.purchase_probability(prices)) + [0.4, 0.0, -0.9])
    np.testing.assert_allclose(shifted, expected, rtol=1e-9)


def test_reference_shift_keeps_zero_demand():
    # A base probability of exactly 0 has log-odds -inf, so no discount makes customers buy
    # above the linear choke price.
    model = ReferencePriceDemand(LinearDemand(100.0, 10.0), gain_sensitivity=5.0)

    assert model.purchase_probability(50.0, 100.0) == 0.0
    assert model.purchase_probability(0.0, 0.0) == 1.0


def test_reference_none_means_base():
    base = ExponentialDemand(80.0, 0.3)
    model = ReferencePriceDemand(base)
    prices = np.linspace(0.0, 20.0, 21)

    np.testing.assert_array_equal(model.purchase_probability(prices), base.purchase_probability(prices))
    np.testing.assert_array_equal(model.expected_revenue(prices, 1.0), base.expected_revenue(prices, 1.0))
    assert model.optimal_price(1.0) == base.optimal_price(1.0)
    assert model.market_size == 80.0


@pytest.mark.parametrize("reference", [0.0, 2.0, 4.0, 5.5, 9.0, 40.0])
@pytest.mark.parametrize("gain, loss", [(0.0, 0.0), (0.2, 0.6), (1.5, 0.3), (5.0, 5.0)])
def test_reference_logit_optimum_matches_grid(reference, gain, loss):
    model = ReferencePriceDemand(LogitDemand(3.0, 0.5, 100.0), gain_sensitivity=gain, loss_sensitivity=loss)
    price = model.optimal_price(1.0, reference_price=reference)

    grid = np.linspace(0.0, 60.0, 600_001)
    profit = model.expected_revenue(grid, 1.0, reference_price=reference)
    best = int(np.argmax(profit))

    assert model.expected_revenue(price, 1.0, reference_price=reference) >= profit[best] * (1 - 1e-12)
    assert abs(price - grid[best]) <= 2 * (grid[1] - grid[0])


@pytest.mark.parametrize(
    "base, bounds",
    [
        (ExponentialDemand(100.0, 0.2), None),
        (LinearDemand(100.0, 10.0), None),
        (SegmentMixture([(0.5, LogitDemand()), (0.5, ExponentialDemand())]), None),
        (ConstantElasticityDemand(100.0, 2.0, floor=1.0, cap=400.0), (0.5, 30.0)),
    ],
    ids=["exponential", "linear", "mixture", "constant-elasticity"],
)
@pytest.mark.parametrize("reference", [1.0, 4.0, 12.0])
def test_reference_numeric_optimum_matches_grid(base, bounds, reference):
    model = ReferencePriceDemand(base, gain_sensitivity=0.5, loss_sensitivity=1.0)
    price = model.optimal_price(1.0, bounds, reference_price=reference)

    low, high = bounds if bounds is not None else (0.0, 60.0)
    grid = np.linspace(low, high, 200_001)
    profit = model.expected_revenue(grid, 1.0, reference_price=reference)

    # Tolerance: the zooming search lands within rounding of the best profit, and a relative
    # 1e-9 allows for its stopping rule.
    assert model.expected_revenue(price, 1.0, reference_price=reference) >= profit.max() * (1 - 1e-9)


def test_reference_unbounded_base_needs_bounds():
    model = ReferencePriceDemand(ConstantElasticityDemand(floor=1.0))

    with pytest.raises(ValueError, match=r"grows without bound.*price_bounds=\(low, high\)"):
        model.optimal_price(1.0, reference_price=3.0)


# --------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: LinearDemand(intercept=0.0), r"LinearDemand: intercept must be a finite number > 0, got 0.0"),
        (lambda: LinearDemand(slope=-1.0), r"LinearDemand: slope must be a finite number > 0, got -1.0"),
        (lambda: LinearDemand(slope=math.nan), r"slope must be a finite number > 0, got nan"),
        (lambda: LogitDemand(beta=0.0), r"LogitDemand: beta must be a finite number > 0, got 0.0"),
        (lambda: LogitDemand(alpha=math.inf), r"LogitDemand: alpha must be a finite number \(any sign\), got inf"),
        (lambda: LogitDemand(market_size=-5.0), r"market_size must be a finite number >= 0, got -5.0"),
        (lambda: ExponentialDemand(sensitivity=-0.1), r"ExponentialDemand: sensitivity must be .* > 0, got -0.1"),
        (lambda: ExponentialDemand(base_rate=-1.0), r"base_rate must be a finite number >= 0, got -1.0"),
        (lambda: ConstantElasticityDemand(elasticity=0.0), r"elasticity must be a finite number > 0, got 0.0"),
        (lambda: ConstantElasticityDemand(cap=math.inf), r"cap must be a finite number > 0, got inf"),
        (lambda: ConstantElasticityDemand(floor=-1.0), r"floor must be a finite number >= 0, got -1.0"),
        (lambda: ConstantElasticityDemand(floor=20.0, cap=10.0), r"floor must be <= cap, got floor=20.0 and cap=10.0"),
        (lambda: SegmentMixture([]), r"segments must contain at least one segment, got an empty list"),
        (lambda: SegmentMixture([(0.5, LinearDemand()), (0.4, LogitDemand())]), r"weights must sum to 1, got 0.9"),
        (lambda: SegmentMixture([(1.5, LinearDemand()), (-0.5, LogitDemand())]), r"Segment: weight must be a finite number in \[0, 1\], got 1.5"),
        (lambda: SegmentMixture([(1.0, LinearDemand())], market_size=-1.0), r"SegmentMixture: market_size must be .* >= 0, got -1.0"),
        (lambda: SegmentMixture([{"weight": 1.0, "model": LinearDemand(), "share": 1}]), r"unknown key\(s\) \['share'\]; valid keys: weight, model, name"),
        (lambda: ReferencePriceDemand(LogitDemand(), memory=1.0), r"memory must be a finite number in \[0, 1\), got 1.0"),
        (lambda: ReferencePriceDemand(LogitDemand(), loss_sensitivity=-0.2), r"loss_sensitivity must be .* >= 0, got -0.2"),
        (lambda: ReferencePriceDemand(LogitDemand(), gain_sensitivity=math.nan), r"gain_sensitivity must be .* >= 0, got nan"),
        (lambda: ReferencePriceDemand({"alpha": 1.0}), r"base given as a mapping needs a 'name' key"),
    ],
)
def test_invalid_parameters_raise(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: LinearDemand(intercept="100"), r"intercept must be a real number > 0, got '100' of type str"),
        (lambda: LogitDemand(beta=True), r"beta must be a real number > 0, got True of type bool"),
        (lambda: SegmentMixture([(1.0, "logit")]), r"model must be a DemandModel or a mapping"),
        (lambda: SegmentMixture([0.5]), r"segments\[0\] must be a Segment, a \(weight, model\) pair"),
        (lambda: SegmentMixture("logit"), r"segments must be a sequence of segments"),
        (lambda: SegmentMixture([(1.0, ReferencePriceDemand(LogitDemand()))]), r"stationary demand model"),
        (lambda: ReferencePriceDemand(ReferencePriceDemand(LogitDemand())), r"base must be a stationary model"),
    ],
)
def test_invalid_parameter_types_raise(build, match):
    with pytest.raises(TypeError, match=match):
        build()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m: m.optimal_price(-1.0), r"unit_cost must be a finite number >= 0, got -1.0"),
        (lambda m: m.optimal_price(math.nan), r"unit_cost must be a finite number >= 0, got nan"),
        (lambda m: m.optimal_price(0.0, (5.0, 1.0)), r"price_bounds must satisfy low <= high, got \(5.0, 1.0\)"),
        (lambda m: m.optimal_price(0.0, (0.0, math.inf)), r"price_bounds\[1\] \(high\) must be a finite number >= 0"),
        (lambda m: m.optimal_price(0.0, (-1.0, 2.0)), r"price_bounds\[0\] \(low\) must be a finite number >= 0"),
        (lambda m: m.optimal_price(0.0, 5.0), r"price_bounds must be a pair \(low, high\) or None, got 5.0"),
    ],
)
@pytest.mark.parametrize(
    "model",
    [LinearDemand(), SegmentMixture([(1.0, LogitDemand())]), ReferencePriceDemand(LogitDemand())],
    ids=lambda model: model.name,
)
def test_invalid_optimal_price_arguments_raise(model, call, match):
    with pytest.raises(ValueError, match=match):
        call(model)


def test_reference_optimum_rejects_negative_reference():
    with pytest.raises(ValueError, match=r"reference_price must be a finite number >= 0, got -2.0"):
        ReferencePriceDemand(LogitDemand()).optimal_price(0.0, reference_price=-2.0)


# --------------------------------------------------------------------------------------------
# Immutability and configs


def test_models_are_frozen_and_hashable():
    model = LogitDemand(alpha=2, beta=1, market_size=50)

    with pytest.raises(dataclasses.FrozenInstanceError):
        model.beta = 2.0  # type: ignore[misc]
    assert isinstance(model.alpha, float)
    assert hash(model) == hash(LogitDemand(2.0, 1.0, 50.0))
    assert hash(SegmentMixture([(1.0, model)])) == hash(SegmentMixture([Segment(1.0, model)]))


EXAMPLE_MODELS = [
    LinearDemand(80.0, 4.0),
    LogitDemand(1.5, 0.25, 30.0),
    ExponentialDemand(40.0, 0.1),
    ConstantElasticityDemand(50.0, 1.8, 0.5, 200.0),
    SegmentMixture([Segment(0.6, LogitDemand(), "budget"), Segment(0.4, ExponentialDemand(), "premium")]),
    ReferencePriceDemand(LogitDemand(), memory=0.6, gain_sensitivity=0.1, loss_sensitivity=0.3),
    ReferencePriceDemand(SegmentMixture([(1.0, LinearDemand())])),
]


@pytest.mark.parametrize("model", EXAMPLE_MODELS, ids=lambda model: model.name)
def test_pickle_round_trip(model):
    restored = pickle.loads(pickle.dumps(model))

    assert restored == model
    assert restored.purchase_probability(3.0) == model.purchase_probability(3.0)


@pytest.mark.parametrize("model", EXAMPLE_MODELS, ids=lambda model: model.name)
def test_to_dict_round_trip(model):
    config = model.to_dict()

    assert config["name"] == model.name
    assert make_demand(**config) == model


def test_make_demand_names_and_aliases():
    assert set(DEMAND_MODELS) == {
        "linear", "logit", "exponential", "constant-elasticity", "mixture", "reference-price",
    }
    assert make_demand("logit", alpha=1.0) == LogitDemand(alpha=1.0)
    assert make_demand("Constant_Elasticity", scale=10.0) == ConstantElasticityDemand(scale=10.0)
    assert make_demand("reference-price", base={"name": "linear"}, memory=0.5) == ReferencePriceDemand(
        LinearDemand(), memory=0.5
    )


def test_make_demand_errors():
    with pytest.raises(ValueError, match=r"unknown demand model 'logistic'; valid names: linear, logit, exponential"):
        make_demand("logistic")
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) 'gamma' for demand model 'logit'; valid parameters: alpha, beta, market_size"):
        make_demand("logit", gamma=1.0)
    with pytest.raises(ValueError, match=r"missing parameter\(s\) 'segments' for demand model 'mixture'; valid parameters: segments, market_size"):
        make_demand("mixture")
    with pytest.raises(ValueError, match=r"LogitDemand: beta must be a finite number > 0, got -1"):
        make_demand("logit", beta=-1)
    with pytest.raises(TypeError, match=r"name must be a str, got 3"):
        make_demand(3)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# A user-defined model gets the numeric optimum from the base class


@dataclasses.dataclass(frozen=True)
class TriangularDemand(DemandModel):
    """Willingness to pay with a triangular density on [0, 10], peaking at 4."""

    market_size: float = 10.0
    name = "triangular"

    def purchase_probability(self, prices):
        prices = np.clip(np.asarray(prices, dtype=np.float64), 0.0, 10.0)
        cdf = np.where(prices <= 4.0, prices**2 / 40.0, 1.0 - (10.0 - prices) ** 2 / 60.0)
        return 1.0 - cdf


def test_custom_model_numeric_optimum():
    model = TriangularDemand()
    price = model.optimal_price(1.0, (0.0, 10.0))
    grid_price, grid_profit, step = dense_argmax(model, 1.0, 0.0, 10.0)

    assert model.expected_revenue(price, 1.0) >= grid_profit * (1 - 1e-12)
    assert abs(price - grid_price) <= 2 * step
    assert isinstance(model.expected_demand(2.0), np.float64)


def test_custom_model_without_bounds_raises():
    with pytest.raises(ValueError, match=r"TriangularDemand: optimal_price has no search range .*price_bounds=\(low, high\)"):
        TriangularDemand().optimal_price(1.0)
