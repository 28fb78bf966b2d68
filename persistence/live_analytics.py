"""A test's figures as they stand now, read from the database: attempts by status, scores so far and the
time candidates spend per question. What the live analytics route serves; cheap enough to poll."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import AttemptStatus
from domain.scoring import percentage
from persistence.models import Attempt, Response


@dataclass(frozen=True)
class QuestionTime:
    index: int
    answered: int
    mean_s: float
    median_s: float


@dataclass(frozen=True)
class LiveFigures:
    in_progress: int
    finished: int
    by_status: dict[str, int]
    answers: int
    answers_in_progress: int
    mean_percentage_finished: float | None  # over finished attempts
    mean_percentage_so_far: float | None  # in-progress attempts: correct / answered so far
    mean_question_s: float | None
    median_question_s: float | None
    per_question: list[QuestionTime]
    last_answer_at: datetime | None


async def live_figures(session: AsyncSession, test_id: int) -> LiveFigures:
    attempts = (
        await session.execute(
            select(Attempt.id, Attempt.status, Attempt.score, Attempt.max_score, Attempt.finished_at).where(
                Attempt.test_id == test_id
            )
        )
    ).all()
    responses = (
        await session.execute(
            select(
                Response.attempt_id,
                Response.index.label("question_index"),  # `index` is a tuple method on a row
                Response.is_correct,
                Response.time_taken_s,
                Response.answered_at,
            )
            .join(Attempt, Attempt.id == Response.attempt_id)
            .where(Attempt.test_id == test_id)
        )
    ).all()
    by_status = dict(Counter(attempt.status.value for attempt in attempts))
    finished = [attempt for attempt in attempts if attempt.finished_at is not None]
    live_ids = {attempt.id for attempt in attempts if attempt.status is AttemptStatus.IN_PROGRESS}
    live_answers = [row for row in responses if row.attempt_id in live_ids]
    so_far: dict[int, list[int]] = {}
    for row in live_answers:
        tally = so_far.setdefault(row.attempt_id, [0, 0])
        tally[0] += int(row.is_correct)
        tally[1] += 1
    times = [row.time_taken_s for row in responses]
    per_index: dict[int, list[float]] = {}
    for row in responses:
        per_index.setdefault(row.question_index, []).append(row.time_taken_s)
    return LiveFigures(
        in_progress=len(live_ids),
        finished=len(finished),
        by_status=by_status,
        answers=len(responses),
        answers_in_progress=len(live_answers),
        mean_percentage_finished=_mean([percentage(a.score, a.max_score) for a in finished]),
        mean_percentage_so_far=_mean([percentage(correct, answered) for correct, answered in so_far.values()]),
        mean_question_s=_mean(times),
        median_question_s=round(statistics.median(times), 3) if times else None,
        per_question=[
            QuestionTime(index, len(seconds), round(statistics.fmean(seconds), 3), round(statistics.median(seconds), 3))
            for index, seconds in sorted(per_index.items())
        ],
        last_answer_at=max((row.answered_at for row in responses), default=None),
    )


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 3) if values else None
