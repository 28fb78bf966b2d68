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


def probability(theta: ArrayLike, items: ItemParameters) -> Array:
    theta_array = np.asarray(theta, dtype=np.float64)[..., None]
    logistic = 1.0 / (1.0 + np.exp(-items.a * (theta_array - items.b)))
    return items.c + (1.0 - items.c) * logistic  # type: ignore[no-any-return]


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
