"""Item selection: maximum information, randomesque (a random pick among the top k), Sympson-Hetter and
`r_max` exposure control, and content balance by blueprint weight.

Every function takes one candidate or a batch: `theta` (candidates,), `eligible` (candidates, items).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from adaptive.irt import Array, ItemParameters, information

IndexArray = NDArray[np.intp]


def maximum_information(theta: ArrayLike, eligible: ArrayLike, items: ItemParameters) -> Array:
    """Index of the most informative eligible item for each candidate (-1 where none is eligible)."""
    info = np.where(np.asarray(eligible, dtype=bool), information(theta, items), -np.inf)
    best = np.argmax(info, axis=-1)
    return np.where(np.isfinite(np.take_along_axis(info, best[..., None], axis=-1)[..., 0]), best, -1)


def randomesque(
    theta: ArrayLike, eligible: ArrayLike, items: ItemParameters, k: int, rng: np.random.Generator
) -> IndexArray:
    """A uniformly random pick among each candidate's k most informative eligible items."""
    info = np.where(np.asarray(eligible, dtype=bool), information(theta, items), -np.inf)
    chosen = _pick_among_top(np.atleast_2d(info), k, rng)
    return chosen.reshape(()) if np.ndim(theta) == 0 else chosen


def _pick_among_top(scores: Array, k: int, rng: np.random.Generator | None) -> IndexArray:
    """Per row, the best finite score (k = 1) or a uniform pick among the k best; -1 where none is finite."""
    rows = np.arange(scores.shape[0])
    if k <= 1 or rng is None:
        best = np.argmax(scores, axis=1)
        return np.where(np.isfinite(scores[rows, best]), best, -1)
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    counts = np.isfinite(np.take_along_axis(scores, top, axis=1)).sum(axis=1)
    picks = np.floor(rng.random(scores.shape[0]) * np.maximum(counts, 1)).astype(int)
    return np.where(counts > 0, top[rows, picks], -1)


@dataclass(frozen=True)
class SelectionRule:
    """How the next item is chosen among the eligible ones.

    `randomesque` k = 1 is plain maximum information. `exposure_k` holds Sympson-Hetter parameters (one per
    item, in (0, 1]): an item that comes up is administered only with probability k, otherwise the next
    best is considered, so that no item is seen by more than its target share of candidates. None (or all
    ones) switches it off, and then the rule uses no randomness at all.
    """

    randomesque: int = 1
    exposure_k: Array | None = None

    def choose(self, info: Array, eligible: ArrayLike, rng: np.random.Generator | None = None) -> IndexArray:
        """Per candidate, the pick among the eligible items given each item's information (candidates, items)."""
        mask = np.atleast_2d(np.asarray(eligible, dtype=bool))
        if self.exposure_k is not None and rng is not None and np.any(self.exposure_k < 1.0):
            passes = mask & (rng.random(mask.shape) < self.exposure_k)
            mask = np.where(passes.any(axis=1, keepdims=True), passes, mask)
        return _pick_among_top(np.where(mask, info, -np.inf), self.randomesque, rng)


def cap_exposure(info: Array, eligible: NDArray[np.bool_], chosen: IndexArray, capacity: ArrayLike) -> IndexArray:
    """Enforce an `r_max` cap within one step of a batch: no item goes to more candidates than its remaining
    `capacity` (r_max x candidates - times already given). Candidates over an item's capacity move to their
    next most informative item that still has room; where none has, the most informative eligible item
    stays (as catsim does). Among candidates wanting the same item, the earlier rows keep it."""
    remaining = np.asarray(capacity, dtype=np.int64).copy()
    scores = np.where(eligible, info, -np.inf)
    chosen = chosen.copy()
    settled = chosen < 0
    for _ in range(info.shape[1]):
        open_rows = np.flatnonzero(~settled)
        counts = np.bincount(chosen[open_rows], minlength=info.shape[1])
        over = counts > np.maximum(remaining, 0)
        if not over.any():
            break
        contested = open_rows[over[chosen[open_rows]]]
        contested = contested[np.argsort(chosen[contested], kind="stable")]
        wanted = chosen[contested]
        rank = np.arange(contested.size) - np.searchsorted(wanted, wanted, side="left")
        fits = rank < np.maximum(remaining[wanted], 0)
        keepers, losers = contested[fits], contested[~fits]
        np.subtract.at(remaining, chosen[keepers], 1)
        settled[keepers] = True
        scores[losers, chosen[losers]] = -np.inf
        with_room = np.where(remaining[None, :] > 0, scores[losers], -np.inf)
        best = np.argmax(with_room, axis=1)
        stuck = ~np.isfinite(with_room[np.arange(losers.size), best])
        most_informative = np.argmax(np.where(eligible[losers], info[losers], -np.inf), axis=1)
        chosen[losers] = np.where(stuck, most_informative, best)
        settled[losers[stuck]] = True
    return chosen


def most_behind_skill(administered_per_skill: ArrayLike, target_per_skill: ArrayLike) -> Array:
    """The skill whose share of its blueprint target is smallest (content balancing by weight); ties go
    to the first skill (the caller orders skills prerequisites first)."""
    done = np.asarray(administered_per_skill, dtype=np.float64)
    target = np.maximum(np.asarray(target_per_skill, dtype=np.float64), 1e-9)
    return np.argmin(done / target, axis=-1)  # type: ignore[no-any-return]
