"""Ability estimation on a quadrature grid: EAP with a normal prior, and MLE with a fallback.

Both work from the log-likelihood of each candidate's responses at every grid point, an array of shape
(candidates, grid). `estimate` computes it from whole response matrices; an adaptive test that adds one
response at a time keeps a running sum instead (adaptive.cat), so each new answer costs O(grid) rather
than O(items x grid). Estimates come back as (theta, standard error)
arrays of shape (candidates,), or 0-d arrays for one candidate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from adaptive.irt import Array, ItemParameters, information, probability

_EPSILON = 1e-12

Counts = NDArray[Any]  # answers (or right answers) per candidate
InformationAt = Callable[[Array], Array]  # theta (candidates,) -> test information (candidates,)


def default_grid() -> Array:
    return np.linspace(-4.0, 4.0, 161)


def grid_log_likelihood(grid: Array, responses: ArrayLike, administered: ArrayLike, items: ItemParameters) -> Array:
    """Log-likelihood of each candidate's administered responses at every grid point: (candidates, grid)."""
    r = np.atleast_2d(np.asarray(responses, dtype=np.float64))
    mask = np.atleast_2d(np.asarray(administered, dtype=bool)).astype(np.float64)
    p = np.clip(probability(grid, items), _EPSILON, 1.0 - _EPSILON)  # (grid, items)
    return (r * mask) @ np.log(p).T + ((1.0 - r) * mask) @ np.log1p(-p).T  # type: ignore[no-any-return]


class GridEstimator(ABC):
    grid: Array

    @abstractmethod
    def estimate_on_grid(
        self, log_likelihood: Array, answered: Counts, correct: Counts, information_at: InformationAt
    ) -> tuple[Array, Array]:
        """(theta, SE) per candidate from the running log-likelihood, answer counts and test information."""

    def estimate(self, responses: ArrayLike, administered: ArrayLike, items: ItemParameters) -> tuple[Array, Array]:
        r = np.atleast_2d(np.asarray(responses, dtype=np.float64))
        mask = np.atleast_2d(np.asarray(administered, dtype=bool))
        theta, se = self.estimate_on_grid(
            grid_log_likelihood(self.grid, r, mask, items),
            answered=mask.sum(axis=1),
            correct=(r * mask).sum(axis=1),
            information_at=lambda at: (information(at, items) * mask).sum(axis=1),  # type: ignore[no-any-return]
        )
        return _shape_like(theta, responses), _shape_like(se, responses)


@dataclass(frozen=True)
class EAP(GridEstimator):
    """Expected a posteriori under a normal prior; SE is the posterior standard deviation."""

    prior_mean: float = 0.0
    prior_sd: float = 1.0
    grid: Array = field(default_factory=default_grid)

    def estimate_on_grid(
        self, log_likelihood: Array, answered: Counts, correct: Counts, information_at: InformationAt
    ) -> tuple[Array, Array]:
        log_posterior = log_likelihood - 0.5 * ((self.grid - self.prior_mean) / self.prior_sd) ** 2
        weights = np.exp(log_posterior - log_posterior.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        theta = weights @ self.grid
        se = np.sqrt(np.maximum(weights @ self.grid**2 - theta**2, 0.0))
        return theta, se


@dataclass(frozen=True)
class MLE(GridEstimator):
    """Maximum likelihood: the best grid point refined by a parabola through its neighbours; SE from the
    test information at the estimate.

    All-correct and all-wrong patterns (and no answers) have no finite maximum: they fall back to EAP.
    """

    grid: Array = field(default_factory=default_grid)
    fallback: EAP = field(default_factory=EAP)

    def estimate_on_grid(
        self, log_likelihood: Array, answered: Counts, correct: Counts, information_at: InformationAt
    ) -> tuple[Array, Array]:
        theta = _refined_argmax(self.grid, log_likelihood)
        degenerate = (correct == 0) | (correct == answered)
        if degenerate.any():
            fallback = EAP(self.fallback.prior_mean, self.fallback.prior_sd, self.grid)
            theta[degenerate], _ = fallback.estimate_on_grid(
                log_likelihood[degenerate], answered[degenerate], correct[degenerate], information_at
            )
        se = 1.0 / np.sqrt(np.maximum(information_at(theta), _EPSILON))
        return theta, se


def _refined_argmax(grid: Array, values: Array) -> Array:
    """The maximum of each row, refined between grid points by the parabola through the best three."""
    best = np.clip(np.argmax(values, axis=1), 1, grid.size - 2)
    rows = np.arange(values.shape[0])
    left, middle, right = values[rows, best - 1], values[rows, best], values[rows, best + 1]
    curvature = left - 2.0 * middle + right
    safe = np.where(curvature < -_EPSILON, curvature, -1.0)
    offset = np.where(curvature < -_EPSILON, 0.5 * (left - right) / safe, 0.0)
    step = grid[1] - grid[0]
    return np.clip(grid[best] + np.clip(offset, -1.0, 1.0) * step, grid[0], grid[-1])  # type: ignore[no-any-return]


def _shape_like(values: Array, responses: ArrayLike) -> Array:
    return values.reshape(()) if np.ndim(responses) == 1 else values
