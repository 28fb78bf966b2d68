"""A fleet of candidates taking assessments at once through faults: each reconnects and resumes on any
connection failure, and keeps what the server acknowledged so the tests can check nothing was lost.

Checks made while running (on every resume):
- the attempt, its deadline and the remaining time agree with the first start (the server's clock);
- `answered` equals the answers acknowledged, or one more when an answer was in flight at the fault;
- the pending question is the one in flight when that answer was not stored, never an earlier one.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import websockets
from live_client import LiveClient
from sqlalchemy import select

from persistence.database import Database
from persistence.models import Attempt, Response

# Whatever a browser would retry: a socket dropped, or a handshake refused or cut short (a server going down
# or coming up closes connections mid-handshake: websockets' InvalidMessage, found by test_live_crash.py).
CONNECTION_FAILURES = (websockets.ConnectionClosed, websockets.InvalidHandshake, OSError, TimeoutError)


@dataclass
class FleetCandidate:
    url: str
    pace_s: float = 0.2
    acknowledged: list[str] = field(default_factory=list)  # question ids with feedback received
    attempt_id: int | None = None
    deadline: str | None = None
    completed: dict[str, Any] | None = None
    reconnects: int = 0
    in_flight: str | None = None  # a question answered whose feedback never came
    # When set, the candidate waits here once `hold_after` answers are acknowledged, so that a fault is
    # injected while every candidate is mid-test however fast the server is.
    hold: asyncio.Event | None = None
    hold_after: int = 0

    async def run(self, rng: random.Random, give_up_after_s: float = 240.0) -> None:
        started_at = asyncio.get_running_loop().time()
        while self.completed is None:
            if asyncio.get_running_loop().time() - started_at > give_up_after_s:
                raise AssertionError(f"attempt {self.attempt_id} did not finish ({self.reconnects} reconnects)")
            try:
                await self.session(rng)
            except CONNECTION_FAILURES:
                self.reconnects += 1
                await asyncio.sleep(0.5 + rng.random())

    async def session(self, rng: random.Random) -> None:
        client = await LiveClient.connect(self.url)
        client.answered |= set(self.acknowledged)
        if self.in_flight:
            client.answered.add(self.in_flight)
        try:
            await asyncio.wait_for(client.expect("auth_success"), 30)
            await client.send("start_assessment")
            first = await asyncio.wait_for(client.recv(), 60)
            if first["type"] == "assessment_completed":
                self.completed = first
                return
            if first["type"] == "error":  # the deadline passed while we were away
                assert first["code"] in ("time_expired", "attempts_exhausted"), first
                if first["code"] == "time_expired":  # finalized now, the result follows
                    self.completed = await asyncio.wait_for(client.expect("assessment_completed"), 60)
                else:  # already finalized (by the sweep): the attempt is over and no other may start
                    self.completed = first
                return
            assert first["type"] == "assessment_started", first
            question = await asyncio.wait_for(client.expect("question"), 60)
            self.check_resume(first, question)
            while True:
                if self.hold is not None and len(self.acknowledged) >= self.hold_after:
                    await self.hold.wait()
                await asyncio.sleep(self.pace_s * (0.5 + rng.random()))
                self.in_flight = question["question_id"]
                frames = await asyncio.wait_for(client.answer(question, rng.choice("abcd")), 60)
                self.acknowledged.append(frames[0]["question_id"])
                self.in_flight = None
                if frames[2]["type"] == "assessment_completed":
                    self.completed = frames[2]
                    return
                question = frames[2]
        finally:
            await client.socket.close()

    def check_resume(self, started: dict[str, Any], question: dict[str, Any]) -> None:
        if self.attempt_id is None:
            self.attempt_id, self.deadline = started["attempt_id"], started["deadline"]
            return
        assert started["resumed"] is True and started["attempt_id"] == self.attempt_id, started
        assert started["deadline"] == self.deadline, (started, self.deadline)
        left = (datetime.fromisoformat(self.deadline) - datetime.now(UTC)).total_seconds()
        assert abs(started["remaining_s"] - left) < 5, (started["remaining_s"], left)
        stored_in_flight = started["answered"] == len(self.acknowledged) + 1 and self.in_flight is not None
        assert started["answered"] == len(self.acknowledged) or stored_in_flight, (started, self.acknowledged)
        if self.in_flight is not None and not stored_in_flight:
            assert question["question_id"] == self.in_flight, "resumed at another question than the one in flight"
        if stored_in_flight:
            assert self.in_flight is not None
            self.acknowledged.append(self.in_flight)  # stored before the fault: it counts as given
        self.in_flight = None


async def stored_answers(database_url: str, attempt_ids: list[int]) -> dict[int, list[str]]:
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            rows = await session.execute(
                select(Response.attempt_id, Response.question_id).where(Response.attempt_id.in_(attempt_ids))
            )
            found: dict[int, list[str]] = {attempt_id: [] for attempt_id in attempt_ids}
            for attempt_id, question_id in rows:
                found[attempt_id].append(question_id)
            return found
    finally:
        await database.dispose()


async def attempt_rows(database_url: str, attempt_ids: list[int], *columns: Any) -> dict[int, tuple[Any, ...]]:
    """These columns of each attempt, by attempt id."""
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            rows = await session.execute(select(Attempt.id, *columns).where(Attempt.id.in_(attempt_ids)))
            return {attempt_id: tuple(values) for attempt_id, *values in rows}
    finally:
        await database.dispose()


async def attempt_statuses(database_url: str, attempt_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    rows = await attempt_rows(database_url, attempt_ids, Attempt.status, Attempt.finish_reason)
    return {
        attempt_id: (str(status.value), reason.value if reason else None)
        for attempt_id, (status, reason) in rows.items()
    }


def check_nothing_lost(fleet: list[FleetCandidate], stored: dict[int, list[str]], max_questions: int) -> None:
    """Every acknowledged answer stored exactly once; every finished attempt has all its answers."""
    for candidate in fleet:
        assert candidate.attempt_id is not None
        rows = stored[candidate.attempt_id]
        assert len(rows) == len(set(rows)), f"attempt {candidate.attempt_id} has a question twice"
        assert set(candidate.acknowledged) <= set(rows), f"attempt {candidate.attempt_id} lost an answer"
        assert candidate.completed is not None
        if candidate.completed.get("reason") == "completed":
            assert len(rows) == max_questions
