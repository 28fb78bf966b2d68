"""Stopping rules: maximum length, minimum length, a standard-error target, a classification against a cut on
the ability scale, and the deadline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

CONFIDENCE_Z = 1.96  # a 95% confidence interval around theta must clear the cut to classify


@dataclass(frozen=True)
class StoppingRule:
    max_items: int
    min_items: int = 1
    se_target: float | None = None  # None or 0: no precision stop
    cut: float | None = None  # the pass mark on the theta scale
    classify: bool = False  # stop once theta's confidence interval lies wholly on one side of `cut`

    def precise(self, administered: ArrayLike, se: ArrayLike, theta: ArrayLike | None = None) -> NDArray[np.bool_]:
        """True where, after at least the minimum length, the standard error reached its target or (with a
        classification stop and the estimate given) the confidence interval around theta clears the cut."""
        count = np.asarray(administered)
        error = np.asarray(se)
        enough = count >= self.min_items
        reached = error <= self.se_target if self.se_target else np.zeros(count.shape, dtype=bool)
        if self.classify and self.cut is not None and theta is not None:
            reached = reached | (np.abs(np.asarray(theta) - self.cut) >= CONFIDENCE_Z * error)
        return enough & reached  # type: ignore[no-any-return]

    def should_stop(
        self,
        administered: ArrayLike,
        se: ArrayLike,
        deadline_passed: ArrayLike = False,
        theta: ArrayLike | None = None,
    ) -> NDArray[np.bool_]:
        """True where the test ends now: the deadline passed, the length is reached, or a precision stop
        (SE target or classification) is met."""
        count = np.asarray(administered)
        passed = np.asarray(deadline_passed, dtype=bool)
        return (count >= self.max_items) | passed | self.precise(count, se, theta)  # type: ignore[no-any-return]

    def reason(
        self, administered: int, se: float, deadline_passed: bool = False, theta: float | None = None
    ) -> str | None:
        """The protocol's finish reason for one candidate, or None to go on (a classification is a
        `precision_reached`: the estimate is precise enough for the decision)."""
        if deadline_passed:
            return "time_expired"
        if self.precise(administered, se, theta):
            return "precision_reached"
        if administered >= self.max_items:
            return "completed"
        return None
