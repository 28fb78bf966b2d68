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
from persistence.admissions import of_pairs
from persistence.database import Database
from persistence.models import Attempt, CandidateApplication, Response, Test
from persistence.parameter_sets import active_set_ids


@dataclass(frozen=True)
class OpenedAttempt:
    attempt: Attempt
    test: Test
    resumed: bool


async def _open_together(
    session: AsyncSession, requests: Sequence[tuple[int, int]], now: datetime
) -> list[OpenedAttempt | AccessRefused]:
    """Open or resume each (test id, user id) in the session's transaction, reading what they need with four
    queries for all of them (their tests, invitations, attempts in progress and attempts used) rather than
    four each: on PostgreSQL each is a round trip, and a batch of 50 starts one by one held its
    transaction for about 250 ms. A start that may not begin is refused before it writes anything; the same
    candidate twice lands on one attempt, resumed the second time. The attempts are inserted and the
    invitations updated at the flush, in primary-key order (SQLAlchemy's unit of work), so two replicas'
    batches lock rows in the same order."""
    pairs = set(requests)
    test_ids = {test_id for test_id, _ in pairs}
    tests = {test.id: test for test in await session.scalars(select(Test).where(Test.id.in_(test_ids)))}
    applications = {
        (application.test_id, application.user_id): application
        for application in await session.scalars(select(CandidateApplication).where(of_pairs(pairs)))
        if (application.test_id, application.user_id) in pairs
    }
    application_ids = [application.id for application in applications.values()]
    active = {
        attempt.application_id: attempt
        for attempt in await session.scalars(
            select(Attempt).where(
                Attempt.application_id.in_(application_ids), Attempt.status == AttemptStatus.IN_PROGRESS
            )
        )
    }
    attempts_used = await session.execute(
        select(Attempt.application_id, func.count(Attempt.id))
        .where(Attempt.application_id.in_(application_ids))
        .group_by(Attempt.application_id)
    )
    used: dict[int, int] = {application_id: count for application_id, count in attempts_used}
    # New attempts are scored with their organization's active set (read only when one is to be created).
    creating = len(active) < len(applications)
    active_sets = await active_set_ids(session, {test.organization_id for test in tests.values()}) if creating else {}
    opened: dict[tuple[int, int], OpenedAttempt | AccessRefused] = {}
    for pair in sorted(pairs):
        test, application = tests.get(pair[0]), applications.get(pair)
        if test is None or application is None:
            opened[pair] = AccessRefused("not_eligible", "you are not invited to this test")
        elif application.id in active:
            opened[pair] = OpenedAttempt(active[application.id], test, resumed=True)
        else:
            try:
                opened[pair] = _new_attempt(
                    session, test, application, used.get(application.id, 0), now, active_sets.get(test.organization_id)
                )
            except AccessRefused as refused:
                opened[pair] = refused
    await session.flush()
    outcomes: list[OpenedAttempt | AccessRefused] = []
    seen: set[tuple[int, int]] = set()
    for pair in requests:
        outcome = opened[pair]
        if pair in seen and isinstance(outcome, OpenedAttempt):
            outcome = OpenedAttempt(outcome.attempt, outcome.test, resumed=True)
        seen.add(pair)
        outcomes.append(outcome)
    return outcomes


def _new_attempt(
    session: AsyncSession,
    test: Test,
    application: CandidateApplication,
    attempts_used: int,
    now: datetime,
    parameter_set_id: int | None,
) -> OpenedAttempt:
    check_can_start_attempt(
        status=test.status,
        starts_at=test.starts_at,
        ends_at=test.ends_at,
        is_eligible=True,
        attempts_used=attempts_used,
        max_attempts=test.max_attempts,
        now=now,
    )
    attempt = Attempt(
        application_id=application.id,
        test_id=test.id,
        user_id=application.user_id,
        number=attempts_used + 1,
        status=AttemptStatus.IN_PROGRESS,
        started_at=now,
        deadline=attempt_deadline(now, test.duration_minutes, application.extra_time_minutes),
        max_questions=test.max_questions,
        max_score=test.max_questions,
        parameter_set_id=parameter_set_id,  # the active set now: kept for the whole attempt
    )
    session.add(attempt)
    application.status = ApplicationStatus.IN_PROGRESS
    return OpenedAttempt(attempt, test, resumed=False)


async def start_or_resume(database: Database, test_id: int, user_id: int, now: datetime) -> OpenedAttempt:
    """The candidate's attempt in progress, or a new one if the rules allow it.

    Two connections racing to start both land on the same attempt: the partial unique index lets one
    insert win and the other, retried, finds it in progress.
    """
    for _ in range(2):
        try:
            async with database.transaction() as session:
                (outcome,) = await _open_together(session, [(test_id, user_id)], now)
        except IntegrityError:
            continue
        if isinstance(outcome, AccessRefused):
            raise outcome
        return outcome
    raise RuntimeError("could not open an attempt after a concurrent start")


async def open_many(database: Database, requests: Sequence[tuple[int, int]]) -> list[OpenedAttempt | BaseException]:
    """`start_or_resume` for many (test id, user id) at once, in one transaction: an ingress replica's
    starts that arrive together share one commit (on SQLite, one sync to disk) and four queries, instead of
    queueing for the write lock one by one. A refused start is that start's outcome alone. If another
    writer's start collides with the batch, nothing of it is stored and each start runs again on its own."""
    now = datetime.now(UTC)
    try:
        async with database.transaction() as session:
            outcomes: list[OpenedAttempt | BaseException] = list(await _open_together(session, requests, now))
    except (IntegrityError, OperationalError):  # a concurrent start won a row, or the two deadlocked
        return [await _outcome(start_or_resume(database, test_id, user_id, now)) for test_id, user_id in requests]
    return outcomes


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
