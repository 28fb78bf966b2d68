"""Data access of the live path: opening attempts, recording responses once, finalizing results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import ApplicationStatus, AttemptStatus, FinishReason
from domain.errors import AccessRefused
from domain.scheduling import attempt_deadline, check_can_start_attempt
from persistence.database import Database
from persistence.models import Attempt, CandidateApplication, Response, Test

FINISHED_STATUS = {
    FinishReason.COMPLETED: AttemptStatus.COMPLETED,
    FinishReason.PRECISION_REACHED: AttemptStatus.COMPLETED,
    FinishReason.TIME_EXPIRED: AttemptStatus.EXPIRED,
    FinishReason.ABANDONED: AttemptStatus.ABANDONED,
}


@dataclass(frozen=True)
class OpenedAttempt:
    attempt: Attempt
    test: Test
    resumed: bool


async def find_application(session: AsyncSession, test_id: int, user_id: int) -> CandidateApplication | None:
    return await session.scalar(
        select(CandidateApplication).where(
            CandidateApplication.test_id == test_id, CandidateApplication.user_id == user_id
        )
    )


async def attempt_in_progress(session: AsyncSession, application_id: int) -> Attempt | None:
    return await session.scalar(
        select(Attempt).where(Attempt.application_id == application_id, Attempt.status == AttemptStatus.IN_PROGRESS)
    )


async def _open(session: AsyncSession, test_id: int, user_id: int, now: datetime) -> OpenedAttempt:
    test = await session.get(Test, test_id)
    application = await find_application(session, test_id, user_id)
    if test is None or application is None:
        raise AccessRefused("not_eligible", "you are not invited to this test")
    active = await attempt_in_progress(session, application.id)
    if active is not None:
        return OpenedAttempt(active, test, resumed=True)
    used = int(
        await session.scalar(select(func.count(Attempt.id)).where(Attempt.application_id == application.id)) or 0
    )
    check_can_start_attempt(
        status=test.status,
        starts_at=test.starts_at,
        ends_at=test.ends_at,
        is_eligible=True,
        attempts_used=used,
        max_attempts=test.max_attempts,
        now=now,
    )
    attempt = Attempt(
        application_id=application.id,
        test_id=test.id,
        user_id=user_id,
        number=used + 1,
        status=AttemptStatus.IN_PROGRESS,
        started_at=now,
        deadline=attempt_deadline(now, test.duration_minutes, application.extra_time_minutes),
        max_questions=test.max_questions,
        max_score=test.max_questions,
    )
    session.add(attempt)
    application.status = ApplicationStatus.IN_PROGRESS
    await session.flush()
    return OpenedAttempt(attempt, test, resumed=False)


async def start_or_resume(database: Database, test_id: int, user_id: int, now: datetime) -> OpenedAttempt:
    """The candidate's attempt in progress, or a new one if the rules allow it.

    Two connections racing to start both land on the same attempt: the partial unique index lets one
    insert win and the other, retried, finds it in progress.
    """
    for _ in range(2):
        try:
            async with database.transaction() as session:
                return await _open(session, test_id, user_id, now)
        except IntegrityError:
            continue
    raise RuntimeError("could not open an attempt after a concurrent start")


@dataclass(frozen=True)
class AttemptClock:
    """What a live session reads of its attempt on every message: the deadline (which extra time may move)
    and whose attempt it is."""

    deadline: datetime
    test_id: int
    user_id: int


async def clock_of(session: AsyncSession, attempt_id: int) -> AttemptClock | None:
    row = (
        await session.execute(
            select(Attempt.deadline, Attempt.test_id, Attempt.user_id).where(Attempt.id == attempt_id)
        )
    ).first()
    return AttemptClock(*row) if row is not None else None


async def get_attempt(session: AsyncSession, attempt_id: int) -> Attempt | None:
    return await session.get(Attempt, attempt_id)


async def record_response(session: AsyncSession, values: dict[str, Any]) -> Response:
    """Insert the response unless one exists for (attempt, question); return the stored one either way.

    A stored answer is never changed: a replay, a retry after a crash or a racing duplicate all read back
    the first committed row.
    """
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    await session.execute(
        insert(Response).values(**values).on_conflict_do_nothing(index_elements=["attempt_id", "question_id"])
    )
    stored = await find_response(session, values["attempt_id"], values["question_id"])
    assert stored is not None
    return stored


async def find_response(session: AsyncSession, attempt_id: int, question_id: str) -> Response | None:
    return await session.scalar(
        select(Response)
        .where(Response.attempt_id == attempt_id, Response.question_id == question_id)
        .execution_options(populate_existing=True)
    )


async def finalize_attempt(
    session: AsyncSession,
    attempt_id: int,
    *,
    reason: FinishReason,
    score: int,
    max_score: int,
    theta: float,
    se: float,
    now: datetime,
) -> Attempt:
    """Record the result once; finalizing an already finished attempt changes nothing."""
    attempt = await session.get(Attempt, attempt_id, with_for_update=True)
    assert attempt is not None
    if attempt.status is not AttemptStatus.IN_PROGRESS:
        return attempt
    attempt.status = FINISHED_STATUS[reason]
    attempt.finish_reason = reason
    attempt.finished_at = now
    attempt.score = score
    attempt.max_score = max_score
    attempt.ability_theta = theta
    attempt.ability_se = se
    application = await session.get(CandidateApplication, attempt.application_id)
    assert application is not None
    application.status = ApplicationStatus.COMPLETED
    await session.flush()
    return attempt


async def overdue_attempts(session: AsyncSession, now: datetime, limit: int = 500) -> Sequence[int]:
    """Attempts still in progress after their deadline: the registry's sweep finalizes them."""
    return (
        await session.scalars(
            select(Attempt.id)
            .where(Attempt.status == AttemptStatus.IN_PROGRESS, Attempt.deadline <= now)
            .order_by(Attempt.deadline)
            .limit(limit)
        )
    ).all()
