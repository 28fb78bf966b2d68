"""Attempts opened in batches (`attempts.open_many`, what an ingress replica does with the starts that
arrive together): one transaction for the batch, and each start gets what it would have got alone."""

from __future__ import annotations

import asyncio
import secrets

from conftest import Server, invite_cohort, newest_user_ids
from sqlalchemy import func, select

from domain.errors import AccessRefused
from persistence import attempts
from persistence.database import Database
from persistence.models import Attempt


async def attempts_of(database: Database, test_id: int) -> dict[int, int]:
    """Attempts per user of the test."""
    async with database.transaction() as session:
        rows = await session.execute(
            select(Attempt.user_id, func.count(Attempt.id)).where(Attempt.test_id == test_id).group_by(Attempt.user_id)
        )
        return {user_id: count for user_id, count in rows}


def test_a_batch_opens_each_start_as_alone_would(server: Server) -> None:
    test_id, _ = invite_cohort(server, 8, max_questions=4, min_questions=2)

    async def scenario() -> None:
        database = Database(server.settings.database_url)
        try:
            invited = await newest_user_ids(database, 8)
            stranger = invited[0]  # invited to this test, asked about another test id: not eligible there
            requests = [(test_id, user_id) for user_id in invited]
            requests += [(test_id, invited[3]), (test_id + 10**6, stranger)]
            outcomes = await attempts.open_many(database, requests)
            opened = outcomes[:8]
            assert all(isinstance(outcome, attempts.OpenedAttempt) for outcome in opened), outcomes
            ids = [outcome.attempt.id for outcome in opened]  # type: ignore[union-attr]
            assert len(set(ids)) == 8 and not any(outcome.resumed for outcome in opened)  # type: ignore[union-attr]
            twice = outcomes[8]  # the same candidate twice in one batch: one attempt, resumed the second time
            assert isinstance(twice, attempts.OpenedAttempt) and twice.resumed and twice.attempt.id == ids[3]
            refused = outcomes[9]
            assert isinstance(refused, AccessRefused) and refused.code == "not_eligible"
            assert await attempts_of(database, test_id) == dict.fromkeys(invited, 1)
            again = await attempts.open_many(database, [(test_id, user_id) for user_id in invited])
            assert [outcome.attempt.id for outcome in again] == ids  # type: ignore[union-attr]
            assert all(outcome.resumed for outcome in again)  # type: ignore[union-attr]
        finally:
            await database.dispose()

    asyncio.run(scenario())


def test_batches_racing_from_two_replicas_land_on_one_attempt_per_candidate(server: Server) -> None:
    test_id, _ = invite_cohort(server, 12, max_questions=4, min_questions=2)

    async def scenario() -> None:
        replicas = [Database(server.settings.database_url) for _ in range(2)]
        try:
            invited = await newest_user_ids(replicas[0], 12)
            secrets.SystemRandom().shuffle(invited)
            requests = [(test_id, user_id) for user_id in invited]
            first, second = await asyncio.gather(
                attempts.open_many(replicas[0], requests), attempts.open_many(replicas[1], requests[::-1])
            )
            for one, other in zip(first, second[::-1], strict=True):
                assert isinstance(one, attempts.OpenedAttempt), one
                assert isinstance(other, attempts.OpenedAttempt), other
                assert one.attempt.id == other.attempt.id
            assert await attempts_of(replicas[0], test_id) == dict.fromkeys(invited, 1)
        finally:
            for database in replicas:
                await database.dispose()

    asyncio.run(scenario())
