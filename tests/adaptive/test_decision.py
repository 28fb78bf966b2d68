"""Decisions on ability: the cut from a passing score through the pool's TCC, the decision, the scaled score,
the classification stop and per-skill estimates, each against a case worked by hand."""

import math

import numpy as np
import pytest

from adaptive.decision import (
    ScoredResponse,
    cut_from_percent,
    decide,
    expected_percent,
    scaled_score,
    skill_estimates,
)
from adaptive.irt import ItemParameters
from adaptive.pool import ItemPool
from adaptive.stopping import StoppingRule
from domain.enums import Decision


def two_skill_pool() -> ItemPool:
    """Skill 0: two items at b = 0; skill 1: one item at b = 1; a = 1, c = 0; the blueprint weights 3 : 1."""
    return ItemPool(
        ids=("x1", "x2", "y1"),
        parameters=ItemParameters.of([1.0, 1.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]),
        skill=np.array([0, 0, 1]),
        reusable=np.zeros(3, dtype=bool),
        skills=("x", "y"),
        targets=np.array([3.0, 1.0]),
    )


def logistic(value: float) -> float:
    return 1 / (1 + math.exp(-value))


def test_the_tcc_weights_skills_by_their_blueprint_share() -> None:
    # By hand: 0.75 * P(0 | b=0) + 0.25 * P(0 | b=1) = 0.75 * 0.5 + 0.25 * 0.268941 = 43.2235%.
    assert expected_percent(two_skill_pool(), 0.0) == pytest.approx(100 * (0.75 * 0.5 + 0.25 * logistic(-1)))


def test_a_passing_score_becomes_the_theta_where_the_tcc_reaches_it() -> None:
    pool = two_skill_pool()
    assert cut_from_percent(pool, 100 * (0.75 * 0.5 + 0.25 * logistic(-1))) == pytest.approx(0.0, abs=1e-4)
    at_one = 100 * (0.75 * logistic(1.0) + 0.25 * logistic(0.0))
    assert cut_from_percent(pool, at_one) == pytest.approx(1.0, abs=1e-4)
    assert cut_from_percent(pool, 0.0) == -4.0 and cut_from_percent(pool, 100.0) == 4.0  # clipped to the scale


def test_the_decision_and_scaled_score() -> None:
    assert decide(0.41, 0.4) is Decision.PASS and decide(0.4, 0.4) is Decision.PASS
    assert decide(0.39, 0.4) is Decision.FAIL and decide(None, 0.4) is None
    assert scaled_score(0.0) == 500 and scaled_score(-1.234) == 377 and scaled_score(9.0) == 900


def test_the_classification_stop_waits_for_the_interval_to_clear_the_cut() -> None:
    rule = StoppingRule(max_items=30, min_items=5, cut=0.4, classify=True)
    # |1.0 - 0.4| = 0.6 >= 1.96 * 0.3 = 0.588: classified; 0.9 - 0.4 = 0.5 < 0.588: not yet.
    assert rule.reason(6, 0.3, theta=1.0) == "precision_reached"
    assert rule.reason(6, 0.3, theta=0.9) is None
    assert rule.reason(4, 0.3, theta=1.0) is None  # under the minimum length
    assert rule.should_stop([6, 6], [0.3, 0.3], theta=[-0.2, 0.0]).tolist() == [True, False]
    assert StoppingRule(max_items=30, min_items=5, cut=0.4).reason(6, 0.3, theta=1.0) is None  # no classify


def test_per_skill_estimates_use_each_skills_answers_alone() -> None:
    right, wrong = (1.0, 0.0, 0.0), (1.0, 0.0, 0.0)
    estimates = skill_estimates(
        ["x", "y", "z"],
        [
            ScoredResponse("x", right, True),
            ScoredResponse("x", right, True),
            ScoredResponse("y", wrong, False),
            ScoredResponse("y", wrong, False),
        ],
    )
    x, y, z = estimates
    assert (x.answered, x.correct, y.answered, y.correct) == (2, 2, 2, 0)
    assert x.theta is not None and y.theta is not None and x.theta == pytest.approx(-y.theta, abs=1e-4)
    assert x.theta > 0.5 and x.se is not None and 0.5 < x.se < 1.0  # two items: a wide interval
    assert z.theta is None and z.se is None and z.answered == 0
