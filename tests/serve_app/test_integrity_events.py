"""Integrity signals over real sockets on both databases: a candidate's client reports focus loss, a hidden
page, a paste or a fullscreen exit as `integrity_event`; each is stored with the server's time against the
question on screen, limited in rate, shown to staff in the attempt's report and on the live monitor beside
answers far faster than their item's median, and never shown to the candidate nor counted in the score."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Server, execute_sql
from live_client import LiveClient, ws_url
from sqlalchemy import insert, select

from persistence.integrity import TIMING_SAMPLE
from persistence.models import Attempt, Response
from serve_app.live import INTEGRITY_EVENTS_BURST
from wire.protocol import INTEGRITY_KINDS

pytestmark = pytest.mark.websocket
SLOW_S = 90.0  # how long the seeded responses took: any live answer is far faster


@pytest.fixture(scope="module")
def server(isolated_server) -> Server:  # type: ignore[no-untyped-def]
    """A deployment of its own: no earlier answers to the items in its database, and no item's median cached
    by its session hosts (the shared server's hosts keep those of the tests monitored before), so the medians
    this module seeds are the ones read."""
    return isolated_server()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def admin_token(server: Server) -> str:
    return server.login(ADMIN_EMAIL, ADMIN_PASSWORD)


async def connect(server: Server, token: str, test_id: int) -> LiveClient:
    client = await LiveClient.connect(ws_url(server.base_url, "/ws/assessment", token=token, test_id=test_id))
    await client.expect("auth_success")
    return client


async def signal(client: LiveClient, **fields: Any) -> None:
    """An integrity_event frame (its `kind` field is why LiveClient.send does not do)."""
    await client.send_raw(json.dumps({"type": "integrity_event", **fields}))


async def replies_so_far(client: LiveClient) -> list[dict[str, Any]]:
    """The frames that answered what was sent before: those ahead of the reply to a heartbeat sent now."""
    await client.send("heartbeat")
    frames = []
    while (frame := await client.recv())["type"] != "heartbeat_ack":
        frames.append(frame)
    return frames


async def nothing_came_back(client: LiveClient) -> None:
    assert await replies_so_far(client) == []


def staff_report(server: Server, token: str, attempt_id: int) -> dict[str, Any]:
    with server.client(token) as client:
        response = client.get(f"/api/attempts/{attempt_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def seed_slow_responses(database_url: str, attempt_id: int, item_id: str) -> None:
    """As many responses to the item as its median is taken over, each taking `SLOW_S`, whatever the shared
    server stored before (under another attempt, as other candidates' answers would be)."""
    now = datetime.now(UTC)
    rows = [
        {
            "attempt_id": attempt_id,
            "question_id": f"seed-{number}",
            "item_id": item_id,
            "index": number,
            "skill": "python",
            "item_snapshot": {"stem": "seeded", "options": []},
            "correct_option": "a",
            "selected_option": "a",
            "is_correct": True,
            "presented_at": now - timedelta(seconds=SLOW_S),
            "answered_at": now,
            "time_taken_s": SLOW_S,
        }
        for number in range(TIMING_SAMPLE)
    ]
    await execute_sql(database_url, insert(Response).values(rows))


def test_signals_are_stored_for_staff_shown_live_and_never_scored(  # type: ignore[no-untyped-def]
    server: Server, admin_token: str, make_live_test
) -> None:
    live, seeding = make_live_test(max_questions=2, min_questions=2), make_live_test()
    url = server.settings.database_url

    async def scenario() -> dict[str, Any]:
        monitor = await LiveClient.connect(
            ws_url(server.base_url, "/ws/monitor", token=admin_token, test_id=live.test_id)
        )
        await monitor.expect("auth_success")
        seed = await connect(server, seeding.candidate.token, seeding.test_id)
        seed_started, _ = await seed.start()
        await seed.close()

        client = await connect(server, live.candidate.token, live.test_id)
        started, question = await client.start()
        pending = await execute_sql(url, select(Attempt.pending_question).where(Attempt.id == started["attempt_id"]))
        await seed_slow_responses(url, seed_started["attempt_id"], pending["item"]["id"])
        sent_at = datetime.now(UTC)
        for kind in INTEGRITY_KINDS:
            await signal(client, kind=kind, occurred_at="2026-01-02T03:04:05Z", detail=f"saw {kind}")
        await nothing_came_back(client)
        first = await client.answer(question)
        await signal(client, kind="paste", request_id="after-one")
        await nothing_came_back(client)
        last = await client.answer(first[2])
        await signal(client, kind="focus_lost", request_id="too-late")
        refused_after_the_end = await client.expect("error")
        await client.close()
        live_events = [await asyncio.wait_for(monitor.expect("monitor_event"), 60) for _ in range(11)]
        await monitor.close()
        return {
            "attempt_id": started["attempt_id"],
            "sent_at": sent_at,
            "feedback": [first[0], last[0]],
            "completed": last[2],
            "refused_after_the_end": refused_after_the_end,
            "live": live_events,
        }

    seen = asyncio.run(scenario())
    report = staff_report(server, admin_token, seen["attempt_id"])
    events = report["integrity"]["events"]
    assert [event["kind"] for event in events] == [*INTEGRITY_KINDS, "paste"]
    assert [event["question_index"] for event in events] == [1] * len(INTEGRITY_KINDS) + [2]
    assert events[0]["client_at"].startswith("2026-01-02T03:04:05") and events[0]["detail"] == "saw focus_lost"
    for event in events:
        at = datetime.fromisoformat(event["at"])
        assert seen["sent_at"] - timedelta(seconds=5) <= at <= datetime.now(UTC), "the server's time"
    assert report["integrity"]["counts"] == {**dict.fromkeys(INTEGRITY_KINDS, 1), "paste": 2}
    (fast,) = report["integrity"]["fast_answers"]  # question 2's item has no earlier answers: no median
    assert fast["question_index"] == 1 and fast["item_median_s"] == SLOW_S and fast["time_taken_s"] < SLOW_S / 4

    assert seen["refused_after_the_end"]["code"] == "already_completed"
    assert seen["refused_after_the_end"]["request_id"] == "too-late"
    correct = sum(bool(feedback["correct"]) for feedback in seen["feedback"])
    assert seen["completed"]["score"] == correct == report["score"], "the signals count for nothing"

    live_events = seen["live"]
    assert [event["event"] for event in live_events] == [
        "attempt_started",
        *["integrity_event"] * len(INTEGRITY_KINDS),
        "answered",
        "integrity_event",
        "answered",
        "attempt_completed",
    ]
    assert [event["integrity_kind"] for event in live_events if event["event"] == "integrity_event"] == [
        *INTEGRITY_KINDS,
        "paste",
    ]
    answered = [event for event in live_events if event["event"] == "answered"]
    assert answered[0]["fast_answer"] is True and answered[0]["time_taken_s"] < SLOW_S / 4
    assert answered[1]["fast_answer"] is None, "an item with too few responses tells nothing"

    with server.client(live.candidate.token) as client:
        own = client.get(f"/api/attempts/{seen['attempt_id']}").json()
        own_report = client.get(f"/api/attempts/{seen['attempt_id']}/report").json()
        page = client.get(f"/api/attempts/{seen['attempt_id']}/report.html").text
    assert own["integrity"] is None and own_report["integrity"] is None
    assert "Integrity" not in page and "saw focus_lost" not in page
    with server.client(admin_token) as client:
        staff_page = client.get(f"/api/attempts/{seen['attempt_id']}/report.html").text
    assert "Integrity signals" in staff_page and "saw focus_lost" in staff_page


def test_signals_are_limited_in_rate_per_connection(server: Server, admin_token: str, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test(max_questions=4, min_questions=4)
    burst = INTEGRITY_EVENTS_BURST + 5

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        client = await connect(server, live.candidate.token, live.test_id)
        started, question = await client.start()
        for number in range(burst):
            await signal(client, kind="page_hidden", request_id=f"burst-{number}")
        refusals = await replies_so_far(client)
        answered = await client.answer(question)  # the socket and the attempt carry on
        await client.close()
        return started, refusals, answered[0]

    started, refusals, feedback = asyncio.run(scenario())
    assert {frame["code"] for frame in refusals} == {"rate_limited"}
    assert len(refusals) == burst - INTEGRITY_EVENTS_BURST
    assert [frame["request_id"] for frame in refusals] == [f"burst-{n}" for n in range(INTEGRITY_EVENTS_BURST, burst)]
    assert feedback["type"] == "answer_feedback"
    report = staff_report(server, admin_token, started["attempt_id"])
    assert report["integrity"]["counts"] == {"page_hidden": INTEGRITY_EVENTS_BURST}


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"kind": "looked_away"}, "invalid_message"),
        ({"kind": 7}, "invalid_message"),
        ({}, "invalid_message"),
        ({"kind": "paste", "detail": "x" * 201}, "invalid_message"),
        ({"kind": "paste", "detail": {"nested": True}}, "invalid_message"),
        ({"kind": "paste", "occurred_at": "yesterday"}, "invalid_message"),
        ({"kind": "paste", "occurred_at": "2026-01-02T03:04:05"}, "invalid_message"),  # no UTC offset
        ({"kind": "paste", "detail": "nul\u0000byte"}, "invalid_message"),
    ],
    ids=["unknown kind", "numeric kind", "no kind", "long detail", "object detail", "bad time", "naive time", "nul"],
)
def test_malformed_signals_get_a_clear_error_and_store_nothing(  # type: ignore[no-untyped-def]
    server: Server, admin_token: str, make_live_test, fields: dict[str, Any], code: str
) -> None:
    live = make_live_test()

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], int]:
        client = await connect(server, live.candidate.token, live.test_id)
        await signal(client, **fields, request_id="r1")
        before_start = await client.expect("error")
        started, _ = await client.start()
        await signal(client, **fields, request_id="r2")
        refused = await client.expect("error")
        await client.close()
        return before_start, refused, started["attempt_id"]

    before_start, refused, attempt_id = asyncio.run(scenario())
    assert (refused["code"], refused["request_id"]) == (code, "r2"), refused
    assert before_start["code"] in (code, "not_started")
    assert staff_report(server, admin_token, attempt_id)["integrity"]["events"] == []


def test_signals_belong_to_a_started_attempt_on_the_assessment_socket(server: Server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        client = await connect(server, live.candidate.token, live.test_id)
        await signal(client, kind="paste", request_id="early")
        early = await client.expect("error")
        await client.close()
        chat = await LiveClient.connect(ws_url(server.base_url, "/ws/chat", token=live.candidate.token))
        await chat.expect("auth_success")
        await signal(chat, kind="paste")
        elsewhere = await chat.expect("error")
        await chat.close()
        return early, elsewhere

    early, elsewhere = asyncio.run(scenario())
    assert (early["code"], early["request_id"]) == ("not_started", "early")
    assert elsewhere["code"] == "unknown_type"
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert client.get("/ws/schema.json").json()["$defs"]["IntegrityEvent"]["properties"]["kind"]["enum"] == list(
            INTEGRITY_KINDS
        )
