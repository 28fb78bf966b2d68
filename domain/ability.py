"""A provisional ability estimate: EAP under a Rasch model with a standard normal prior.

Item difficulty on the written 1-5 scale maps to b = 0.8 * (difficulty - 3). The adaptive engine of
issue 4 replaces this with calibrated 1PL/2PL/3PL models; the interface (results in, theta and SE out)
stays the same.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

_GRID = [-4.0 + 0.05 * step for step in range(161)]
_PRIOR = [math.exp(-0.5 * theta * theta) for theta in _GRID]


def rasch_difficulty(written_difficulty: int) -> float:
    return 0.8 * (written_difficulty - 3)


def estimate_ability(results: Iterable[tuple[int, bool]]) -> tuple[float, float]:
    """(theta, standard error) from (written difficulty, correct) pairs; the prior alone gives (0, 1)."""
    weights = list(_PRIOR)
    for difficulty, correct in results:
        b = rasch_difficulty(difficulty)
        for index, theta in enumerate(_GRID):
            p = 1.0 / (1.0 + math.exp(-(theta - b)))
            weights[index] *= p if correct else 1.0 - p
    total = sum(weights)
    mean = sum(theta * weight for theta, weight in zip(_GRID, weights, strict=True)) / total
    variance = sum((theta - mean) ** 2 * weight for theta, weight in zip(_GRID, weights, strict=True)) / total
    return round(mean, 4), round(math.sqrt(variance), 4)
