"""The registry's supervision, through the real deployment: dead hosts, deadlines with nobody connected,
pushed results, and one Ray actor per session (`ASSESS_SESSIONS_PER_ACTOR=1`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import ray
import websockets
from conftest import Server, execute_sql, make_database_url, make_settings
from live_client import LiveClient, ws_url
from sqlalchemy import func, select, update

from actors.registry import NAMESPACE, registry_name
from persistence.migrate import upgrade
from persistence.models import Attempt, CandidateApplication, Response

pytestmark = pytest.mark.websocket


async def execute(server: Server, statement: Any) -> Any:
    return await execute_sql(server.settings.database_url, statement)


def registry_of(server: Server) -> Any:
    return ray.get_actor(registry_name(server.settings.database_url), namespace=NAMESPACE)


async def connected(server: Server, live: Any) -> LiveClient:
    client = await LiveClient.connect(
        ws_url(server.base_url, "/ws/assessment", token=live.candidate.token, test_id=live.test_id)
    )
    await client.expect("auth_success")
    return client


def test_a_killed_host_loses_nothing_and_the_candidate_carries_on(server: Server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test(max_questions=4)

    async def scenario() -> int:
        client = await connected(server, live)
        started, question = await client.start()
        _, _, question = await client.answer(question, option="a")
        registry = registry_of(server)
        host_id = (await registry.placements.remote())[started["attempt_id"]]
        ray.kill(await registry.host_handle.remote(host_id))

        frames = await client.answer(question, option="b")  # served by a new host, rebuilt from the stored rows
        assert frames[0]["question_id"] == question["question_id"]
        assert frames[1]["answered"] == 2
        question = frames[2]
        while question["type"] == "question":
            question = (await client.answer(question))[2]
        assert question["type"] == "assessment_completed"
        new_host = (await registry.placements.remote())[started["attempt_id"]]
        assert new_host != host_id
        await client.close()
        return int(started["attempt_id"])

    attempt_id = asyncio.run(scenario())
    count = asyncio.run(execute(server, select(func.count(Response.id)).where(Response.attempt_id == attempt_id)))
    assert count == 4


def test_the_sweep_finalizes_overdue_attempts_with_nobody_connected(server: Server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()

    async def scenario() -> int:
        registry = registry_of(server)
        client = await connected(server, live)
        started, question = await client.start()
        await client.answer(question)
        await client.close()
        finalized_before = (await registry.sweep_report.remote()).get("expired_total", 0)
        past = datetime.now(UTC) - timedelta(seconds=1)
        await execute(server, update(Attempt).where(Attempt.id == started["attempt_id"]).values(deadline=past))
        await registry.sweep.remote()
        # This pass or the periodic one running beside it finalizes the attempt: count them both.
        while (await registry.sweep_report.remote())["expired_total"] <= finalized_before:
            await asyncio.sleep(0.2)  # pytest-timeout bounds a sweep that never does it
        return int(started["attempt_id"])

    attempt_id = asyncio.run(scenario())
    status = asyncio.run(execute(server, select(Attempt.status).where(Attempt.id == attempt_id)))
    reason = asyncio.run(execute(server, select(Attempt.finish_reason).where(Attempt.id == attempt_id)))
    max_score = asyncio.run(execute(server, select(Attempt.max_score).where(Attempt.id == attempt_id)))
    assert (status, reason, max_score) == ("expired", "time_expired", 4)
    application_status = asyncio.run(
        execute(server, select(CandidateApplication.status).where(CandidateApplication.user_id == live.candidate.id))
    )
    assert application_status == "completed"


def test_a_connected_candidate_is_told_when_time_runs_out(server: Server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()

    async def scenario() -> dict[str, Any]:
        client = await connected(server, live)
        started, _ = await client.start()
        past = datetime.now(UTC) - timedelta(seconds=1)
        await execute(server, update(Attempt).where(Attempt.id == started["attempt_id"]).values(deadline=past))
        await registry_of(server).sweep.remote()
        completed = await client.expect("assessment_completed")  # pushed: the client sent nothing
        await client.close()
        return completed

    completed = asyncio.run(scenario())
    assert completed["reason"] == "time_expired"


@pytest.fixture(scope="module")
def solo_server(ray_serve: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One Ray actor per session, short idle timeouts (2 s per socket, 1 s per session), sweeps only on demand,
    and a database of its own."""
    from ray import serve

    from serve_app.deployment import build_application

    url, _ = make_database_url("sqlite", tmp_path_factory.mktemp("solo"))
    upgrade(url)
    settings = make_settings(
        url,
        ASSESS_SESSIONS_PER_ACTOR="1",
        ASSESS_IDLE_TIMEOUT_S="2",
        ASSESS_SESSION_IDLE_S="1",
        ASSESS_SWEEP_INTERVAL_S="3600",  # the tests sweep explicitly
    )
    serve.run(build_application(settings), name="solo", route_prefix="/solo")
    yield Server(f"http://127.0.0.1:{ray_serve}/solo", settings, "sqlite")
    serve.delete("solo")


def test_one_actor_per_session_gives_each_assessment_its_own_host(solo_server: Server) -> None:
    from conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    admin_token = solo_server.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    with solo_server.client(admin_token) as admin:
        from builders import valid_test_body

        test_id = admin.post("/api/tests", json=valid_test_body(max_questions=2, min_questions=1)).json()["id"]
        candidates = []
        for number in range(3):
            email, password = f"solo{number}@example.com", "password-solo"
            user = admin.post(
                "/api/users", json={"email": email, "password": password, "full_name": "S", "role": "candidate"}
            ).json()
            candidates.append((user["id"], solo_server.login(email, password)))
        admin.post(f"/api/tests/{test_id}/candidates", json={"user_ids": [user_id for user_id, _ in candidates]})
        admin.patch(f"/api/tests/{test_id}", json={"status": "published"})

    async def take(token: str) -> int:
        client = await LiveClient.connect(ws_url(solo_server.base_url, "/ws/assessment", token=token, test_id=test_id))
        await client.expect("auth_success")
        started, question = await client.start()
        while question["type"] == "question":
            question = (await client.answer(question))[2]
        await client.close()
        return int(started["attempt_id"])

    async def everyone() -> list[int]:
        return list(await asyncio.gather(*(take(token) for _, token in candidates)))

    attempt_ids = asyncio.run(everyone())
    placements = ray.get(registry_of(solo_server).placements.remote())
    assert len({placements[attempt_id] for attempt_id in attempt_ids}) == 3


def test_finished_sessions_are_evicted_and_their_hosts_retired(solo_server: Server) -> None:
    registry = registry_of(solo_server)
    assert ray.get(registry.hosts.remote()), "the previous test left sessions on hosts"
    time.sleep(1.5)  # let the sessions pass the 1 s idle limit
    sweeps = [ray.get(registry.sweep.remote()) for _ in range(3)]  # evict, then two empty sweeps retire
    assert sum(sweep["evicted"] + sweep["finished"] for sweep in sweeps) >= 3
    assert sum(sweep["retired"] for sweep in sweeps) >= 3
    assert ray.get(registry.hosts.remote()) == {}


def test_a_silent_socket_is_closed_and_heartbeats_keep_it_open(solo_server: Server) -> None:
    from conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    admin_token = solo_server.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    url = ws_url(solo_server.base_url, "/ws/chat", token=admin_token)

    async def scenario() -> int:
        client = await LiveClient.connect(url)
        await client.expect("auth_success")
        for _ in range(6):  # 3 s of heartbeats: longer than the 2 s idle timeout
            await asyncio.sleep(0.5)
            await client.send("heartbeat")
            await client.expect("heartbeat_ack")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await client.recv()  # silence: the server closes it
        return int(closed.value.rcvd.code)  # type: ignore[union-attr]

    assert asyncio.run(scenario()) == 1001


def test_a_failing_store_gives_internal_and_the_connection_survives(solo_server: Server) -> None:
    """Run last in this module: it breaks the solo deployment's database on purpose."""
    from builders import valid_test_body
    from conftest import ADMIN_EMAIL, ADMIN_PASSWORD
    from sqlalchemy import text

    admin_token = solo_server.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    with solo_server.client(admin_token) as admin:
        test_id = admin.post("/api/tests", json=valid_test_body(max_questions=3, min_questions=1)).json()["id"]
        body = {"email": "broken@example.com", "password": "password-broken", "full_name": "B", "role": "candidate"}
        user_id = admin.post("/api/users", json=body).json()["id"]
        admin.post(f"/api/tests/{test_id}/candidates", json={"user_ids": [user_id]})
        admin.patch(f"/api/tests/{test_id}", json={"status": "published"})
    token = solo_server.login("broken@example.com", "password-broken")

    async def scenario() -> dict[str, Any]:
        client = await LiveClient.connect(ws_url(solo_server.base_url, "/ws/assessment", token=token, test_id=test_id))
        await client.expect("auth_success")
        _, question = await client.start()
        await execute_sql(solo_server.settings.database_url, text("DROP TABLE responses"))
        await client.send("submit_answer", question_id=question["question_id"], selected_option="a", request_id="x")
        error = await client.expect("error")
        await client.send("heartbeat")
        await client.expect("heartbeat_ack")  # the connection lives on
        await client.close()
        return error

    error = asyncio.run(scenario())
    assert (error["code"], error["request_id"]) == ("internal", "x")
    assert "responses" not in error["message"]  # no internals leak to the client
