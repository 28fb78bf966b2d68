"""Item selection: maximum information, randomesque (a random pick among the top k), content balance."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from adaptive.irt import Array, ItemParameters, information


def maximum_information(theta: ArrayLike, eligible: ArrayLike, items: ItemParameters) -> Array:
    """Index of the most informative eligible item for each candidate (-1 where none is eligible)."""
    info = np.where(np.asarray(eligible, dtype=bool), information(theta, items), -np.inf)
    best = np.argmax(info, axis=-1)
    return np.where(np.isfinite(np.take_along_axis(info, best[..., None], axis=-1)[..., 0]), best, -1)


def randomesque(
    theta: ArrayLike, eligible: ArrayLike, items: ItemParameters, k: int, rng: np.random.Generator
) -> Array:
    """A uniformly random pick among each candidate's k most informative eligible items."""
    info = np.where(np.asarray(eligible, dtype=bool), information(theta, items), -np.inf)
    info = np.atleast_2d(info)
    top = np.argsort(-info, axis=1)[:, :k]
    available = np.isfinite(np.take_along_axis(info, top, axis=1))
    counts = available.sum(axis=1)
    picks = np.floor(rng.random(info.shape[0]) * np.maximum(counts, 1)).astype(int)
    chosen = np.where(counts > 0, top[np.arange(info.shape[0]), picks], -1)
    return chosen.reshape(()) if np.ndim(theta) == 0 else chosen


def most_behind_skill(administered_per_skill: ArrayLike, target_per_skill: ArrayLike) -> Array:
    """The skill whose share of its blueprint target is smallest (content balancing by weight)."""
    done = np.asarray(administered_per_skill, dtype=np.float64)
    target = np.maximum(np.asarray(target_per_skill, dtype=np.float64), 1e-9)
    return np.argmin(done / target, axis=-1)  # type: ignore[no-any-return]
