"""Sympson-Hetter exposure parameters computed by simulation (the iterative procedure of Sympson and Hetter,
1985), as `assess simulate --exposure-target` runs it for a test.

Each round simulates a cohort from the standard normal with the current parameters k. An item's
administration rate is P(A) = P(S) k, where P(S) is the rate at which it comes up as the pick; the next round
takes k = target / P(S) where P(S) exceeds the target and 1 elsewhere. A few rounds settle the k so that no
fixed item reaches more than `target` of candidates (templates make fresh variants and are not limited).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from adaptive.cat import AdaptiveTest
from adaptive.exposure import ExposureControl
from simulation.fast import SimulationPlan, simulate

K_FLOOR = 0.01  # an item is never switched off entirely


@dataclass(frozen=True)
class ExposureRun:
    control: ExposureControl
    rates: np.ndarray  # administration rate of each pool entry in the last round
    rounds: int
    candidates: int

    @property
    def max_rate(self) -> float:
        return float(self.rates.max()) if self.rates.size else 0.0


def administration_rates(test: AdaptiveTest, plan: SimulationPlan, candidates: int, seed: int) -> np.ndarray:
    """Share of candidates given each fixed pool entry (0 for templates) in one simulated cohort."""
    theta = np.random.default_rng(seed).normal(size=candidates)
    outcome = simulate(replace(plan, test=test), theta, np.zeros(candidates, np.int8), seed=seed, local=True)
    given = outcome.items[outcome.items >= 0]
    counts = np.bincount(given, minlength=len(test.pool)).astype(np.float64)
    return np.where(test.pool.reusable, 0.0, counts / candidates)


def sympson_hetter(
    test: AdaptiveTest,
    target: float,
    candidates: int = 2000,
    rounds: int = 8,
    first_randomesque: int = 5,
    seed: int = 0,
    on_round: Callable[[int, float], None] = lambda round_number, max_rate: None,
) -> ExposureRun:
    """Exposure parameters holding every fixed item under `target` of candidates, for `test` (its pool,
    stopping rule and estimator; its own selection rule is replaced)."""
    if not 0 < target <= 1:
        raise ValueError("the exposure target must be in (0, 1]")
    pool = test.pool
    k = np.ones(len(pool))
    plan = SimulationPlan(test)
    rates = np.zeros(len(pool))
    for number in range(rounds):
        control = _control(pool.ids, k, target, first_randomesque)
        controlled = AdaptiveTest(pool, test.stopping, test.estimator, control.selection_for(pool))
        rates = administration_rates(controlled, plan, candidates, seed + number)
        on_round(number + 1, float(rates.max()))
        selected = rates / k  # P(S): how often each item came up
        k = np.where(selected > target, np.maximum(target / np.maximum(selected, 1e-12), K_FLOOR), 1.0)
    final = _control(pool.ids, k, target, first_randomesque)
    controlled = AdaptiveTest(pool, test.stopping, test.estimator, final.selection_for(pool))
    rates = administration_rates(controlled, plan, candidates, seed + rounds)
    return ExposureRun(final, rates, rounds, candidates)


def _control(ids: tuple[str, ...], k: np.ndarray, target: float, first_randomesque: int) -> ExposureControl:
    return ExposureControl(
        target=target,
        first_randomesque=first_randomesque,
        k=tuple(sorted((entry, round(float(value), 4)) for entry, value in zip(ids, k, strict=True) if value < 1.0)),
    )
