"""Read models over attempts and responses: test results, one attempt's report, item statistics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

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


@dataclass
class ItemTally:
    item_id: str
    skill: str
    stem: str
    shown: int = 0
    correct: int = 0
    option_counts: Counter[str] = field(default_factory=Counter)

    @property
    def facility(self) -> float:
        return self.correct / self.shown if self.shown else 0.0


async def item_tallies(session: AsyncSession, test_id: int) -> tuple[int, int, Sequence[ItemTally]]:
    """(attempts, responses, per-item tallies) over every answered question of the test."""
    attempts = int(await session.scalar(select(func.count(Attempt.id)).where(Attempt.test_id == test_id)) or 0)
    responses = (
        await session.scalars(
            select(Response).join(Attempt, Attempt.id == Response.attempt_id).where(Attempt.test_id == test_id)
        )
    ).all()
    tallies: dict[str, ItemTally] = {}
    for response in responses:
        tally = tallies.get(response.item_id)
        if tally is None:
            tally = tallies[response.item_id] = ItemTally(
                response.item_id, response.skill, str(response.item_snapshot.get("stem", ""))
            )
        tally.shown += 1
        tally.correct += int(response.is_correct)
        tally.option_counts[response.selected_option] += 1
    ordered = sorted(tallies.values(), key=lambda tally: (tally.skill, tally.item_id))
    return attempts, len(responses), ordered


async def finished_attempts_of_candidate(session: AsyncSession, user_id: int) -> list[tuple[Attempt, Test]]:
    """The candidate's finished attempts with their tests, oldest first (so the last per test wins)."""
    rows = await session.execute(
        select(Attempt, Test)
        .join(Test, Test.id == Attempt.test_id)
        .where(Attempt.user_id == user_id, Attempt.finished_at.is_not(None))
        .order_by(Attempt.finished_at, Attempt.id)
    )
    return [(attempt, test) for attempt, test in rows.all()]
