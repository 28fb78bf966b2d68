"""Live analytics over real sockets (both databases): the cluster's open connections with their age,
reconnects, message rate and idle time; a test's figures as they stand, checked against values worked out
by hand from what the candidates did; and who may see them."""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

import httpx
import pytest
from conftest import execute_sql
from live_client import LiveClient, ws_url
from sqlalchemy import update

from persistence.models import Response

pytestmark = pytest.mark.websocket


async def assessment_socket(server, token: str, test_id: int) -> LiveClient:  # type: ignore[no-untyped-def]
    client = await LiveClient.connect(ws_url(server.base_url, "/ws/assessment", token=token, test_id=test_id))
    await client.expect("auth_success")
    return client


async def get(server, token: str, path: str, **params: Any) -> httpx.Response:  # type: ignore[no-untyped-def]
    def call() -> httpx.Response:
        with server.client(token) as client:
            return client.get(path, params=params)

    return await asyncio.to_thread(call)


def test_open_connections_with_their_age_reconnects_rate_and_idle_time(  # type: ignore[no-untyped-def]
    server, admin_token, make_live_test, make_user
) -> None:
    live = make_live_test()
    recruiter = make_user("recruiter")

    async def scenario() -> dict[str, Any]:
        first = await assessment_socket(server, live.candidate.token, live.test_id)
        await first.close()
        current = await assessment_socket(server, live.candidate.token, live.test_id)  # a reconnect
        started, _ = await current.start()
        for _ in range(3):
            await current.send("heartbeat")
            await current.expect("heartbeat_ack")
        monitor = await LiveClient.connect(ws_url(server.base_url, "/ws/monitor", token=recruiter.token))
        await monitor.expect("auth_success")
        await asyncio.sleep(1.2)  # some idle time
        of_test = (await get(server, admin_token, "/api/analytics/connections", test_id=live.test_id)).json()
        monitors = (await get(server, admin_token, "/api/analytics/connections", endpoint="monitor")).json()
        await current.close()
        await monitor.close()
        await asyncio.sleep(0.3)
        after = (await get(server, admin_token, "/api/analytics/connections", test_id=live.test_id)).json()
        return {"started": started, "of_test": of_test, "monitors": monitors, "after": after}

    seen = asyncio.run(scenario())
    (row,) = seen["of_test"]  # the closed first socket is not listed
    assert (row["endpoint"], row["user_id"], row["role"], row["test_id"], row["attempt_id"]) == (
        "assessment",
        live.candidate.id,
        "candidate",
        live.test_id,
        seen["started"]["attempt_id"],
    )
    assert row["messages"] == 4  # start_assessment and three heartbeats
    assert row["reconnects"] == 1
    assert row["idle_s"] >= 1.0 and row["age_s"] >= row["idle_s"]
    # four messages in a connection younger than a minute: 4 per minute of its life (at least 1 s counted)
    assert row["messages_per_minute"] == pytest.approx(4 * 60 / max(row["age_s"], 1.0), rel=0.05)
    assert [(m["user_id"], m["role"], m["test_id"]) for m in seen["monitors"]] == [(recruiter.id, "recruiter", None)]
    assert seen["after"] == []


def test_only_admins_see_connections(server, make_live_test, make_user) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()
    recruiter = make_user("recruiter")
    for token, status in ((None, 401), ("not-a-token", 401), (live.candidate.token, 403), (recruiter.token, 403)):
        with server.client(token) as client:
            assert client.get("/api/analytics/connections").status_code == status, token
    admin = server.login(server.settings.admin_email, server.settings.admin_password.get_secret_value())
    with server.client(admin) as client:
        for params in ({"test_id": "abc"}, {"test_id": "0"}, {"test_id": str(2**40)}, {"endpoint": "bogus"}):
            response = client.get("/api/analytics/connections", params=params)
            assert response.status_code == 422, params
            assert "detail" in response.json()


def test_a_tests_live_figures_match_what_the_candidates_did(  # type: ignore[no-untyped-def]
    server, admin_token, make_live_test, make_user
) -> None:
    live = make_live_test(max_questions=2, min_questions=2)
    others = [make_user("candidate") for _ in range(2)]
    with server.client(admin_token) as client:
        invited = client.post(f"/api/tests/{live.test_id}/candidates", json={"user_ids": [o.id for o in others]})
        assert invited.status_code == 200, invited.text
    recruiter = make_user("recruiter")
    # Time per question is set by hand: A took 10 s and 20 s, B 40 s on the one question it answered.
    seconds = {("a", 0): 10.0, ("a", 1): 20.0, ("b", 0): 40.0}

    async def scenario() -> dict[str, Any]:
        a = await assessment_socket(server, live.candidate.token, live.test_id)
        b = await assessment_socket(server, others[0].token, live.test_id)
        c = await assessment_socket(server, others[1].token, live.test_id)
        _, question = await a.start()
        a_feedback = []
        for position in range(2):
            feedback, _, following = await a.answer(question)
            a_feedback.append(feedback)
            await execute_sql(
                server.settings.database_url,
                update(Response)
                .where(Response.question_id == feedback["question_id"])
                .values(time_taken_s=seconds["a", position]),
            )
            question = following
        completed = question
        _, b_question = await b.start()
        b_feedback, *_ = await b.answer(b_question)
        await execute_sql(
            server.settings.database_url,
            update(Response).where(Response.question_id == b_feedback["question_id"]).values(time_taken_s=40.0),
        )
        await c.start()
        await a.close()
        await asyncio.sleep(0.3)
        figures = (await get(server, recruiter.token, f"/api/analytics/tests/{live.test_id}/live")).json()
        await b.close()
        await c.close()
        return {"a_feedback": a_feedback, "completed": completed, "b_feedback": b_feedback, "figures": figures}

    seen = asyncio.run(scenario())
    figures, completed = seen["figures"], seen["completed"]
    assert completed["type"] == "assessment_completed"
    a_percentage = round(100 * sum(f["correct"] for f in seen["a_feedback"]) / completed["max_score"], 2)
    assert a_percentage == completed["percentage"]
    assert figures == {
        "test_id": live.test_id,
        "in_progress": 2,
        "finished": 1,
        "by_status": {"completed": 1, "in_progress": 2},
        "connected": 2,  # B and C; A closed its socket
        "answers": 3,
        "answers_in_progress": 1,
        "mean_percentage_finished": a_percentage,
        "mean_percentage_so_far": 100.0 if seen["b_feedback"]["correct"] else 0.0,
        "mean_question_s": round((10 + 20 + 40) / 3, 3),
        "median_question_s": 20.0,
        "per_question": [
            {"index": 0, "answered": 2, "mean_s": 25.0, "median_s": 25.0},
            {"index": 1, "answered": 1, "mean_s": 20.0, "median_s": 20.0},
        ],
        "last_answer_at": figures["last_answer_at"],
    }
    assert figures["last_answer_at"] is not None
    assert statistics.median([10, 20, 40]) == figures["median_question_s"]


def test_live_figures_are_for_staff_of_existing_tests(server, make_live_test, admin_token) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()
    with server.client(live.candidate.token) as client:
        assert client.get(f"/api/analytics/tests/{live.test_id}/live").status_code == 403
    with server.client() as client:
        assert client.get(f"/api/analytics/tests/{live.test_id}/live").status_code == 401
    with server.client(admin_token) as client:
        assert client.get("/api/analytics/tests/999999999/live").status_code == 404
        assert client.get("/api/analytics/tests/x/live").status_code == 422
        empty = client.get(f"/api/analytics/tests/{live.test_id}/live").json()
    assert (empty["in_progress"], empty["finished"], empty["answers"], empty["mean_question_s"]) == (0, 0, 0, None)
