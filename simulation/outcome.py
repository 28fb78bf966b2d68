"""What a simulation produced, one row per candidate, as parallel arrays (cheap to ship between Ray tasks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from adaptive.irt import Array
from domain.enums import FinishReason


class Reason(IntEnum):
    """Why a simulated test ended, stored compactly; `finish_reason` gives the protocol's name."""

    LENGTH = 0
    PRECISION = 1
    TIME = 2

    @property
    def finish_reason(self) -> FinishReason:
        return {
            Reason.LENGTH: FinishReason.COMPLETED,
            Reason.PRECISION: FinishReason.PRECISION_REACHED,
            Reason.TIME: FinishReason.TIME_EXPIRED,
        }[self]


@dataclass
class Outcome:
    true_theta: Array
    persona: NDArray[np.int8]
    estimate: Array
    se: Array
    length: NDArray[np.int32]
    reason: NDArray[np.int8]
    seconds: Array
    reconnects: NDArray[np.int32]
    items: NDArray[np.int32]  # (candidates, max items): pool entry given at each step, -1 after the end
    correct: NDArray[np.bool_]  # (candidates, max items)
    se_history: Array  # (candidates, max items): SE after each answer, NaN after the end

    @classmethod
    def empty(cls, true_theta: Array, persona: NDArray[np.int8], max_items: int) -> Outcome:
        candidates = true_theta.size
        return cls(
            true_theta=np.asarray(true_theta, dtype=np.float64),
            persona=np.asarray(persona, dtype=np.int8),
            estimate=np.zeros(candidates),
            se=np.zeros(candidates),
            length=np.zeros(candidates, dtype=np.int32),
            reason=np.zeros(candidates, dtype=np.int8),
            seconds=np.zeros(candidates),
            reconnects=np.zeros(candidates, dtype=np.int32),
            items=np.full((candidates, max_items), -1, dtype=np.int32),
            correct=np.zeros((candidates, max_items), dtype=bool),
            se_history=np.full((candidates, max_items), np.nan),
        )

    @classmethod
    def concatenate(cls, parts: Sequence[Outcome]) -> Outcome:
        return cls(**{f.name: np.concatenate([getattr(part, f.name) for part in parts]) for f in fields(cls)})

    @property
    def size(self) -> int:
        return int(self.true_theta.size)
