"""Logit demand with item constants, price and promotion terms and per-user price coefficients.

Utility of item ``j`` for user ``u`` on an occasion with prices ``p`` and promotions ``x``::

    v_uj = alpha_j + (beta_j + delta_u) * p_j + gamma . x_j

* Choice panels (one chosen item per occasion) use the conditional logit
  ``P(j) = exp(v_uj) / sum_k exp(v_uk)``, with ``alpha_0 = 0`` because only differences of
  constants are identified.
* Event logs (one item per exposure, bought or not) use the binary logit
  ``P(buy) = 1 / (1 + exp(-v_uj))``; the no-purchase option has utility 0.

Heterogeneity: ``delta_u`` is a per-user deviation of the price coefficient, shrunk towards 0
by a Gaussian prior ``delta_u ~ N(0, tau^2)`` (penalized maximum likelihood). With
``shrinkage="auto"`` the prior precision ``1 / tau^2`` is estimated by empirical Bayes from
one Newton step per user away from the population fit (see ``_empirical_bayes_precision``).
Users seen once (OJ) are shrunk almost completely to the population coefficient.

Prices are divided by ``price_scale`` (the mean observed price) while fitting, so the
optimizer and the prior work on unit-free coefficients whatever the currency. The stored
coefficients are per currency unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, log_expit, logsumexp, softmax

from envs.calibration.data import CalibrationData, ChoicePanel, EventLog

# A tiny ridge on the population parameters keeps items whose price never varies identified.
_RIDGE = 1e-4
_MAX_ITERATIONS = 1000
_SHRINKAGE_BOUNDS = (1e-2, 1e4)


@dataclass
class LogitDemandModel:
    """A fitted (or to-be-fitted) logit demand model; see the module docstring for the formula.

    Args:
        heterogeneity: "user" fits a shrunk price-coefficient deviation per user; "none" fits
            one price coefficient per item for everybody.
        shrinkage: prior precision ``1 / tau^2`` of the scaled per-user deviations, or "auto"
            to estimate it by empirical Bayes.
    """

    heterogeneity: str = "user"
    shrinkage: float | str = "auto"

    kind: str = ""
    items: tuple[str, ...] = ()
    promotion_names: tuple[str, ...] = ()
    user_ids: np.ndarray = field(default_factory=lambda: np.empty(0))
    price_scale: float = 1.0
    alpha: np.ndarray = field(default_factory=lambda: np.empty(0))
    beta: np.ndarray = field(default_factory=lambda: np.empty(0))
    gamma: np.ndarray = field(default_factory=lambda: np.empty(0))
    delta: np.ndarray = field(default_factory=lambda: np.empty(0))
    covariance: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    fitted_shrinkage: float = float("nan")
    converged: bool = False

    model_type = "logit"

    def __post_init__(self) -> None:
        if self.heterogeneity not in ("user", "none"):
            raise ValueError(f"heterogeneity must be 'user' or 'none', got {self.heterogeneity!r}")
        if isinstance(self.shrinkage, str):
            if self.shrinkage != "auto":
                raise ValueError(f"shrinkage must be a positive number or 'auto', got {self.shrinkage!r}")
        elif not (np.isfinite(self.shrinkage) and self.shrinkage > 0):
            raise ValueError(f"shrinkage must be a positive number or 'auto', got {self.shrinkage!r}")

    # ------------------------------------------------------------------ fitting

    def fit(self, data: CalibrationData) -> LogitDemandModel:
        """Fit the parameters to a choice panel or an event log by penalized maximum likelihood."""
        if not isinstance(data, (ChoicePanel, EventLog)):
            raise TypeError(f"fit expects a ChoicePanel or EventLog, got {type(data).__name__}")
        self.kind = data.kind
        self.items = data.items
        self.promotion_names = data.promotion_names
        self.user_ids = data.user_ids
        prices = data.prices if isinstance(data, ChoicePanel) else data.price
        self.price_scale = float(np.mean(prices))

        problem = _Problem(data, self.price_scale, self.heterogeneity == "user")
        theta = np.zeros(problem.n_params)
        theta[problem.beta_slice] = -1.0  # start from a downward-sloping demand curve
        shrinkage = 1.0 if self.shrinkage == "auto" else float(self.shrinkage)

        # Fit the population parameters first: they are few and give a good starting point.
        population = _Problem(data, self.price_scale, False)
        result = _minimize(
            population.objective, theta[: problem.n_population], shrinkage, np.ones(problem.n_population), data.n_rows
        )
        theta[: problem.n_population] = result.x

        if problem.with_users:
            if self.shrinkage == "auto":
                shrinkage = _empirical_bayes_precision(problem, theta)
            # Rescaling each user's deviation by the square root of its curvature makes the
            # Hessian close to the identity, which L-BFGS needs to converge in few steps
            # when there are thousands of users with very different numbers of rows.
            scale = np.ones(problem.n_params)
            scale[problem.delta_slice] = 1.0 / np.sqrt(problem.delta_curvature(theta) + shrinkage)
            result = _minimize(problem.objective, theta, shrinkage, scale, data.n_rows)
            theta = result.x
        self.converged = bool(result.success)
        self.fitted_shrinkage = shrinkage if problem.with_users else float("nan")

        alpha, beta_scaled, gamma, delta_scaled = problem.unpack(theta)
        self.alpha = alpha
        self.beta = beta_scaled / self.price_scale
        self.gamma = gamma
        self.delta = delta_scaled / self.price_scale
        self.covariance = problem.population_covariance(theta)
        return self

    # --------------------------------------------------------------- prediction

    def user_price_coefficients(self, users: np.ndarray | None = None) -> np.ndarray:
        """Return ``beta_j + delta_u`` per currency unit, shape ``(len(users), J)``."""
        delta = self._user_delta(users)
        return self.beta[None, :] + delta[:, None]

    def _user_delta(self, users: np.ndarray | None) -> np.ndarray:
        if users is None:
            return np.zeros(1)
        users = np.asarray(users, dtype=np.int64)
        if self.delta.size == 0:
            return np.zeros(users.shape[0])
        # Codes of -1 mark users the model has not seen; they get the population coefficient.
        safe = np.clip(users, 0, self.delta.size - 1)
        return np.where(users >= 0, self.delta[safe], 0.0)

    def utilities(
        self, prices: np.ndarray, promotions: np.ndarray | None = None, users: np.ndarray | None = None
    ) -> np.ndarray:
        """Return the utilities ``v_uj`` for rows of prices, shape ``(K, J)``."""
        prices = np.asarray(prices, dtype=float)
        delta = self._user_delta(users)
        values = self.alpha[None, :] + (self.beta[None, :] + delta[:, None]) * prices
        if promotions is not None and self.gamma.size:
            values = values + np.asarray(promotions, dtype=float) @ self.gamma
        return values

    def choice_probabilities(
        self, prices: np.ndarray, promotions: np.ndarray | None = None, users: np.ndarray | None = None
    ) -> np.ndarray:
        """Return the probability that a customer buys each item, shape ``(K, J)``.

        Args:
            prices: prices of all J items, shape ``(K, J)``, in currency.
            promotions: promotion indicators, shape ``(K, J, P)``, or None for none.
            users: user codes, shape ``(K,)``; None or -1 means the population coefficient.

        For a choice-panel model each row sums to 1, because a purchase occasion always buys
        one item. For an event-log model each entry is an independent purchase probability.
        """
        values = self.utilities(prices, promotions, users)
        if self.kind == "choices":
            return softmax(values, axis=1)
        return expit(values)

    def predict(self, data: CalibrationData) -> np.ndarray:
        """Return the model's probabilities for the rows of ``data``.

        A choice panel gives ``(n, J)`` choice probabilities, an event log ``(n,)`` purchase
        probabilities of the exposed item.
        """
        if isinstance(data, ChoicePanel):
            return self.choice_probabilities(data.prices, data.promotions, data.users)
        delta = self._user_delta(data.users)
        values = self.alpha[data.item] + (self.beta[data.item] + delta) * data.price
        if self.gamma.size:
            values = values + data.promotions @ self.gamma
        return expit(values)

    # ------------------------------------------------------------ uncertainty

    def sample_population_parameters(self, n_draws: int, rng: np.random.Generator) -> list[LogitDemandModel]:
        """Draw models whose (alpha, beta, gamma) follow the asymptotic normal of the fit.

        The per-user deviations stay at their fitted values.
        NOTE: ignoring their uncertainty makes confidence intervals somewhat too narrow.
        """
        j = len(self.items)
        mean = self._population_vector()
        draws = rng.multivariate_normal(mean, self.covariance, size=n_draws, method="eigh")
        models = []
        for draw in draws:
            alpha, beta_scaled, gamma = _split_population(draw, j, self.kind)
            clone = LogitDemandModel(heterogeneity=self.heterogeneity, shrinkage=self.shrinkage)
            clone.__dict__.update(self.__dict__)
            clone.alpha, clone.beta, clone.gamma = alpha, beta_scaled / self.price_scale, gamma
            models.append(clone)
        return models

    def standard_errors(self) -> dict[str, np.ndarray]:
        """Return asymptotic standard errors of alpha, beta (per currency unit) and gamma.

        alpha_0 of a choice-panel model is fixed at 0 and gets a standard error of 0.
        """
        alpha, beta_scaled, gamma = _split_population(np.sqrt(np.clip(np.diag(self.covariance), 0.0, None)), len(self.items), self.kind)
        return {"alpha": alpha, "beta": beta_scaled / self.price_scale, "gamma": gamma}

    def _population_vector(self) -> np.ndarray:
        alpha = self.alpha[1:] if self.kind == "choices" else self.alpha
        return np.concatenate([alpha, self.beta * self.price_scale, self.gamma])

    # ------------------------------------------------------------ persistence

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Return JSON-ready metadata and the arrays needed to rebuild the model."""
        meta = {
            "model_type": self.model_type,
            "kind": self.kind,
            "heterogeneity": self.heterogeneity,
            "shrinkage": self.shrinkage,
            "fitted_shrinkage": self.fitted_shrinkage,
            "items": list(self.items),
            "promotion_names": list(self.promotion_names),
            "price_scale": self.price_scale,
            "converged": self.converged,
        }
        arrays = {
            "alpha": self.alpha,
            "beta": self.beta,
            "gamma": self.gamma,
            "delta": self.delta,
            "covariance": self.covariance,
            "user_ids": np.asarray(self.user_ids).astype(str),
        }
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> LogitDemandModel:
        model = cls(heterogeneity=meta["heterogeneity"], shrinkage=meta["shrinkage"])
        model.kind = meta["kind"]
        model.items = tuple(meta["items"])
        model.promotion_names = tuple(meta["promotion_names"])
        model.price_scale = float(meta["price_scale"])
        model.fitted_shrinkage = float(meta["fitted_shrinkage"])
        model.converged = bool(meta["converged"])
        for name in ("alpha", "beta", "gamma", "delta", "covariance", "user_ids"):
            setattr(model, name, arrays[name])
        return model


def _minimize(objective, theta: np.ndarray, shrinkage: float, scale: np.ndarray, n_rows: int):
    """Run L-BFGS on ``objective`` in the variables ``theta / scale``; return the result in ``theta`` units.

    The objective is divided by the number of rows so that the gradient tolerance means
    the same thing for a panel of 2,000 occasions and a log of a million events.
    """

    def scaled_objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = objective(z * scale, shrinkage)
        return value / n_rows, gradient * (scale / n_rows)

    result = minimize(
        scaled_objective, theta / scale, jac=True, method="L-BFGS-B",
        options={"maxiter": _MAX_ITERATIONS, "gtol": 1e-7},
    )
    result.x = result.x * scale
    return result


def _empirical_bayes_precision(problem: _Problem, theta: np.ndarray) -> float:
    """Estimate the prior precision ``1 / tau^2`` of the per-user deviations.

    At the population fit (all deviations 0), one Newton step gives each user a raw
    deviation ``d_u = -g_u / h_u`` with sampling variance ``1 / h_u`` (``g_u`` and ``h_u``
    are the gradient and curvature of that user's negative log-likelihood). Under the prior,
    ``d_u ~ N(0, tau^2 + 1 / h_u)``; ``tau^2`` maximizes this marginal likelihood.
    """
    _, gradient = problem.objective(theta, 0.0)
    curvature = problem.delta_curvature(theta)
    informative = curvature > 1e-9
    if not informative.any():
        return _SHRINKAGE_BOUNDS[1]
    raw = -gradient[problem.delta_slice][informative] / curvature[informative]
    variance = 1.0 / curvature[informative]

    def negative_marginal(log_tau_squared: float) -> float:
        total = np.exp(log_tau_squared) + variance
        return float(np.sum(np.log(total) + raw**2 / total))

    low, high = -np.log(_SHRINKAGE_BOUNDS[1]), -np.log(_SHRINKAGE_BOUNDS[0])
    best = minimize_scalar(negative_marginal, bounds=(low, high), method="bounded")
    return float(np.clip(np.exp(-best.x), *_SHRINKAGE_BOUNDS))


def _split_population(vector: np.ndarray, j: int, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_alpha = j - 1 if kind == "choices" else j
    alpha = vector[:n_alpha]
    if kind == "choices":
        alpha = np.concatenate([[0.0], alpha])
    beta = vector[n_alpha:n_alpha + j]
    gamma = vector[n_alpha + j:]
    return alpha, beta, gamma


class _Problem:
    """Negative penalized log-likelihood and its gradient for one dataset, in scaled prices."""

    def __init__(self, data: CalibrationData, price_scale: float, with_users: bool):
        self.kind = data.kind
        self.j = data.n_items
        self.n_users = data.n_users
        self.with_users = with_users
        self.users = data.users
        self.n_alpha = self.j - 1 if self.kind == "choices" else self.j
        self.n_gamma = len(data.promotion_names)
        self.n_population = self.n_alpha + self.j + self.n_gamma
        self.n_params = self.n_population + (self.n_users if with_users else 0)
        self.beta_slice = slice(self.n_alpha, self.n_alpha + self.j)
        self.delta_slice = slice(self.n_population, self.n_params)
        if isinstance(data, ChoicePanel):
            self.prices = data.prices / price_scale
            self.promotions = data.promotions
            self.choices = data.choices
        else:
            self.prices = data.price / price_scale
            self.promotions = data.promotions
            self.item = data.item
            self.outcome = data.purchased

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        alpha, beta, gamma = _split_population(theta[: self.n_population], self.j, self.kind)
        delta = theta[self.delta_slice] if self.with_users else np.zeros(self.n_users)
        return alpha, beta, gamma, delta

    def _residuals(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Return the negative log-likelihood and d(NLL)/d(utility) per row."""
        alpha, beta, gamma, delta = self.unpack(theta)
        if self.kind == "choices":
            values = alpha[None, :] + (beta[None, :] + delta[self.users][:, None]) * self.prices
            if self.n_gamma:
                values = values + self.promotions @ gamma
            log_norm = logsumexp(values, axis=1)
            nll = float(np.sum(log_norm - values[np.arange(values.shape[0]), self.choices]))
            residual = np.exp(values - log_norm[:, None])
            residual[np.arange(values.shape[0]), self.choices] -= 1.0
            return nll, residual
        values = alpha[self.item] + (beta[self.item] + delta[self.users]) * self.prices
        if self.n_gamma:
            values = values + self.promotions @ gamma
        # log(1 - sigmoid(v)) = log(sigmoid(v)) - v, so one log_expit serves both outcomes.
        log_probability = log_expit(values)
        nll = float(-np.sum(log_probability - (1.0 - self.outcome) * values))
        return nll, expit(values) - self.outcome

    def objective(self, theta: np.ndarray, shrinkage: float) -> tuple[float, np.ndarray]:
        nll, residual = self._residuals(theta)
        gradient = np.empty_like(theta)
        if self.kind == "choices":
            gradient[: self.n_alpha] = residual.sum(axis=0)[1:]
            price_residual = residual * self.prices
            gradient[self.beta_slice] = price_residual.sum(axis=0)
            if self.n_gamma:
                gradient[self.n_alpha + self.j: self.n_population] = np.einsum("nj,njp->p", residual, self.promotions)
            per_row_price = price_residual.sum(axis=1)
        else:
            gradient[: self.n_alpha] = np.bincount(self.item, residual, minlength=self.j)
            per_row_price = residual * self.prices
            gradient[self.beta_slice] = np.bincount(self.item, per_row_price, minlength=self.j)
            if self.n_gamma:
                gradient[self.n_alpha + self.j: self.n_population] = self.promotions.T @ residual

        population = theta[: self.n_population]
        penalty = 0.5 * _RIDGE * float(population @ population)
        gradient[: self.n_population] += _RIDGE * population
        if self.with_users:
            delta = theta[self.delta_slice]
            penalty += 0.5 * shrinkage * float(delta @ delta)
            gradient[self.delta_slice] = np.bincount(self.users, per_row_price, minlength=self.n_users) + shrinkage * delta
        return nll + penalty, gradient

    def delta_curvature(self, theta: np.ndarray) -> np.ndarray:
        """Return the diagonal of the NLL Hessian for the per-user deviations."""
        alpha, beta, gamma, delta = self.unpack(theta)
        nll, residual = self._residuals(theta)
        if self.kind == "choices":
            probabilities = residual.copy()
            probabilities[np.arange(residual.shape[0]), self.choices] += 1.0
            mean_price = np.sum(probabilities * self.prices, axis=1)
            variance = np.sum(probabilities * self.prices**2, axis=1) - mean_price**2
        else:
            probability = residual + self.outcome
            variance = probability * (1.0 - probability) * self.prices**2
        return np.bincount(self.users, variance, minlength=self.n_users)

    def population_covariance(self, theta: np.ndarray) -> np.ndarray:
        """Return the inverse Hessian of the NLL for (alpha, scaled beta, gamma), deltas held fixed."""
        nll, residual = self._residuals(theta)
        k = self.n_population
        if self.kind == "choices":
            n = residual.shape[0]
            probabilities = residual.copy()
            probabilities[np.arange(n), self.choices] += 1.0
            design = np.zeros((n, self.j, k))
            for j in range(1, self.j):
                design[:, j, j - 1] = 1.0
            for j in range(self.j):
                design[:, j, self.n_alpha + j] = self.prices[:, j]
            if self.n_gamma:
                design[:, :, self.n_alpha + self.j:] = self.promotions
            mean_design = np.einsum("nj,njk->nk", probabilities, design)
            hessian = np.einsum("njk,nj,njl->kl", design, probabilities, design) - mean_design.T @ mean_design
        else:
            probability = residual + self.outcome
            weight = probability * (1.0 - probability)
            hessian = np.zeros((k, k))
            a, b = np.arange(self.j), self.n_alpha + np.arange(self.j)
            hessian[a, a] = np.bincount(self.item, weight, minlength=self.j)
            hessian[a, b] = hessian[b, a] = np.bincount(self.item, weight * self.prices, minlength=self.j)
            hessian[b, b] = np.bincount(self.item, weight * self.prices**2, minlength=self.j)
            if self.n_gamma:
                g = slice(self.n_alpha + self.j, k)
                weighted = self.promotions * weight[:, None]
                hessian[g, g] = self.promotions.T @ weighted
                for p in range(self.n_gamma):
                    column = self.n_alpha + self.j + p
                    hessian[a, column] = hessian[column, a] = np.bincount(self.item, weighted[:, p], minlength=self.j)
                    hessian[b, column] = hessian[column, b] = np.bincount(
                        self.item, weighted[:, p] * self.prices, minlength=self.j
                    )
        hessian += _RIDGE * np.eye(k)
        return np.linalg.pinv(hessian, hermitian=True)
