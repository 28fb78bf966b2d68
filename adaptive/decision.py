"""Decisions on ability: the pass mark as a cut on theta, the pass/fail decision, the scaled score reported
beside theta, and per-skill ability estimates.

A percent-correct passing score is not a valid pass mark for an adaptive test (maximum-information selection
steers every candidate towards a similar percent correct). A test therefore decides on theta: its cut is set
directly, or translated from a percent-correct passing score through the pool's test characteristic curve
(the expected percent correct, at each theta, on the test's blueprint: each skill's items averaged, skills
weighted by their share of the blueprint), the way standard-setting results are carried onto an IRT scale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from adaptive.estimation import EAP
from adaptive.irt import ItemParameters, probability
from adaptive.pool import ItemPool
from domain.enums import Decision

THETA_RANGE = (-4.0, 4.0)  # a cut is kept on the scale the estimator works on
SCALE_MEAN, SCALE_SD = 500.0, 100.0  # scaled score = 500 + 100 theta, the ability scale's fixed reporting metric
SCALE_RANGE = (100, 900)


def expected_percent(pool: ItemPool, theta: float) -> float:
    """The pool's test characteristic curve at theta: expected percent correct over the blueprint."""
    p = probability(np.array([theta]), pool.parameters)[0]
    shares = pool.targets / pool.targets.sum()
    per_skill = np.array(
        [p[pool.skill == index].mean() if (pool.skill == index).any() else 0.0 for index in range(len(pool.skills))]
    )
    return float(100.0 * (shares * per_skill).sum())


def cut_from_percent(pool: ItemPool, passing_score: float) -> float:
    """The theta at which the pool's expected percent correct equals the passing score (clipped to the
    scale's range when the curve never reaches it: a passing score under the guessing floor, or near 100)."""
    low, high = THETA_RANGE

    def gap(theta: float) -> float:
        return expected_percent(pool, theta) - passing_score

    if gap(low) >= 0:
        return low
    if gap(high) <= 0:
        return high
    return round(float(brentq(gap, low, high, xtol=1e-6)), 4)


def decide(theta: float | None, cut: float) -> Decision | None:
    """Pass at or above the cut; None without an estimate."""
    if theta is None:
        return None
    return Decision.PASS if theta >= cut else Decision.FAIL


def scaled_score(theta: float | None) -> int | None:
    """500 + 100 theta, rounded and kept within 100-900."""
    if theta is None:
        return None
    return int(np.clip(round(SCALE_MEAN + SCALE_SD * theta), *SCALE_RANGE))


@dataclass(frozen=True)
class SkillEstimate:
    skill: str
    answered: int
    correct: int
    theta: float | None
    se: float | None


@dataclass(frozen=True)
class ScoredResponse:
    skill: str
    parameters: tuple[float, float, float]
    correct: bool


def skill_estimates(skills: Iterable[str], responses: Iterable[ScoredResponse]) -> list[SkillEstimate]:
    """Each skill's EAP estimate (standard normal prior) from that skill's scored responses alone, in the
    order given; a skill with no responses has no estimate. Few items per skill make wide SEs: they are
    reported so that a reader sees how little one skill's questions say."""
    by_skill: dict[str, list[ScoredResponse]] = {skill: [] for skill in skills}
    for response in responses:
        by_skill.setdefault(response.skill, []).append(response)
    estimator = EAP()
    estimates = []
    for skill, answers in by_skill.items():
        if not answers:
            estimates.append(SkillEstimate(skill, 0, 0, None, None))
            continue
        a, b, c = (np.array(column) for column in zip(*(answer.parameters for answer in answers), strict=True))
        correct = np.array([[answer.correct for answer in answers]])
        theta, se = estimator.estimate(correct, np.ones_like(correct, dtype=bool), ItemParameters.of(a, b, c))
        estimates.append(
            SkillEstimate(skill, len(answers), int(correct.sum()), round(float(theta[0]), 4), round(float(se[0]), 4))
        )
    return estimates
