"""Stopping rules: maximum length, minimum length, a standard-error target, and the deadline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class StoppingRule:
    max_items: int
    min_items: int = 1
    se_target: float | None = None  # None or 0: no precision stop

    def precise(self, administered: ArrayLike, se: ArrayLike) -> NDArray[np.bool_]:
        """True where the standard error reached the target after at least the minimum length."""
        count = np.asarray(administered)
        if not self.se_target:
            return np.zeros(count.shape, dtype=bool)
        return (count >= self.min_items) & (np.asarray(se) <= self.se_target)  # type: ignore[no-any-return]

    def should_stop(
        self, administered: ArrayLike, se: ArrayLike, deadline_passed: ArrayLike = False
    ) -> NDArray[np.bool_]:
        """True where the test ends now: the deadline passed, the length is reached, or the SE target is met."""
        count = np.asarray(administered)
        return (count >= self.max_items) | np.asarray(deadline_passed, dtype=bool) | self.precise(count, se)  # type: ignore[no-any-return]

    def reason(self, administered: int, se: float, deadline_passed: bool = False) -> str | None:
        """The protocol's finish reason for one candidate, or None to go on."""
        if deadline_passed:
            return "time_expired"
        if self.precise(administered, se):
            return "precision_reached"
        if administered >= self.max_items:
            return "completed"
        return None
