"""Answers far faster than others took on the same item: an anomaly for staff to look at (an answer known
in advance, or a guess made without reading), shown beside the integrity signals. A signal, never a score.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

FAST_ANSWER_RATIO = 0.25  # under a quarter of the item's median time
MIN_RESPONSES_FOR_MEDIAN = 20  # fewer responses than this: the item's median says too little


@dataclass(frozen=True)
class ItemTiming:
    median_s: float
    responses: int

    @classmethod
    def of(cls, times_s: Sequence[float]) -> ItemTiming | None:
        return cls(statistics.median(times_s), len(times_s)) if times_s else None


def is_fast(time_taken_s: float, timing: ItemTiming | None) -> bool | None:
    """Far faster than the item's median; None when the item has too few responses to tell."""
    if timing is None or timing.responses < MIN_RESPONSES_FOR_MEDIAN:
        return None
    return time_taken_s < FAST_ANSWER_RATIO * timing.median_s
