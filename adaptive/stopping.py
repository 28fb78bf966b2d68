"""Stopping rules: maximum length, minimum length, a standard-error target, and the deadline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from adaptive.irt import Array


@dataclass(frozen=True)
class StoppingRule:
    max_items: int
    min_items: int = 1
    se_target: float | None = None

    def should_stop(self, administered: ArrayLike, se: ArrayLike, deadline_passed: ArrayLike = False) -> Array:
        """True where the test ends now: the deadline passed, the length is reached, or (past the minimum
        length) the standard error fell to the target."""
        count = np.asarray(administered)
        stop = (count >= self.max_items) | np.asarray(deadline_passed, dtype=bool)
        if self.se_target is not None:
            stop |= (count >= self.min_items) & (np.asarray(se) <= self.se_target)
        return stop  # type: ignore[no-any-return]

    def reason(self, administered: int, se: float, deadline_passed: bool = False) -> str | None:
        """The protocol's finish reason for one candidate, or None to go on."""
        if deadline_passed:
            return "time_expired"
        if self.se_target is not None and administered >= self.min_items and se <= self.se_target:
            return "precision_reached"
        if administered >= self.max_items:
            return "completed"
        return None
