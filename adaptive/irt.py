"""Item response models: the 3PL and its special cases 2PL (c = 0) and 1PL (a = 1, c = 0).

P(correct | theta) = c + (1 - c) / (1 + exp(-a (theta - b)))   (logistic metric, no 1.7 scaling)

All functions broadcast: `theta` of shape (...,) against item parameters of shape (items,) gives
(..., items).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]
_EPSILON = 1e-12


@dataclass(frozen=True)
class ItemParameters:
    """Discrimination `a`, difficulty `b` and guessing `c` of a set of items, as parallel arrays."""

    a: Array
    b: Array
    c: Array

    @classmethod
    def of(cls, a: ArrayLike, b: ArrayLike, c: ArrayLike | None = None) -> ItemParameters:
        b_array = np.asarray(b, dtype=np.float64)
        a_array = np.broadcast_to(np.asarray(a, dtype=np.float64), b_array.shape).copy()
        c_array = np.zeros_like(b_array) if c is None else np.broadcast_to(np.asarray(c, np.float64), b_array.shape)
        if np.any(a_array <= 0):
            raise ValueError("discrimination must be positive")
        if np.any((c_array < 0) | (c_array >= 1)):
            raise ValueError("guessing must be in [0, 1)")
        return cls(a_array, b_array, np.array(c_array, dtype=np.float64))

    @classmethod
    def rasch(cls, b: ArrayLike) -> ItemParameters:
        return cls.of(1.0, b)

    def __len__(self) -> int:
        return int(self.b.shape[0])


def response_probability(theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike) -> Array:
    """The 3PL curve, element by element (NumPy broadcasting)."""
    logistic = 1.0 / (1.0 + np.exp(-np.asarray(a) * (np.asarray(theta, dtype=np.float64) - np.asarray(b))))
    return np.asarray(c) + (1.0 - np.asarray(c)) * logistic  # type: ignore[no-any-return]


def probability(theta: ArrayLike, items: ItemParameters) -> Array:
    """P(correct) of every item at every theta: (..., items)."""
    return response_probability(np.asarray(theta, dtype=np.float64)[..., None], items.a, items.b, items.c)


def information(theta: ArrayLike, items: ItemParameters) -> Array:
    """Fisher information of each item at theta: a^2 (P - c)^2 / (1 - c)^2 * (1 - P) / P."""
    p = probability(theta, items)
    return items.a**2 * ((p - items.c) ** 2 / (1.0 - items.c) ** 2) * ((1.0 - p) / np.maximum(p, _EPSILON))  # type: ignore[no-any-return]


def log_likelihood(theta: ArrayLike, responses: ArrayLike, administered: ArrayLike, items: ItemParameters) -> Array:
    """Sum over administered items of r log P + (1 - r) log(1 - P); `responses` and `administered` are
    (..., items) arrays of 0/1 and booleans."""
    p = np.clip(probability(theta, items), _EPSILON, 1.0 - _EPSILON)
    r = np.asarray(responses, dtype=np.float64)
    mask = np.asarray(administered, dtype=bool)
    terms = np.where(mask, r * np.log(p) + (1.0 - r) * np.log1p(-p), 0.0)
    return terms.sum(axis=-1)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class GridTables:
    """log P, log (1 - P) and Fisher information of every item at every point of a fine theta grid.

    An adaptive test looks these up instead of evaluating the model: recording an answer takes one row of
    log-likelihood terms, choosing an item takes one row of information (theta is rounded to the grid,
    0.01 apart by default, far finer than any estimate's standard error)."""

    grid: Array
    log_likelihood: Array  # (2, items, grid): [0] log (1 - P) for a wrong answer, [1] log P for a right one
    information: Array  # (grid, items)

    @classmethod
    def of(cls, items: ItemParameters, grid: Array) -> GridTables:
        p = np.clip(probability(grid, items), _EPSILON, 1.0 - _EPSILON)
        return cls(grid, np.stack([np.log1p(-p).T, np.log(p).T]), information(grid, items))

    def nearest(self, theta: ArrayLike) -> NDArray[np.intp]:
        step = self.grid[1] - self.grid[0]
        position = np.rint((np.asarray(theta, dtype=np.float64) - self.grid[0]) / step)
        return np.clip(position, 0, self.grid.size - 1).astype(np.intp)  # type: ignore[no-any-return]
