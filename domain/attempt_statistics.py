"""One attempt's breakdown for its report: results per skill and time per question. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from domain.scoring import percentage


@dataclass(frozen=True)
class SkillResult:
    skill: str
    answered: int
    correct: int
    percentage: float | None  # of the skill's answered questions; None when none was answered


@dataclass(frozen=True)
class TimeSummary:
    total_s: float
    mean_s: float | None
    per_question_s: tuple[float, ...]


def skill_results(test_skills: Iterable[str], answers: Iterable[tuple[str, bool]]) -> list[SkillResult]:
    """(skill, correct?) answers tallied per skill: the test's skills in their order (answered or not),
    then any other skill answered, in order of first answer."""
    tally: dict[str, list[int]] = {skill: [0, 0] for skill in test_skills}
    for skill, correct in answers:
        counts = tally.setdefault(skill, [0, 0])
        counts[0] += 1
        counts[1] += int(correct)
    return [
        SkillResult(skill, answered, correct, percentage(correct, answered) if answered else None)
        for skill, (answered, correct) in tally.items()
    ]


def time_summary(times_s: Sequence[float]) -> TimeSummary:
    total = round(sum(times_s), 3)
    return TimeSummary(total, round(total / len(times_s), 3) if times_s else None, tuple(times_s))
