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


async def stored_rows(server, attempt_id: int) -> list[tuple[int, bool, float | None, float | None]]:  # type: ignore[no-untyped-def]
    """(index, pretest, theta_before, theta_after) of each stored response, in order."""
    database = Database(server.settings.database_url)
    try:
        async with database.transaction() as session:
            result = await session.execute(
                select(Response.index, Response.pretest, Response.theta_before, Response.theta_after)
                .where(Response.attempt_id == attempt_id)
                .order_by(Response.index)
            )
            return [tuple(row) for row in result.all()]  # type: ignore[misc]
    finally:
        await database.dispose()


def test_pretest_items_are_asked_like_the_others_and_scored_not_at_all(server, make_live_test, admin) -> None:  # type: ignore[no-untyped-def]
    """Two pretest items among six scored questions: the candidate sees eight questions that look alike and
    a length of eight; the two are stored (marked, for calibration) but move neither theta nor the score."""
    live = make_live_test(max_questions=6, min_questions=6, se_target=None, pretest_items=2)
    questions, completed = asyncio.run(take(server, live, right=True))
    assert len(questions) == 8 and {frozenset(question) for question in questions} == {frozenset(questions[0])}
    assert (completed["score"], completed["max_score"], completed["percentage"]) == (6, 6, 100.0)
    assert sum(skill["answered"] for skill in completed["skills"]) == 6
    rows = asyncio.run(stored_rows(server, completed["attempt_id"]))
    pretest = [row for row in rows if row[1]]
    assert len(rows) == 8 and len(pretest) == 2 and all(0 < row[0] < 8 for row in pretest)
    assert all(before == after for _, _, before, after in pretest)  # right answers, theta unchanged
    assert all(after > before for _, is_pretest, before, after in rows if not is_pretest)
    report = admin.get(f"/api/attempts/{completed['attempt_id']}").json()
    assert [response["pretest"] for response in report["responses"]].count(True) == 2
    assert (report["score"], report["answered"]) == (6, 8)


def test_the_classification_stop_ends_once_the_interval_clears_the_cut(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    """A cut far below a candidate who answers everything right: classified as a pass after the minimum
    length, although the SE target (off) and the maximum length would go on."""
    live = make_live_test(max_questions=20, min_questions=4, se_target=None, theta_cut=-2.5, classification_stop=True)
    questions, completed = asyncio.run(take(server, live, right=True))
    assert completed["reason"] == "precision_reached" and len(questions) < 20
    theta, se = completed["ability"]["theta"], completed["ability"]["se"]
    assert theta - 1.96 * se >= -2.5
    assert (completed["decision"], completed["theta_cut"]) == ("pass", -2.5)
    assert completed["scaled_score"] == max(100, min(900, round(500 + 100 * theta)))
    assert all(skill["se"] is not None for skill in completed["skills"])
