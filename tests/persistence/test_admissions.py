"""Sockets admitted in batches (`admissions.users_many` and `invitations_many`, what an ingress replica does
with the sockets that connect together): one query for the batch, and each socket gets what it would have
got alone."""

from __future__ import annotations

import asyncio

from conftest import Server, invite_cohort, newest_user_ids

from persistence import admissions, attempts
from persistence.database import Database


def test_a_batch_finds_each_sockets_user_invitation_and_attempt(server: Server) -> None:
    test_id, _ = invite_cohort(server, 4, max_questions=4, min_questions=2)
    other_test_id, _ = invite_cohort(server, 1, max_questions=4, min_questions=2)

    async def scenario() -> None:
        database = Database(server.settings.database_url)
        try:
            outsider = (await newest_user_ids(database, 1))[0]  # invited to the other test only
            invited = [user_id for user_id in await newest_user_ids(database, 5) if user_id != outsider]
            started = (await attempts.open_many(database, [(test_id, invited[1])]))[0]
            assert isinstance(started, attempts.OpenedAttempt)

            users = await admissions.users_many(database, [invited[0], 2**31 - 1, invited[0], outsider])
            assert [user.id if user else None for user in users] == [invited[0], None, invited[0], outsider]

            pairs = [(test_id, user_id) for user_id in invited]
            pairs += [(test_id, outsider), (other_test_id, outsider), (other_test_id, invited[0])]
            found = await admissions.invitations_many(database, pairs)
            assert all(invitation is not None for invitation in found[:4]), found
            assert [invitation.active_attempt_id for invitation in found[:4]] == [  # type: ignore[union-attr]
                None,
                started.attempt.id,
                None,
                None,
            ]
            assert len({invitation.application_id for invitation in found[:4]}) == 4  # type: ignore[union-attr]
            assert found[4] is None  # invited elsewhere, not here
            assert found[5] is not None and found[5].active_attempt_id is None
            assert found[6] is None
        finally:
            await database.dispose()

    asyncio.run(scenario())
