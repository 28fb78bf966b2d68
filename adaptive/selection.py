"""Item selection: maximum information, randomesque (a random pick among the top k), Sympson-Hetter and
`r_max` exposure control, and content balance by blueprint weight.

Every function takes one candidate or a batch: `theta` (candidates,), `eligible` (candidates, items).

The selection rule's random numbers are counter-based (`draws`): a uniform is a hash of the candidate's key,
the step and the item, not the next number of a stream. The live graph (one candidate, keyed by its attempt
id) and the simulator (thousands at once, keyed by their seeds) therefore draw the same numbers for the same
key and step, and choose the same items for the same answers, however candidates are batched.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from adaptive.irt import Array, ItemParameters, information

IndexArray = NDArray[np.intp]


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STEP = np.uint64(0xD1B54A32D192ED03)
_SLOT = np.uint64(0x8CB92BA72F3D8DD7)


def _splitmix64(z: NDArray[np.uint64]) -> NDArray[np.uint64]:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))  # type: ignore[no-any-return]


def draws(keys: ArrayLike, step: ArrayLike, slots: int) -> Array:
    """Uniforms in [0, 1), (candidates, slots): a hash of each candidate's key, its step and the slot."""
    key = np.atleast_1d(np.asarray(keys, dtype=np.uint64))[:, None]
    at = np.atleast_1d(np.asarray(step, dtype=np.uint64))[:, None]
    slot = np.arange(slots, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):
        mixed = _splitmix64(_splitmix64(key * _GOLDEN + at * _STEP + _SLOT) + slot * _SLOT)
    return (mixed >> np.uint64(11)).astype(np.float64) * 2.0**-53  # type: ignore[no-any-return]


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
    scores = np.atleast_2d(info)
    chosen = _pick_among_top(scores, k, rng.random(scores.shape[0]))
    return chosen.reshape(()) if np.ndim(theta) == 0 else chosen


def _pick_among_top(scores: Array, k: ArrayLike, uniform: ArrayLike | None) -> IndexArray:
    """Per row, the best finite score (k = 1) or a pick by `uniform` among the k best; -1 where none is finite."""
    rows = np.arange(scores.shape[0])
    best = np.argmax(scores, axis=1)
    best = np.where(np.isfinite(scores[rows, best]), best, -1)
    k_rows = np.broadcast_to(np.asarray(k), rows.shape)
    if uniform is None or not np.any(k_rows > 1):
        return best
    top = np.argsort(-scores, axis=1, kind="stable")[:, : int(k_rows.max())]
    within = np.arange(top.shape[1])[None, :] < k_rows[:, None]
    counts = (np.isfinite(np.take_along_axis(scores, top, axis=1)) & within).sum(axis=1)
    picks = np.floor(uniform * np.maximum(counts, 1)).astype(int)
    return np.where(counts > 0, top[rows, picks], -1)


@dataclass(frozen=True)
class SelectionRule:
    """How the next item is chosen among the eligible ones.

    `randomesque` k = 1 is plain maximum information; `first_randomesque` is the k of the first item only
    (a randomesque start: everyone starts at the same estimate, so without it everyone sees the same first
    item). `exposure_k` holds Sympson-Hetter parameters (one per item, in (0, 1]): an item that comes up is
    administered only with probability k, otherwise the next best is considered, so that no item is seen by
    more than its target share of candidates. None (or all ones) switches it off; with every k at 1 the
    rule uses no randomness at all.
    """

    randomesque: int = 1
    first_randomesque: int = 1
    exposure_k: Array | None = None

    @cached_property
    def lottery(self) -> bool:
        """Whether a Sympson-Hetter lottery runs (some k under 1); computed once, not per choice."""
        return self.exposure_k is not None and bool(np.any(self.exposure_k < 1.0))

    @cached_property
    def random(self) -> bool:
        return self.lottery or self.randomesque > 1 or self.first_randomesque > 1

    def choose(
        self, info: Array, eligible: ArrayLike, keys: ArrayLike | None = None, step: ArrayLike = 0
    ) -> tuple[IndexArray, NDArray[np.bool_]]:
        """Per candidate, the pick among the eligible items given each item's information (candidates,
        items), and the items that came up before it and lost the Sympson-Hetter lottery (refused for good).
        `keys` and `step` (per candidate) seed the draws; without keys the rule is plain maximum information."""
        mask = np.atleast_2d(np.asarray(eligible, dtype=bool))
        refused = np.zeros(mask.shape, dtype=bool)
        if keys is None or not self.random:
            return _pick_among_top(np.where(mask, info, -np.inf), 1, None), refused
        uniform = draws(keys, step, mask.shape[1] + 1)
        if self.lottery and self.exposure_k is not None:
            passes = mask & (uniform[:, :-1] < self.exposure_k)
            passing_info = np.where(passes, info, -np.inf)
            best = np.argmax(passing_info, axis=1)[:, None]  # ties go to the earlier item, as in argmax
            best_info = np.take_along_axis(passing_info, best, axis=1)
            position = np.arange(mask.shape[1])[None, :]
            outranks = (info > best_info) | ((info == best_info) & (position < best))
            refused = mask & ~passes & outranks
            mask = np.where(passes.any(axis=1, keepdims=True), passes, mask)
        k = np.where(np.asarray(step) == 0, self.first_randomesque, self.randomesque)
        return _pick_among_top(np.where(mask, info, -np.inf), k, uniform[:, -1]), refused


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
