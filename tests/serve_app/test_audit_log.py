"""The audit log over real HTTP on both databases: every staff action written with who, when, what and the
client address, in the action's own transaction; read by admins only, as JSON pages and as CSV; hostile
queries refused; and the table itself refusing every change and deletion."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from builders import valid_test_body
from conftest import Account, Server, execute_sql
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from serve_app.audit_csv import HEADER

ACTIONS_IN_ORDER = [
    "user.created",
    "test.created",
    "test.updated",
    "candidates.invited",
    "candidates.extra_time_granted",
    "test.published",
    "test.closed",
    "user.updated",
    "user.disabled",
    "user.enabled",
]


def new_admin(server: Server, admin_token: str) -> Account:
    """An admin of its own, so that its actions can be told from the rest of the shared server's; its
    email starts with '-', which a spreadsheet would run as a formula."""
    email, password = f"-audit-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(12)
    with server.client(admin_token) as client:
        created = client.post(
            "/api/users", json={"email": email, "password": password, "full_name": "Auditor", "role": "admin"}
        )
    assert created.status_code == 201, created.text
    return Account(created.json()["id"], email, password, "admin", server.login(email, password))


def audit_log(server: Server, token: str, **query: Any) -> list[dict[str, Any]]:
    with server.client(token) as client:
        response = client.get("/api/audit", params=query)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()
    return events


def act_as_staff(server: Server, actor: Account, password: str) -> dict[str, Any]:
    """Every audited action of the REST API, by one admin, and two that fail (and must leave no record)."""
    with server.client(actor.token) as client:
        user = client.post(
            "/api/users",
            json={
                "email": f"cand-{secrets.token_hex(4)}@example.com",
                "password": password,
                "full_name": "C",
                "role": "candidate",
            },
        ).json()
        test_id = client.post("/api/tests", json=valid_test_body()).json()["id"]
        statuses = [
            client.patch(f"/api/tests/{test_id}", json={"title": "Backend screening, revised"}).status_code,
            client.post(f"/api/tests/{test_id}/candidates", json={"user_ids": [user["id"]]}).status_code,
            client.post(
                f"/api/tests/{test_id}/candidates", json={"user_ids": [user["id"]], "extra_time_minutes": 15}
            ).status_code,
            client.patch(f"/api/tests/{test_id}", json={"status": "published"}).status_code,
            client.patch(f"/api/tests/{test_id}", json={"status": "closed"}).status_code,
            client.patch(
                f"/api/users/{user['id']}", json={"full_name": "C. Renamed", "password": password + "!"}
            ).status_code,
            client.patch(f"/api/users/{user['id']}", json={"is_active": False}).status_code,
            client.patch(f"/api/users/{user['id']}", json={"is_active": True}).status_code,
        ]
        failed = [
            client.patch(f"/api/tests/{test_id}", json={"title": "Too late"}).status_code,  # closed: 409
            client.post(f"/api/tests/{test_id}/candidates", json={"user_ids": [user["id"]]}).status_code,  # 409
        ]
    return {"user": user, "test_id": test_id, "statuses": statuses, "failed": failed}


def test_every_staff_action_is_logged_with_who_when_what_and_where(server: Server, admin_token: str) -> None:
    actor = new_admin(server, admin_token)
    password = secrets.token_urlsafe(16)
    began = datetime.now(UTC)
    done = act_as_staff(server, actor, password)
    ended = datetime.now(UTC)
    assert set(done["statuses"]) == {200} and done["failed"] == [409, 409], done

    events = audit_log(server, actor.token, actor_id=actor.id)
    assert [event["action"] for event in reversed(events)] == ACTIONS_IN_ORDER
    assert [event["id"] for event in events] == sorted((event["id"] for event in events), reverse=True)
    for event in events:
        assert (event["actor_id"], event["actor_email"], event["client_address"]) == (
            actor.id,
            actor.email,
            "127.0.0.1",
        )
        at = datetime.fromisoformat(event["at"])
        assert began - timedelta(seconds=5) <= at <= ended + timedelta(seconds=5), event
    by_action = {event["action"]: event for event in events}
    test_id, user_id = done["test_id"], done["user"]["id"]
    assert {(event["target_type"], event["target_id"]) for event in events} == {("user", user_id), ("test", test_id)}
    assert by_action["test.created"]["details"]["definition"]["title"] == "Backend screening"
    assert by_action["test.updated"]["details"] == {"changes": {"title": "Backend screening, revised"}}
    assert by_action["candidates.invited"]["details"] == {"user_ids": [user_id], "extra_time_minutes": 0}
    assert by_action["candidates.extra_time_granted"]["details"] == {"user_ids": [user_id], "extra_time_minutes": 15}
    assert by_action["test.published"]["details"] == {"status_before": "draft"}
    assert by_action["test.closed"]["details"] == {"status_before": "published"}
    assert by_action["user.updated"]["details"]["changes"] == {"full_name": "C. Renamed", "password": "changed"}
    assert by_action["user.created"]["details"] == {"email": done["user"]["email"], "role": "candidate"}
    assert password not in json.dumps(events), "a password must never reach the log"

    # Who created the acting admin is on record too: the bootstrap admin.
    (created,) = [
        event
        for event in audit_log(server, admin_token, action="user.created", limit=1000)
        if event["target_id"] == actor.id
    ]
    assert created["details"] == {"email": actor.email, "role": "admin"}

    with server.client(actor.token) as client:
        exported = client.get("/api/audit.csv", params={"actor_id": actor.id})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert tuple(rows[0]) == HEADER
    assert [row[0] for row in rows[1:]] == [str(event["id"]) for event in events]
    assert {row[3] for row in rows[1:]} == {"'" + actor.email}, "a cell starting with '-' is neutralised"
    assert [json.loads(row[8]) for row in rows[1:]] == [event["details"] for event in events]


def test_pages_and_filters(server: Server, admin_token: str) -> None:
    actor = new_admin(server, admin_token)
    act_as_staff(server, actor, secrets.token_urlsafe(16))
    everything = audit_log(server, actor.token, actor_id=actor.id)
    first = audit_log(server, actor.token, actor_id=actor.id, limit=4)
    second = audit_log(server, actor.token, actor_id=actor.id, limit=4, before_id=first[-1]["id"])
    rest = audit_log(server, actor.token, actor_id=actor.id, limit=4, before_id=second[-1]["id"])
    assert first + second + rest == everything
    closed = audit_log(server, actor.token, actor_id=actor.id, action="test.closed")
    assert [event["action"] for event in closed] == ["test.closed"]
    at = datetime.fromisoformat(closed[0]["at"])
    since = audit_log(server, actor.token, actor_id=actor.id, since=at.isoformat())
    until = audit_log(server, actor.token, actor_id=actor.id, until=at.isoformat())
    assert {event["id"] for event in since} | {event["id"] for event in until} == {event["id"] for event in everything}
    assert closed[0]["id"] in {event["id"] for event in since} - {event["id"] for event in until}
    assert (
        audit_log(server, actor.token, actor_id=actor.id, since=(datetime.now(UTC) + timedelta(days=1)).isoformat())
        == []
    )


def test_only_admins_read_the_log(server: Server, admin_token: str, make_user) -> None:  # type: ignore[no-untyped-def]
    recruiter, candidate = make_user("recruiter"), make_user("candidate")
    for path in ("/api/audit", "/api/audit.csv"):
        with server.client() as anonymous:
            assert anonymous.get(path).status_code == 401, path
        for account in (recruiter, candidate):
            with server.client(account.token) as client:
                response = client.get(path)
            assert response.status_code == 403, (path, account.role)
            assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 100_001},  # a page holds 1,000 at most, a CSV file 100,000
        {"limit": "ten"},
        {"actor_id": 0},
        {"actor_id": 2**31},
        {"actor_id": "1 OR 1=1"},
        {"before_id": -1},
        {"action": "test.exploded"},
        {"action": "'; DROP TABLE audit_events; --"},
        {"since": "yesterday"},
        {"since": "2026-01-01T00:00:00"},  # no UTC offset: ambiguous
        {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"until": "9" * 5000},
    ],
    ids=lambda query: ",".join(f"{name}={str(value)[:20]}" for name, value in query.items()),
)
def test_bad_queries_get_a_clear_422(server: Server, admin_token: str, query: dict[str, Any]) -> None:
    with server.client(admin_token) as client:
        for path in ("/api/audit", "/api/audit.csv"):
            response = client.get(path, params=query)
            assert response.status_code == 422, (path, response.text)
            assert response.json()["code"] == "invalid_request"
        assert client.get("/api/audit", params={"limit": 1001}).status_code == 422
        assert client.get("/api/audit", params={"limit": 1}).status_code == 200, "the table is still there"


def test_the_table_refuses_every_change_and_deletion(server: Server, admin_token: str) -> None:
    audit_log(server, admin_token)  # at least the shared server's own user creations are there
    url = server.settings.database_url
    statements = [
        "UPDATE audit_events SET actor_email = 'someone-else@example.com'",
        "DELETE FROM audit_events",
    ]
    if server.backend == "postgresql":
        statements.append("TRUNCATE audit_events")
    before = asyncio.run(execute_sql(url, text("SELECT count(*) FROM audit_events").columns()))
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            asyncio.run(execute_sql(url, text(statement)))
    after = asyncio.run(execute_sql(url, text("SELECT count(*) FROM audit_events").columns()))
    assert after >= before > 0
