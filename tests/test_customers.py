"""Tests of customer populations: Poisson arrivals and willingness-to-pay sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from envs.customers import PoissonArrivals, Segment, sample_willingness_to_pay
from envs.demand import (
    ConstantElasticityDemand,
    ExponentialDemand,
    LinearDemand,
    LogitDemand,
    ReferencePriceDemand,
    SegmentMixture,
)


# --------------------------------------------------------------------------------------------
# Poisson arrivals


def test_arrivals_sample_types_and_shapes():
    arrivals = PoissonArrivals(4.0)
    rng = np.random.default_rng(0)

    single = arrivals.sample(rng)
    batch = arrivals.sample(rng, 5)
    grid = arrivals.sample(rng, (2, 3))

    assert isinstance(single, int)
    assert batch.shape == (5,)
    assert batch.dtype == np.int64
    assert grid.shape == (2, 3)
    assert arrivals.sample(rng, 0).shape == (0,)
    assert arrivals.mean == 4.0


def test_arrivals_same_seed_same_draws():
    arrivals = PoissonArrivals(12.5)

    first = arrivals.sample(np.random.default_rng(7), 100)
    second = arrivals.sample(np.random.default_rng(7), 100)

    np.testing.assert_array_equal(first, second)


def test_arrivals_mean_and_variance():
    arrivals = PoissonArrivals(5.0)
    draws = arrivals.sample(np.random.default_rng(1), 200_000)

    # The sample mean's standard error is sqrt(5 / 200000) = 0.005, so 0.03 is 6 standard
    # errors; the sample variance's is about sqrt(2 * 25 / 200000) = 0.016, so 0.1 is 6.
    assert draws.mean() == pytest.approx(5.0, abs=0.03)
    assert draws.var() == pytest.approx(5.0, abs=0.1)
    assert draws.min() >= 0


def test_arrivals_zero_rate_and_for_model():
    assert PoissonArrivals(0.0).sample(np.random.default_rng(0), 10).sum() == 0
    assert PoissonArrivals.for_model(LogitDemand(market_size=30.0)).rate == 30.0
    assert PoissonArrivals.for_model(LinearDemand(intercept=80.0)).mean == 80.0
    assert isinstance(PoissonArrivals(3).rate, float)


@pytest.mark.parametrize(
    "rate, error, match",
    [
        (-1.0, ValueError, r"PoissonArrivals: rate must be a finite number >= 0, got -1.0"),
        (math.nan, ValueError, r"rate must be a finite number >= 0, got nan"),
        (math.inf, ValueError, r"rate must be a finite number >= 0, got inf"),
        ("5", TypeError, r"rate must be a real number >= 0, got '5' of type str"),
    ],
)
def test_arrivals_invalid_rate_raises(rate, error, match):
    with pytest.raises(error, match=match):
        PoissonArrivals(rate)


def test_arrivals_invalid_arguments_raise():
    arrivals = PoissonArrivals(2.0)

    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator .*got 0"):
        arrivals.sample(0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        arrivals.sample(np.random.RandomState(0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"size must be None, a non-negative int or a tuple of them, got -3"):
        arrivals.sample(np.random.default_rng(0), -3)
    with pytest.raises(ValueError, match=r"size must be None, .*got \(2, 1.5\)"):
        arrivals.sample(np.random.default_rng(0), (2, 1.5))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"model must be a DemandModel, got 'logit'"):
        PoissonArrivals.for_model("logit")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Willingness to pay


WTP_MODELS = [
    LinearDemand(100.0, 10.0),
    LogitDemand(alpha=3.0, beta=0.5),
    LogitDemand(alpha=-1.0, beta=2.0),
    ExponentialDemand(100.0, 0.2),
    ConstantElasticityDemand(scale=100.0, elasticity=2.0, floor=0.0, cap=1000.0),
    ConstantElasticityDemand(scale=100.0, elasticity=1.5, floor=20.0, cap=400.0),
    SegmentMixture(
        [
            Segment(0.5, LogitDemand(alpha=4.0, beta=2.0), name="budget"),
            Segment(0.3, ExponentialDemand(sensitivity=0.1)),
            Segment(0.2, LinearDemand(10.0, 0.5)),
        ]
    ),
]


@pytest.mark.parametrize("model", WTP_MODELS, ids=lambda model: model.name)
def test_wtp_survival_matches_purchase_probability(model):
    n = 100_000
    values = sample_willingness_to_pay(model, np.random.default_rng(11), n)
    prices = np.array([0.0, 0.3, 1.0, 2.0, 5.0, 8.0, 15.0, 40.0])

    empirical = (values[:, None] >= prices).mean(axis=0)
    expected = np.asarray(model.purchase_probability(prices))

    # Each share is a mean of n Bernoulli draws: 5 standard errors, at least 5 / n.
    tolerance = 5.0 * np.sqrt(expected * (1.0 - expected) / n) + 5.0 / n
    assert np.all(np.abs(empirical - expected) <= tolerance), (empirical, expected)


def test_wtp_shapes_and_types():
    rng = np.random.default_rng(0)
    mixture = WTP_MODELS[-1]

    assert isinstance(sample_willingness_to_pay(LogitDemand(), rng), float)
    assert isinstance(sample_willingness_to_pay(mixture, rng), float)
    assert sample_willingness_to_pay(LinearDemand(), rng, (4, 5)).shape == (4, 5)
    assert sample_willingness_to_pay(mixture, rng, (4, 5)).shape == (4, 5)
    assert sample_willingness_to_pay(mixture, rng, 0).shape == (0,)


def test_wtp_supports_and_infinite_values():
    rng = np.random.default_rng(3)

    linear = sample_willingness_to_pay(LinearDemand(100.0, 10.0), rng, 10_000)
    assert linear.min() >= 0.0
    assert linear.max() <= 10.0

    # A logit model with alpha < 0 has customers who would not buy even for free.
    logit = sample_willingness_to_pay(LogitDemand(alpha=-1.0, beta=2.0), rng, 10_000)
    assert (logit < 0.0).any()

    # With a floor of 20 out of a cap of 400, 5% of customers buy at any price.
    floored = ConstantElasticityDemand(scale=100.0, elasticity=1.5, floor=20.0, cap=400.0)
    values = sample_willingness_to_pay(floored, rng, 100_000)
    # Standard error sqrt(0.05 * 0.95 / 100000) = 0.0007, so 0.004 is about 6.
    assert np.isinf(values).mean() == pytest.approx(0.05, abs=0.004)
    assert not np.isnan(values).any()


def test_wtp_same_seed_same_draws():
    mixture = WTP_MODELS[-1]

    first = sample_willingness_to_pay(mixture, np.random.default_rng(5), 50)
    second = sample_willingness_to_pay(mixture, np.random.default_rng(5), 50)

    np.testing.assert_array_equal(first, second)


def test_wtp_rejects_unsupported_input():
    with pytest.raises(TypeError, match=r"supported models are .*got ReferencePriceDemand"):
        sample_willingness_to_pay(ReferencePriceDemand(LogitDemand()), np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        sample_willingness_to_pay(LogitDemand(), 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"size must be None, a non-negative int"):
        sample_willingness_to_pay(LogitDemand(), np.random.default_rng(0), -1)
