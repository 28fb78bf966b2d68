"""Decisions on ability for the REST read models: each attempt's cut on theta (the test's, under the
parameter set the attempt was scored with), its pass/fail decision, scaled score, and per-skill estimates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from adaptive.assembly import TestDesign, adaptive_test
from adaptive.calibration import CalibratedSet, parameters_for
from adaptive.cat import AdaptiveTest
from adaptive.decision import ScoredResponse, SkillEstimate, decide, scaled_score, skill_estimates
from domain.enums import Decision
from persistence import catalog
from persistence.models import Attempt, Response, Test
from questions.source import QuestionSource


@dataclass(frozen=True)
class Verdict:
    cut: float
    decision: Decision | None
    scaled_score: int | None


def scored_test(questions: QuestionSource, test: Test, parameters: CalibratedSet | None) -> AdaptiveTest:
    """The test as its attempts under `parameters` were scored (assembled once per test and set)."""
    return adaptive_test(questions, TestDesign.from_definition(catalog.definition_of(test), parameters=parameters))


def verdict(adaptive: AdaptiveTest, attempt: Attempt) -> Verdict:
    """A finished attempt's decision on its final theta; an attempt in progress has none yet."""
    cut = adaptive.stopping.cut
    assert cut is not None  # every assembled test has one
    finished = attempt.finished_at is not None
    return Verdict(
        cut=cut,
        decision=decide(attempt.ability_theta, cut) if finished else None,
        scaled_score=scaled_score(attempt.ability_theta),
    )


def skills_of(adaptive: AdaptiveTest, responses: Sequence[Response], skills: Iterable[str]) -> list[SkillEstimate]:
    """Per-skill estimates from the scored responses (pretest items left out), each with the parameters of
    the pool entry it came from (an item the pool no longer holds: the starting ones of its difficulty)."""
    pool = adaptive.pool
    scored = []
    for response in responses:
        if response.pretest:
            continue
        snapshot = response.item_snapshot
        entry = pool.stored_entry(response.pool_entry, response.item_id, snapshot.get("family"))
        if entry is not None:
            parameters = pool.parameters_of(entry)
        else:
            parameters = parameters_for(int(snapshot.get("difficulty") or 3), family=bool(snapshot.get("family")))
        scored.append(ScoredResponse(response.skill, parameters, response.is_correct))
    return skill_estimates(skills, scored)
