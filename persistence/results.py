"""Read models over attempts and responses: test results, one attempt's report, every response of a test."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from domain.errors import NotFound
from persistence.models import Attempt, Response, Test, User


@dataclass(frozen=True)
class AttemptRow:
    attempt: Attempt
    user: User
    answered: int


async def attempts_of_test(session: AsyncSession, test_id: int) -> list[AttemptRow]:
    answered = (
        select(func.count(Response.id)).where(Response.attempt_id == Attempt.id).correlate(Attempt).scalar_subquery()
    )
    rows = await session.execute(
        select(Attempt, User, answered)
        .join(User, User.id == Attempt.user_id)
        .where(Attempt.test_id == test_id)
        .order_by(Attempt.started_at, Attempt.id)
    )
    return [AttemptRow(attempt, user, int(count)) for attempt, user, count in rows.all()]


async def attempt_with_responses(session: AsyncSession, attempt_id: int) -> tuple[Attempt, User, Test]:
    row = (
        await session.execute(
            select(Attempt, User, Test)
            .join(User, User.id == Attempt.user_id)
            .join(Test, Test.id == Attempt.test_id)
            .where(Attempt.id == attempt_id)
            .options(selectinload(Attempt.responses))
        )
    ).first()
    if row is None:
        raise NotFound(f"attempt {attempt_id} not found")
    attempt, user, test = row
    return attempt, user, test


@dataclass(frozen=True)
class ResponseRow:
    response: Response
    attempt: Attempt
    user: User


async def responses_of_test(session: AsyncSession, test_id: int) -> list[ResponseRow]:
    """Every response of the test with its attempt and candidate, attempt by attempt in question order:
    what the item analysis and the CSV export are computed from."""
    rows = await session.execute(
        select(Response, Attempt, User)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(User, User.id == Attempt.user_id)
        .where(Attempt.test_id == test_id)
        .order_by(Attempt.started_at, Attempt.id, Response.index, Response.id)
    )
    return [ResponseRow(response, attempt, user) for response, attempt, user in rows.all()]


async def finished_attempts_of_candidate(session: AsyncSession, user_id: int) -> list[tuple[Attempt, Test]]:
    """The candidate's finished attempts with their tests, oldest first (so the last per test wins)."""
    rows = await session.execute(
        select(Attempt, Test)
        .join(Test, Test.id == Attempt.test_id)
        .where(Attempt.user_id == user_id, Attempt.finished_at.is_not(None))
        .order_by(Attempt.finished_at, Attempt.id)
    )
    return [(attempt, test) for attempt, test in rows.all()]
