"""Data access around the live path: opening attempts, finding a stored response, overdue attempts.

A live session's own writes (its responses, progress and result) are persistence.progress."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import ApplicationStatus, AttemptStatus
from domain.errors import AccessRefused
from domain.scheduling import attempt_deadline, check_can_start_attempt
from persistence.database import Database
from persistence.models import Attempt, CandidateApplication, Response, Test


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


async def open_many(database: Database, requests: Sequence[tuple[int, int]]) -> list[OpenedAttempt | BaseException]:
    """`start_or_resume` for many (test id, user id) at once, in one transaction: an ingress replica's
    starts that arrive together share one commit (on SQLite, one sync to disk) instead of queueing for the
    file's write lock one by one. A refused start is that start's outcome alone, and two starts of the same
    candidate in one batch land on the same attempt. Rows are locked in (test, user) order, so batches of
    two replicas never deadlock; if another writer's start collides with the batch anyway, nothing of it
    is stored and each start runs again on its own."""
    now = datetime.now(UTC)
    outcomes: dict[int, OpenedAttempt | BaseException] = {}  # by position in `requests`
    try:
        async with database.transaction() as session:
            for position in sorted(range(len(requests)), key=requests.__getitem__):
                try:
                    outcomes[position] = await _open(session, *requests[position], now)
                except AccessRefused as refused:  # raised before that start wrote anything
                    outcomes[position] = refused
    except (IntegrityError, OperationalError):  # a concurrent start won a row, or the two deadlocked
        return [await _outcome(start_or_resume(database, test_id, user_id, now)) for test_id, user_id in requests]
    return [outcomes[position] for position in range(len(requests))]


async def _outcome(opening: Awaitable[OpenedAttempt]) -> OpenedAttempt | BaseException:
    try:
        return await opening
    except Exception as error:
        return error


async def find_response(session: AsyncSession, attempt_id: int, question_id: str) -> Response | None:
    return await session.scalar(
        select(Response)
        .where(Response.attempt_id == attempt_id, Response.question_id == question_id)
        .execution_options(populate_existing=True)
    )


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
