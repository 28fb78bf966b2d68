"""Who the sockets connecting together are: their users, and on /ws/assessment their invitations and the
attempts they have in progress, read for many sockets at once (the ingress batches them: actors.batches).

Candidates arrive in bursts (a cohort starts at the hour). One socket at a time, with a transaction each
for its user and for its invitation, the 5,000 arrivals of `bench/soak.py` in 30 s queued thousands of
sockets for an ingress replica's 15 pooled connections, and 745 of them waited past the pool's 30 s
timeout and were dropped before `auth_success`. Read together, the sockets that arrive while one lookup
runs share the next one: one pooled connection and one or two queries for all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select

from domain.enums import AttemptStatus
from persistence.database import Database
from persistence.models import Attempt, CandidateApplication, User


@dataclass(frozen=True)
class Invitation:
    """A user's invitation to a test, and the attempt in progress on it, if any."""

    application_id: int
    active_attempt_id: int | None


def of_pairs(pairs: set[tuple[int, int]]) -> ColumnElement[bool]:
    """Invitations whose test and user are among these pairs' (a superset: callers keep the exact pairs)."""
    return CandidateApplication.test_id.in_({test_id for test_id, _ in pairs}) & CandidateApplication.user_id.in_(
        {user_id for _, user_id in pairs}
    )


async def users_many(database: Database, user_ids: Sequence[int]) -> list[User | None]:
    """The users with these ids (None where there is none), in order."""
    async with database.transaction() as session:
        found = {user.id: user for user in await session.scalars(select(User).where(User.id.in_(set(user_ids))))}
    return [found.get(user_id) for user_id in user_ids]


async def invitations_many(database: Database, pairs: Sequence[tuple[int, int]]) -> list[Invitation | None]:
    """For each (test id, user id): the invitation and its attempt in progress, or None if not invited."""
    wanted = set(pairs)
    statement = (
        select(CandidateApplication.test_id, CandidateApplication.user_id, CandidateApplication.id, Attempt.id)
        .outerjoin(
            Attempt,
            (Attempt.application_id == CandidateApplication.id) & (Attempt.status == AttemptStatus.IN_PROGRESS),
        )
        .where(of_pairs(wanted))
    )
    async with database.transaction() as session:
        rows = (await session.execute(statement)).all()
    found = {
        (test_id, user_id): Invitation(application_id, attempt_id)
        for test_id, user_id, application_id, attempt_id in rows
        if (test_id, user_id) in wanted
    }
    return [found.get(pair) for pair in pairs]
