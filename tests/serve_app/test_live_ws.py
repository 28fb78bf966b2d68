"""/ws/assessment over real sockets through the real Serve deployment, on both databases.

Every frame any test receives goes through `LiveClient.check_no_key_leak`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import websockets
from conftest import Server, execute_sql, move_deadline
from live_client import LiveClient, ws_url
from sqlalchemy import func, select

from domain.enums import Role
from persistence.models import Attempt, Response
from serve_app.tokens import TokenService

pytestmark = pytest.mark.websocket


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


def assessment_url(server, token: str, test_id: int | str) -> str:  # type: ignore[no-untyped-def]
    return ws_url(server.base_url, "/ws/assessment", token=token, test_id=test_id)


async def connected(server, live) -> LiveClient:  # type: ignore[no-untyped-def]
    client = await LiveClient.connect(assessment_url(server, live.candidate.token, live.test_id))
    hello = await client.expect("auth_success")
    assert hello["user_id"] == live.candidate.id and hello["test_id"] == live.test_id
    return client


async def execute(server: Server, statement: Any) -> Any:
    return await execute_sql(server.settings.database_url, statement)


def stored(server, statement) -> Any:  # type: ignore[no-untyped-def]
    return run(execute(server, statement))


def response_count(server, attempt_id: int) -> int:  # type: ignore[no-untyped-def]
    return int(stored(server, select(func.count(Response.id)).where(Response.attempt_id == attempt_id)))


def test_a_whole_assessment(server, admin, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        client = await connected(server, live)
        started, question = await client.start()
        assert (started["resumed"], started["answered"], started["max_questions"]) == (False, 0, 4)
        assert started["attempt_number"] == 1
        assert set(question) >= {"question_id", "text", "options", "skill", "deadline"}
        feedback = []
        for expected_answered in range(1, 5):
            frames = await client.answer(question, option="b")
            feedback.append(frames[0])
            assert frames[1]["answered"] == expected_answered
            assert frames[1]["completion_pct"] == expected_answered * 25
            question = frames[2]
        await client.send("submit_answer", question_id="q5-after-the-end", selected_option="a")
        assert (await client.expect("error"))["code"] == "already_completed"
        await client.close()
        return question, feedback

    completed, feedback = run(scenario())
    assert completed["type"] == "assessment_completed" and completed["reason"] == "completed"
    assert completed["score"] == sum(frame["correct"] for frame in feedback)
    assert completed["max_score"] == 4
    assert sum(skill["answered"] for skill in completed["skills"]) == 4
    assert set(completed["ability"]) == {"theta", "se"}

    report = admin.get(f"/api/attempts/{completed['attempt_id']}").json()
    assert report["status"] == "completed" and report["score"] == completed["score"]
    assert [r["question_id"] for r in report["responses"]] == [f["question_id"] for f in feedback]
    assert [r["correct_option"] for r in report["responses"]] == [f["correct_option"] for f in feedback]
    assert admin.get(f"/api/tests/{live.test_id}/candidates").json()[0]["status"] == "completed"


def test_sockets_are_accepted_without_compression(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    """The client offers permessage-deflate, as browsers do; the ingress declines it and the socket works."""
    live = make_live_test()

    async def scenario() -> None:
        client = await connected(server, live)
        try:
            assert "permessage-deflate" in client.socket.request.headers["Sec-WebSocket-Extensions"]
            assert "Sec-WebSocket-Extensions" not in client.socket.response.headers
            await client.send("start_assessment", request_id="uncompressed")
            await client.expect("assessment_started")
        finally:
            await client.socket.close()

    run(scenario())


def test_duplicate_and_conflicting_submits_store_nothing_new(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()

    async def scenario() -> int:
        client = await connected(server, live)
        started, question = await client.start()
        first, _, _ = await client.answer(question, option="c")
        await client.send("submit_answer", question_id=question["question_id"], selected_option="c", request_id="r1")
        again = await client.expect("answer_feedback")
        assert again["duplicate"] is True
        assert (again["correct"], again["correct_option"]) == (first["correct"], first["correct_option"])
        await client.send("submit_answer", question_id=question["question_id"], selected_option="d", request_id="r2")
        refused = await client.expect("error")
        assert (refused["code"], refused["request_id"]) == ("already_answered", "r2")
        await client.close()
        return int(started["attempt_id"])

    attempt_id = run(scenario())
    assert response_count(server, attempt_id) == 1


def test_answers_to_the_wrong_question_or_option_are_refused(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()

    async def scenario() -> None:
        client = await connected(server, live)
        await client.send("submit_answer", question_id="q1-whatever", selected_option="a")
        assert (await client.expect("error"))["code"] == "not_started"
        _, question = await client.start()
        await client.send("submit_answer", question_id="q9-not-this-one", selected_option="a")
        assert (await client.expect("error"))["code"] == "question_mismatch"
        await client.send("submit_answer", question_id=question["question_id"], selected_option="z")
        assert (await client.expect("error"))["code"] == "invalid_message"
        frames = await client.answer(question, option="a")  # still answerable after the refusals
        assert frames[1]["answered"] == 1
        await client.close()

    run(scenario())


BAD_FRAMES: list[tuple[str | bytes, str]] = [
    ("not json", "invalid_message"),
    ("[1, 2, 3]", "invalid_message"),
    ('{"no_type": 1}', "invalid_message"),
    ('{"type": 7}', "invalid_message"),
    ('{"type": "teleport"}', "unknown_type"),
    ('{"type": "submit_answer"}', "invalid_message"),
    ('{"type": "submit_answer", "question_id": 5, "selected_option": ["a"]}', "invalid_message"),
    (
        '{"type": "submit_answer", "question_id": "' + "q" * 500 + '", "selected_option": "a"}',
        "invalid_message",
    ),
    ("[" * 5000 + "]" * 5000, "invalid_message"),
    ('{"type": "chat_message", "content": "hi"}', "unknown_type"),
    (b"\x00\x01binary", "invalid_message"),
]


@pytest.mark.parametrize(("frame", "code"), BAD_FRAMES, ids=[str(i) for i in range(len(BAD_FRAMES))])
def test_malformed_frames_get_a_protocol_error(server, make_live_test, frame: str | bytes, code: str) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()

    async def scenario() -> None:
        client = await connected(server, live)
        await client.send_raw(frame)
        error = await client.expect("error")
        assert error["code"] == code and error["message"]
        await client.send("heartbeat")
        assert (await client.expect("heartbeat_ack"))["server_time"]  # the connection lives on
        await client.close()

    run(scenario())


def test_unknown_fields_are_ignored_and_request_ids_echoed(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()

    async def scenario() -> None:
        client = await connected(server, live)
        await client.send_raw(json.dumps({"type": "get_state", "extra": {"nested": True}}))
        state = await client.expect("assessment_state")
        assert (state["status"], state["attempt_id"]) == ("not_started", None)
        await client.send("submit_answer", question_id=1, selected_option="a", request_id="abc")
        assert (await client.expect("error"))["request_id"] == "abc"
        await client.close()

    run(scenario())


def test_oversized_frames_close_the_socket_with_1009(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()

    async def scenario() -> int:
        client = await connected(server, live)
        await client.send_raw(json.dumps({"type": "heartbeat", "pad": "x" * (70 * 1024)}))
        assert (await client.expect("error"))["code"] == "message_too_large"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await client.recv()
        return int(closed.value.rcvd.code)  # type: ignore[union-attr]

    assert run(scenario()) == 1009


async def closed_with(url: str, **options: Any) -> tuple[int, list[dict[str, Any]]]:
    """The close code the server ends this connection with, and the frames before it."""
    client = await LiveClient.connect(url, **options)
    frames = []
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            frames.append(await client.recv())
    return int(closed.value.rcvd.code), frames  # type: ignore[union-attr]


def close_code_of(url: str, **options: Any) -> tuple[int, list[dict[str, Any]]]:
    return run(closed_with(url, **options))  # type: ignore[no-any-return]


def test_bad_tokens_are_refused_before_any_data(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()
    for token in ("", "garbage", live.candidate.token[:-3] + "abc"):
        code, frames = close_code_of(assessment_url(server, token, live.test_id))
        assert (code, frames) == (4401, [])


def test_a_token_expiring_mid_connection_closes_it_with_4401_and_a_fresh_token_resumes(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()
    tokens = TokenService.from_settings(server.settings)
    # Long enough for a slow machine to connect, start and answer before it ends.
    short = tokens.issue(live.candidate.id, Role.CANDIDATE, lifetime=timedelta(seconds=8))

    async def scenario() -> None:
        client = await LiveClient.connect(assessment_url(server, short, live.test_id))
        await client.expect("auth_success")
        started, question = await client.start()
        _, _, question = await client.answer(question)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:  # heartbeats keep the socket busy: it is the token, not idleness, that ends it
                await client.send("heartbeat")
                await client.expect("heartbeat_ack")
                await asyncio.sleep(0.5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

        code, frames = await closed_with(assessment_url(server, short, live.test_id))
        assert (code, frames) == (4401, [])  # the expired token opens nothing any more
        fresh = tokens.issue(live.candidate.id, Role.CANDIDATE)
        again = await LiveClient.connect(assessment_url(server, fresh, live.test_id))
        await again.expect("auth_success")
        resumed, pending = await again.start()
        assert resumed["resumed"] is True and resumed["answered"] == 1
        assert resumed["attempt_id"] == started["attempt_id"] and pending["question_id"] == question["question_id"]
        await again.close()

    run(scenario())


def test_the_token_may_come_as_a_subprotocol(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()

    async def scenario() -> None:
        url = ws_url(server.base_url, "/ws/assessment", test_id=live.test_id)
        client = await LiveClient.connect(url, subprotocols=["bearer", live.candidate.token])
        assert client.socket.subprotocol == "bearer"
        assert (await client.expect("auth_success"))["user_id"] == live.candidate.id
        await client.close()

    run(scenario())


def test_foreign_origins_are_refused(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()
    url = assessment_url(server, live.candidate.token, live.test_id)
    code, frames = close_code_of(url, origin="https://evil.example")  # type: ignore[arg-type]
    assert (code, frames) == (4403, [])


def test_who_may_connect_to_which_test(server, admin_token: str, make_live_test, make_user) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()
    uninvited = make_live_test(invite=False)
    recruiter = make_user("recruiter")
    cases = [
        (assessment_url(server, live.candidate.token, uninvited.test_id), "not_eligible"),
        (assessment_url(server, live.candidate.token, 999999), "not_eligible"),
        (assessment_url(server, recruiter.token, live.test_id), "not_eligible"),
        (assessment_url(server, live.candidate.token, "abc"), "invalid_message"),
    ]
    for url, error_code in cases:
        code, frames = close_code_of(url)
        assert code == 4403
        assert [frame["code"] for frame in frames] == [error_code]


@pytest.mark.parametrize(
    ("test_fields", "code"),
    [
        ({"publish": False}, "not_eligible"),
        ({"starts_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, "window_closed"),
    ],
    ids=["draft", "not-yet-open"],
)
def test_start_is_refused_outside_the_rules(server, make_live_test, test_fields: dict[str, Any], code: str) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test(**test_fields)

    async def scenario() -> str:
        client = await connected(server, live)
        await client.send("start_assessment", request_id="s1")
        error = await client.expect("error")
        assert error["request_id"] == "s1"
        await client.close()
        return str(error["code"])

    assert run(scenario()) == code


def test_closed_window_and_exhausted_attempts(server, admin, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test(max_attempts=1, max_questions=1, min_questions=1)

    async def take_once() -> None:
        client = await connected(server, live)
        _, question = await client.start()
        frames = await client.answer(question)
        assert frames[2]["type"] == "assessment_completed"
        await client.send("start_assessment")
        assert (await client.expect("error"))["code"] == "attempts_exhausted"
        await client.close()

    run(take_once())
    admin.patch(f"/api/tests/{live.test_id}", json={"max_attempts": 2, "ends_at": datetime.now(UTC).isoformat()})

    async def after_window() -> str:
        client = await connected(server, live)
        await client.send("start_assessment")
        error = await client.expect("error")
        await client.close()
        return str(error["code"])

    assert run(after_window()) == "window_closed"


def test_reconnecting_resumes_the_same_question_with_less_time(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()

    async def scenario() -> None:
        first = await connected(server, live)
        started, question = await first.start()
        _, _, question = await first.answer(question)
        await first.close()

        second = await LiveClient.connect(assessment_url(server, live.candidate.token, live.test_id))
        hello = await second.expect("auth_success")
        assert hello["active_attempt_id"] == started["attempt_id"]
        resumed, again = await second.start()
        assert resumed["resumed"] is True and resumed["answered"] == 1
        assert resumed["attempt_id"] == started["attempt_id"]
        assert (again["question_id"], again["text"], again["options"]) == (
            question["question_id"],
            question["text"],
            question["options"],
        )
        assert resumed["remaining_s"] < started["remaining_s"]
        assert resumed["deadline"] == started["deadline"]
        frames = await second.answer(again)
        assert frames[1]["answered"] == 2
        await second.close()

    run(scenario())


def test_a_second_connection_takes_over_with_4409(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()

    async def scenario() -> int:
        first = await connected(server, live)
        _, question = await first.start()
        second = await connected(server, live)
        resumed, again = await second.start()
        assert resumed["resumed"] is True and again["question_id"] == question["question_id"]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await first.recv()
        frames = await second.answer(again)
        assert frames[1]["answered"] == 1
        await second.close()
        return int(closed.value.rcvd.code)  # type: ignore[union-attr]

    assert run(scenario()) == 4409


def test_answers_after_the_deadline_are_refused_and_the_attempt_finalized(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()

    async def scenario() -> int:
        client = await connected(server, live)
        started, question = await client.start()
        await move_deadline(server, started["attempt_id"], datetime.now(UTC) - timedelta(seconds=5))
        await client.send("submit_answer", question_id=question["question_id"], selected_option="a")
        assert (await client.expect("error"))["code"] == "time_expired"
        completed = await client.expect("assessment_completed")
        assert completed["reason"] == "time_expired" and completed["score"] == 0
        await client.close()
        return int(started["attempt_id"])

    attempt_id = run(scenario())
    assert response_count(server, attempt_id) == 0
    assert stored(server, select(Attempt.finish_reason).where(Attempt.id == attempt_id)) == "time_expired"


def test_extra_time_moves_the_deadline(server, admin, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test(extra_time_minutes=15, duration_minutes=10)

    async def scenario() -> dict[str, Any]:
        client = await connected(server, live)
        started, _ = await client.start()
        await client.close()
        return started

    started = run(scenario())
    span = datetime.fromisoformat(started["deadline"]) - datetime.fromisoformat(started["started_at"])
    assert span == timedelta(minutes=25)
    admin.post(
        f"/api/tests/{live.test_id}/candidates",
        json={"user_ids": [live.candidate.id], "extra_time_minutes": 20},
    )
    resumed = run(scenario())
    assert datetime.fromisoformat(resumed["deadline"]) - datetime.fromisoformat(started["started_at"]) == timedelta(
        minutes=30
    )


def test_rate_limit(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()

    async def scenario() -> list[str]:
        client = await connected(server, live)
        for _ in range(60):
            await client.send("heartbeat")
        kinds = [(await client.recv())["type"] for _ in range(60)]
        await client.close()
        return kinds

    kinds = run(scenario())
    assert kinds.count("error") > 0
    assert kinds.count("heartbeat_ack") >= server.settings.rate_limit_burst
