"""Ability estimation: EAP with a normal prior over a quadrature grid, and MLE with a fallback.

Both take `responses` and `administered` of shape (candidates, items) (or (items,) for one candidate) and
return (theta, standard error) arrays of shape (candidates,) (or scalars' 0-d arrays).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from adaptive.irt import Array, ItemParameters, information, probability

_EPSILON = 1e-12


@dataclass(frozen=True)
class EAP:
    """Expected a posteriori; SE is the posterior standard deviation."""

    prior_mean: float = 0.0
    prior_sd: float = 1.0
    grid: Array = field(default_factory=lambda: np.linspace(-4.0, 4.0, 81))

    def estimate(self, responses: ArrayLike, administered: ArrayLike, items: ItemParameters) -> tuple[Array, Array]:
        r = np.atleast_2d(np.asarray(responses, dtype=np.float64))
        mask = np.atleast_2d(np.asarray(administered, dtype=bool)).astype(np.float64)
        p = np.clip(probability(self.grid, items), _EPSILON, 1.0 - _EPSILON)  # (grid, items)
        log_likelihood = (r * mask) @ np.log(p).T + ((1.0 - r) * mask) @ np.log1p(-p).T  # (candidates, grid)
        log_prior = -0.5 * ((self.grid - self.prior_mean) / self.prior_sd) ** 2
        log_posterior = log_likelihood + log_prior
        weights = np.exp(log_posterior - log_posterior.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        theta = weights @ self.grid
        se = np.sqrt(np.maximum(weights @ self.grid**2 - theta**2, 0.0))
        return _shape_like(theta, responses), _shape_like(se, responses)


@dataclass(frozen=True)
class MLE:
    """Maximum likelihood on a fine grid within `bounds`, SE from the test information at the estimate.

    All-correct and all-wrong patterns (and no answers) have no finite maximum: they fall back to EAP.
    """

    bounds: tuple[float, float] = (-4.0, 4.0)
    points: int = 801
    fallback: EAP = field(default_factory=EAP)

    def estimate(self, responses: ArrayLike, administered: ArrayLike, items: ItemParameters) -> tuple[Array, Array]:
        r = np.atleast_2d(np.asarray(responses, dtype=np.float64))
        mask = np.atleast_2d(np.asarray(administered, dtype=bool))
        grid = np.linspace(*self.bounds, self.points)
        p = np.clip(probability(grid, items), _EPSILON, 1.0 - _EPSILON)
        weights = mask.astype(np.float64)
        log_likelihood = (r * weights) @ np.log(p).T + ((1.0 - r) * weights) @ np.log1p(-p).T
        theta = grid[np.argmax(log_likelihood, axis=1)]
        answered = mask.sum(axis=1)
        correct = (r * mask).sum(axis=1)
        degenerate = (correct == 0) | (correct == answered)
        if degenerate.any():
            fallback_theta, _ = self.fallback.estimate(r, mask, items)
            theta = np.where(degenerate, np.atleast_1d(fallback_theta), theta)
        test_information = (information(theta, items) * mask).sum(axis=1)
        se = 1.0 / np.sqrt(np.maximum(test_information, _EPSILON))
        return _shape_like(theta, responses), _shape_like(se, responses)


def _shape_like(values: Array, responses: ArrayLike) -> Array:
    return values.reshape(()) if np.ndim(responses) == 1 else values
