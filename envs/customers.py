"""Customer populations: arrival processes and willingness to pay.

Arrivals: ``PoissonArrivals(rate)`` draws the number of customers arriving in one period,
``N ~ Poisson(rate)``. With ``rate = model.market_size`` and independent purchase decisions
with probability ``P(p)``, units sold are ``Poisson(market_size * P(p))``, whose mean is the
model's ``expected_demand(p)``.

Willingness to pay: a customer with willingness to pay ``V`` buys at price ``p`` when
``V >= p``, so a stationary demand model's purchase probability is the survival function of
``V``, ``P(p) = Pr(V >= p)``. ``sample_willingness_to_pay`` draws ``V`` by inverting that
function:

- ``LinearDemand(a, b)``: ``V ~ Uniform(0, a / b)``.
- ``LogitDemand(alpha, beta)``: ``V ~ Logistic(alpha / beta, 1 / beta)``. Negative values
  are customers who would not buy even for free.
- ``ExponentialDemand(lambda0, alpha)``: ``V ~ Exponential(rate alpha)``.
- ``ConstantElasticityDemand(A, eps, floor, cap)``: ``V = (A / (cap U))^(1 / eps)`` for
  ``U ~ Uniform(0, 1)``, a Pareto tail. A share ``floor / cap`` of customers buys at any price
  and gets ``V = inf``.
- ``SegmentMixture``: each customer's segment is drawn by weight, then ``V`` from that
  segment's model.

Reference-price models have no fixed willingness to pay (it moves with the reference), so
they are rejected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from envs.demand import (
    ConstantElasticityDemand,
    DemandModel,
    ExponentialDemand,
    LinearDemand,
    LogitDemand,
    Segment,
    SegmentMixture,
    _nonnegative,
)

__all__ = ["PoissonArrivals", "Segment", "sample_willingness_to_pay"]


def _check_generator(owner: str, rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{owner}: rng must be a numpy.random.Generator (for example "
            f"numpy.random.default_rng(seed)), got {rng!r}"
        )
    return rng


def _shape(size: int | tuple[int, ...] | None) -> tuple:
    if size is None:
        return ()
    if isinstance(size, tuple):
        return size
    return (size,)


def _check_size(owner: str, size: int | tuple[int, ...] | None) -> None:
    for dim in _shape(size):
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 0:
            raise ValueError(
                f"{owner}: size must be None, a non-negative int or a tuple of them, got {size!r}"
            )


@dataclass(frozen=True)
class PoissonArrivals:
    """Poisson arrivals: ``N ~ Poisson(rate)`` customers per period.

    Args:
        rate: expected arrivals per period, >= 0.
    """

    rate: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", _nonnegative("PoissonArrivals", "rate", self.rate))

    @classmethod
    def for_model(cls, model: DemandModel) -> PoissonArrivals:
        """Return arrivals at the model's ``market_size`` rate."""
        if not isinstance(model, DemandModel):
            raise TypeError(
                f"PoissonArrivals.for_model: model must be a DemandModel, got {model!r}"
            )
        return cls(model.market_size)

    @property
    def mean(self) -> float:
        """Expected arrivals per period (equal to the variance)."""
        return self.rate

    def sample(
        self, rng: np.random.Generator, size: int | tuple[int, ...] | None = None
    ) -> int | np.ndarray:
        """Draw arrival counts: a Python int for ``size=None``, else an int64 array."""
        rng = _check_generator("PoissonArrivals.sample", rng)
        _check_size("PoissonArrivals.sample", size)
        if size is None:
            return int(rng.poisson(self.rate))
        return rng.poisson(self.rate, size).astype(np.int64)


def sample_willingness_to_pay(
    model: DemandModel, rng: np.random.Generator, size: int | tuple[int, ...] | None = None
) -> float | np.ndarray:
    """Draw willingness-to-pay values whose survival function is ``model``'s purchase probability.

    So ``mean(V >= p)`` estimates ``model.purchase_probability(p)``. Values are in currency;
    they may be negative (logit) or inf (constant elasticity with a floor). Raises
    ``TypeError`` for models without a fixed willingness to pay, such as reference-price
    models.
    """
    rng = _check_generator("sample_willingness_to_pay", rng)
    _check_size("sample_willingness_to_pay", size)
    values = _draw(model, rng, size)
    return float(values) if size is None else np.asarray(values, dtype=np.float64)


def _draw(model: DemandModel, rng: np.random.Generator, size) -> np.ndarray:
    if isinstance(model, LinearDemand):
        return rng.uniform(0.0, model.choke_price, size)

    if isinstance(model, LogitDemand):
        # Inverting P(p) = expit(alpha - beta p) gives the logistic distribution.
        return rng.logistic(model.alpha / model.beta, 1.0 / model.beta, size)

    if isinstance(model, ExponentialDemand):
        return rng.exponential(1.0 / model.sensitivity, size)

    if isinstance(model, ConstantElasticityDemand):
        return _draw_constant_elasticity(model, rng, size)

    if isinstance(model, SegmentMixture):
        return _draw_mixture(model, rng, size)

    raise TypeError(
        "sample_willingness_to_pay: supported models are LinearDemand, LogitDemand, "
        "ExponentialDemand, ConstantElasticityDemand and SegmentMixture of them, "
        f"got {type(model).__name__}"
    )


def _draw_constant_elasticity(
    model: ConstantElasticityDemand, rng: np.random.Generator, size
) -> np.ndarray:
    # 1 - U lies in (0, 1], so the power below never divides by zero.
    uniform = 1.0 - rng.random(size)
    with np.errstate(over="ignore"):
        values = (model.scale / (model.cap * uniform)) ** (1.0 / model.elasticity)

    # The share floor / cap of customers buys at every price.
    floor_share = model.floor / model.cap
    return np.where(uniform <= floor_share, math.inf, values)


def _draw_mixture(model: SegmentMixture, rng: np.random.Generator, size) -> np.ndarray:
    shape = _shape(size)
    count = int(np.prod(shape, dtype=np.int64))

    labels = rng.choice(len(model.segments), size=count, p=model.weights / model.weights.sum())
    values = np.empty(count, dtype=np.float64)
    for index, segment in enumerate(model.segments):
        members = labels == index
        values[members] = _draw(segment.model, rng, int(members.sum()))
    return values.reshape(shape)
