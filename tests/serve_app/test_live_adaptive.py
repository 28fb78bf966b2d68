"""The adaptive engine as candidates meet it over /ws/assessment: items follow the answers, the SE target
ends the test with `precision_reached`, and every response stores the estimate before and after it."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from live_client import LiveClient, ws_url
from sqlalchemy import select

from persistence.database import Database
from persistence.models import Response
from questions.source import QuestionSource

pytestmark = pytest.mark.websocket
BANK = {item.stem: item for item in QuestionSource().items}


async def take(server, live, right: bool) -> tuple[list[dict], dict]:  # type: ignore[no-untyped-def,type-arg]
    """Answer every question right (or wrong), looking the key up in the bank by its stem."""
    url = ws_url(server.base_url, "/ws/assessment", token=live.candidate.token, test_id=live.test_id)
    client = await LiveClient.connect(url)
    await client.expect("auth_success")
    _, frame = await client.start()
    questions = []
    while frame["type"] == "question":
        questions.append(frame)
        key = BANK[frame["text"]].key
        option = key if right else next(o["id"] for o in frame["options"] if o["id"] != key)
        frame = (await client.answer(frame, option))[2]
    await client.close()
    return questions, frame


def test_the_se_target_ends_the_test_with_precision_reached(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test(max_questions=12, min_questions=3, se_target=0.95)
    questions, completed = asyncio.run(take(server, live, right=True))
    assert completed["reason"] == "precision_reached"
    assert len(questions) == 3  # the minimum length, then the SE (posterior SD) is already under 0.95
    assert completed["max_score"] == 3 and completed["score"] == 3 and completed["percentage"] == 100
    assert completed["ability"]["se"] <= 0.95 and completed["ability"]["theta"] > 0.5

    rows = asyncio.run(stored_estimates(server, completed["attempt_id"]))
    assert len(rows) == 3
    assert rows[0][0] == 0.0  # before any answer: the prior mean
    for (before, after, _), (next_before, _, _) in itertools.pairwise(rows):
        assert after > before and next_before == after  # each answer's "after" is the next one's "before"
    assert rows[-1][1] == completed["ability"]["theta"] and rows[-1][2] == completed["ability"]["se"]


def test_an_se_target_of_zero_runs_to_the_maximum_length(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    """What stopped at 3 questions above runs to its maximum when the SE target is 0 (no precision stop)."""
    live = make_live_test(max_questions=5, min_questions=3, se_target=0)
    questions, completed = asyncio.run(take(server, live, right=True))
    assert completed["reason"] == "completed" and len(questions) == 5


async def stored_estimates(server, attempt_id: int) -> list[tuple[float, float, float]]:  # type: ignore[no-untyped-def]
    database = Database(server.settings.database_url)
    try:
        async with database.transaction() as session:
            result = await session.execute(
                select(Response.theta_before, Response.theta_after, Response.se_after)
                .where(Response.attempt_id == attempt_id)
                .order_by(Response.index)
            )
            return [tuple(row) for row in result.all()]  # type: ignore[misc]
    finally:
        await database.dispose()


def test_items_follow_the_answers_and_estimates_are_stored(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    strong, weak = make_live_test(max_questions=8, min_questions=8), make_live_test(max_questions=8, min_questions=8)
    strong_questions, strong_result = asyncio.run(take(server, strong, right=True))
    weak_questions, weak_result = asyncio.run(take(server, weak, right=False))
    assert strong_result["reason"] == weak_result["reason"] == "completed"
    assert strong_questions[0]["text"] == weak_questions[0]["text"]  # the same start for everyone
    strong_difficulty = [BANK[q["text"]].difficulty for q in strong_questions]
    weak_difficulty = [BANK[q["text"]].difficulty for q in weak_questions]
    assert sum(strong_difficulty[2:]) > sum(weak_difficulty[2:])  # harder items after right answers
    assert strong_result["ability"]["theta"] > 1.0 > -1.0 > weak_result["ability"]["theta"]
