"""/ws/monitor over real sockets (both databases): recruiters see attempts start, answers stored and
attempts complete (the sweep's deadline finalizations included), in order, for their test only when they
ask for one; candidates and bad tokens are refused, and the monitor accepts nothing but heartbeats."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import websockets
from conftest import start_then_pass_the_deadline
from live_client import LiveClient, ws_url

pytestmark = pytest.mark.websocket


async def monitor(server, token: str, **query: object) -> LiveClient:  # type: ignore[no-untyped-def]
    client = await LiveClient.connect(ws_url(server.base_url, "/ws/monitor", token=token, **query))
    hello = await client.expect("auth_success")
    assert hello["active_attempt_id"] is None
    return client


async def take(server, live) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    client = await LiveClient.connect(
        ws_url(server.base_url, "/ws/assessment", token=live.candidate.token, test_id=live.test_id)
    )
    await client.expect("auth_success")
    started, question = await client.start()
    feedback = []
    while question["type"] == "question":
        answered, _, question = await client.answer(question)
        feedback.append(answered)
    await client.send("submit_answer", question_id=feedback[0]["question_id"], selected_option="a")
    await client.recv()  # a duplicate or already_answered: no new event
    await client.close()
    return {"attempt_id": started["attempt_id"], "feedback": feedback, "completed": question}


async def events(client: LiveClient, count: int) -> list[dict[str, Any]]:
    return [await asyncio.wait_for(client.expect("monitor_event"), 60) for _ in range(count)]


def test_a_recruiter_sees_an_attempt_start_answer_and_complete(server, make_live_test, make_user) -> None:  # type: ignore[no-untyped-def]
    live, elsewhere = make_live_test(max_questions=3, min_questions=3), make_live_test(max_questions=2, min_questions=2)
    recruiter = make_user("recruiter")

    async def scenario() -> dict[str, Any]:
        mine = await monitor(server, recruiter.token, test_id=live.test_id)
        everything = await monitor(server, server.login(*admin_credentials(server)))
        taken = await take(server, live)
        other = await take(server, elsewhere)
        seen_mine = await events(mine, 5)
        seen_all = await events(everything, 5 + 4)
        await mine.send("heartbeat")
        await mine.expect("heartbeat_ack")
        await mine.send("start_assessment")
        refused = await mine.expect("error")
        await mine.close()
        await everything.close()
        return {"taken": taken, "other": other, "mine": seen_mine, "all": seen_all, "refused": refused}

    seen = asyncio.run(scenario())
    taken, mine = seen["taken"], seen["mine"]
    assert [event["event"] for event in mine] == [
        "attempt_started",
        "answered",
        "answered",
        "answered",
        "attempt_completed",
    ]
    for event in mine:
        assert (event["test_id"], event["attempt_id"], event["user_id"]) == (
            live.test_id,
            taken["attempt_id"],
            live.candidate.id,
        )
    sequences = [event["sequence"] for event in mine]
    assert sequences == sorted(sequences) and len(set(sequences)) == 5
    correct_so_far = 0
    for number, (event, feedback) in enumerate(zip(mine[1:4], taken["feedback"], strict=True), start=1):
        correct_so_far += feedback["correct"]
        assert (event["question_index"], event["correct"], event["answered"]) == (number, feedback["correct"], number)
    completed = mine[-1]
    assert (completed["reason"], completed["score"], completed["percentage"], completed["answered"]) == (
        "completed",
        taken["completed"]["score"],
        taken["completed"]["percentage"],
        3,
    )
    assert all(event["test_id"] == live.test_id for event in mine), "the monitor of one test sees only that test"
    assert {event["test_id"] for event in seen["all"]} == {live.test_id, elsewhere.test_id}
    assert seen["refused"]["code"] == "unknown_type"


def test_the_sweeps_deadline_finalization_reaches_the_monitor(server, make_live_test, make_user) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()
    recruiter = make_user("recruiter")

    async def scenario() -> list[dict[str, Any]]:
        watcher = await monitor(server, recruiter.token, test_id=live.test_id)
        await start_then_pass_the_deadline(server, live)
        seen = await events(watcher, 2)
        await watcher.close()
        return seen

    started, expired = asyncio.run(scenario())
    assert (started["event"], expired["event"], expired["reason"]) == (
        "attempt_started",
        "attempt_completed",
        "time_expired",
    )


def admin_credentials(server) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    return server.settings.admin_email, server.settings.admin_password.get_secret_value()


@pytest.mark.parametrize("query", [{"test_id": "abc"}, {"test_id": "0"}, {"test_id": "99999999"}])
def test_a_bad_test_id_is_refused(server, make_user, query: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    recruiter = make_user("recruiter")

    async def scenario() -> tuple[dict[str, Any], int | None]:
        client = await LiveClient.connect(ws_url(server.base_url, "/ws/monitor", token=recruiter.token, **query))
        refusal = await client.expect("error")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await client.recv()
        return refusal, closed.value.rcvd.code if closed.value.rcvd else None

    refusal, code = asyncio.run(scenario())
    assert refusal["code"] in ("invalid_message", "not_eligible") and code == 4403


def test_candidates_and_bad_tokens_are_refused(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()

    async def close_code(token: str) -> tuple[list[dict[str, Any]], int | None]:
        client = await LiveClient.connect(ws_url(server.base_url, "/ws/monitor", token=token))
        frames = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                frames.append(await client.recv())
        return frames, closed.value.rcvd.code if closed.value.rcvd else None

    frames, code = asyncio.run(close_code(live.candidate.token))
    assert [frame["code"] for frame in frames] == ["not_eligible"] and code == 4403
    frames, code = asyncio.run(close_code("not-a-token"))
    assert frames == [] and code == 4401
