"""The registry's connection directory: replicas' tables travel only while someone reads them, a read waits
for the tables it asked for, and what it counts stays bounded."""

from __future__ import annotations

import asyncio

from actors import connection_directory
from actors.connection_directory import ConnectionDirectory


def row(user_id: int) -> dict[str, object]:
    return {"endpoint": "assessment", "user_id": user_id, "test_id": 1, "connection_id": f"c{user_id}"}


def test_tables_are_wanted_only_after_a_read_and_a_read_waits_for_them() -> None:
    async def scenario() -> None:
        directory = ConnectionDirectory()
        assert directory.report("replica-a", None) is False  # nobody reads: a check-in without a table
        assert directory.report("replica-b", None) is False

        async def replica_b_answers_the_ask() -> None:
            while not directory.wanted:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            directory.report("replica-b", [row(2)])

        answering = asyncio.create_task(replica_b_answers_the_ask())
        directory.report("replica-a", [row(1)])  # the reading replica sends its own first
        rows = await directory.connections()
        await answering
        assert sorted(r["user_id"] for r in rows) == [1, 2]
        assert directory.report("replica-a", None) is True  # read lately: tables are wanted
        directory.report("replica-a", [])  # nothing open (or stopped): dropped
        assert [r["user_id"] for r in await directory.connections()] == [2]

    asyncio.run(scenario())


def test_a_read_gives_up_on_a_replica_that_never_sends_its_table(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(connection_directory, "READ_PATIENCE_S", 0.2)

    async def scenario() -> None:
        directory = ConnectionDirectory()
        directory.report("silent", None)
        directory.report("reader", [row(1)])
        assert [r["user_id"] for r in await directory.connections()] == [1]

    asyncio.run(scenario())


def test_reconnects_are_counted_per_user_and_the_count_is_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(connection_directory, "OPENED_KEYS", 3)

    async def scenario() -> None:
        directory = ConnectionDirectory()
        for user_id in (1, 1, 1, 2, 3, 4):
            directory.opened("assessment", user_id, 1)
        assert len(directory._opened) == 3  # user 1's key, the oldest, went first
        directory.report("reader", [row(1), row(4)])
        reconnects = {r["user_id"]: r["reconnects"] for r in await directory.connections()}
        assert reconnects == {1: 0, 4: 0}
        directory.opened("assessment", 4, 1)
        assert {r["user_id"]: r["reconnects"] for r in await directory.connections()}[4] == 1

    asyncio.run(scenario())
