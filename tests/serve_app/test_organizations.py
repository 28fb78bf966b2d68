"""Organizations over real HTTP and sockets on both databases: the operator creates one and its first admin;
its staff then see and change only their own users, tests, attempts, parameter sets, audit log, analytics
and live monitor. Every route that names a record of another organization answers 404, exactly as for a
record that does not exist, so nothing tells one organization what another holds."""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from builders import valid_test_body
from conftest import Account, Server, execute_sql
from live_client import LiveClient, ws_url
from sqlalchemy import insert, select

from persistence.models import ParameterSet

pytestmark = pytest.mark.websocket
PATH_IDS = ("test_id", "attempt_id", "user_id", "set_id")
# Bodies that would be accepted on one's own records, so that a 404 can only mean "not yours".
BODIES: dict[tuple[str, str], Any] = {
    ("patch", "/api/tests/{test_id}"): {"title": "Taken over"},
    ("post", "/api/tests/{test_id}/candidates"): {"user_ids": [1]},
    ("post", "/api/tests/{test_id}/invitations"): {"candidates": [{"email": "taken@example.com", "full_name": "T"}]},
    ("patch", "/api/users/{user_id}"): {"full_name": "Taken over"},
}


@dataclass(frozen=True)
class Organization:
    id: int
    name: str
    admin: Account
    recruiter: Account
    candidate: Account


def account(server: Server, token: str, role: str, **extra: Any) -> Account:
    email, password = f"org-{role}-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(12)
    with server.client(token) as client:
        created = client.post(
            "/api/users", json={"email": email, "password": password, "full_name": f"A {role}", "role": role, **extra}
        )
    assert created.status_code == 201, created.text
    return Account(created.json()["id"], email, password, role, server.login(email, password))


def new_organization(server: Server, operator_token: str) -> Organization:
    name = f"Team {secrets.token_hex(4)}"
    with server.client(operator_token) as client:
        created = client.post("/api/organizations", json={"name": name})
    assert created.status_code == 201, created.text
    organization = created.json()
    assert organization == {"id": organization["id"], "name": name}
    admin = account(server, operator_token, "admin", organization_id=organization["id"])
    return Organization(
        organization["id"],
        name,
        admin,
        account(server, admin.token, "recruiter"),
        account(server, admin.token, "candidate"),
    )


async def take_one_question(server: Server, token: str, test_id: int) -> int:
    client = await LiveClient.connect(ws_url(server.base_url, "/ws/assessment", token=token, test_id=test_id))
    await client.expect("auth_success")
    started, question = await client.start()
    await client.answer(question)
    await client.close()
    return int(started["attempt_id"])


async def draft_set(database_url: str, organization_id: int) -> int:
    row = {"organization_id": organization_id, "model": "2pl", "status": "draft", "source": {}, "fit": {}, "note": ""}
    await execute_sql(database_url, insert(ParameterSet).values(row))
    return int(
        await execute_sql(
            database_url, select(ParameterSet.id).where(ParameterSet.organization_id == organization_id).limit(1)
        )
    )


@pytest.fixture
def theirs(server: Server, admin_token: str, make_live_test) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Records of the default organization: a test with an attempt, a user, a parameter set."""
    live = make_live_test()
    attempt_id = asyncio.run(take_one_question(server, live.candidate.token, live.test_id))
    set_id = asyncio.run(draft_set(server.settings.database_url, 1))
    return {"test_id": live.test_id, "attempt_id": attempt_id, "user_id": live.candidate.id, "set_id": set_id}


def id_routes(server: Server) -> list[tuple[str, str]]:
    """Every REST route that names a record in its path, from the OpenAPI document."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        paths = client.get("/openapi.json").json()["paths"]
    return [
        (method, path)
        for path, operations in paths.items()
        for method in operations
        if any(f"{{{name}}}" in path for name in PATH_IDS)
    ]


def test_another_organizations_records_are_not_found_on_any_route(  # type: ignore[no-untyped-def]
    server: Server, admin_token: str, theirs: dict[str, int]
) -> None:
    other = new_organization(server, admin_token)
    routes = id_routes(server)
    assert len(routes) >= 16, routes  # tests, candidates, results, reports, analyses, users, parameter sets
    for member in (other.admin, other.recruiter):
        with server.client(member.token) as client:
            for method, path in routes:
                url = path.format(**theirs)
                body = BODIES.get((method, path))
                response = client.request(method.upper(), url, json=body)
                if member.role == "recruiter" and response.status_code == 403:
                    continue  # an admin-only route: refused by role before anything is looked up
                assert response.status_code == 404, (member.role, method, url, response.text)
                missing = client.request(
                    method.upper(), re.sub(r"/\d+(?=/|\.|$)", "/2147483647", url, count=1), json=body
                )
                assert missing.status_code == 404, (method, url)
                assert re.sub(r"\d+", "N", response.json()["detail"]) == re.sub(r"\d+", "N", missing.json()["detail"])

    with server.client(other.admin.token) as client:
        calibrate = client.post("/api/parameter-sets", json={"test_ids": [theirs["test_id"]], "model": "2pl"})
        assert calibrate.status_code == 404, calibrate.text
        own_test = client.post("/api/tests", json=valid_test_body()).json()
        invite = client.post(f"/api/tests/{own_test['id']}/candidates", json={"user_ids": [theirs["user_id"]]})
        assert invite.status_code == 422 and invite.json()["detail"] == f"no such users: {theirs['user_id']}"


def test_lists_show_only_ones_own_organization(server: Server, admin_token: str, theirs: dict[str, int]) -> None:
    other = new_organization(server, admin_token)
    with server.client(other.admin.token) as client:
        own_test = client.post("/api/tests", json=valid_test_body()).json()
        assert own_test["id"] != theirs["test_id"]
        listed = {
            "tests": [test["id"] for test in client.get("/api/tests").json()],
            "users": sorted(user["id"] for user in client.get("/api/users").json()),
            "sets": [entry["id"] for entry in client.get("/api/parameter-sets").json()],
            "organizations": client.get("/api/organizations").json(),
            "audit": client.get("/api/audit").json(),
        }
    assert listed["tests"] == [own_test["id"]]
    assert listed["users"] == sorted([other.admin.id, other.recruiter.id, other.candidate.id])
    assert listed["sets"] == []
    assert listed["organizations"] == [{"id": other.id, "name": other.name}]
    assert {event["organization_id"] for event in listed["audit"]} == {other.id}
    assert {event["action"] for event in listed["audit"]} == {"organization.created", "user.created", "test.created"}
    with server.client(admin_token) as operator:
        everyone = {entry["id"] for entry in operator.get("/api/organizations").json()}
        own_tests = {test["id"] for test in operator.get("/api/tests").json()}
    assert {1, other.id} <= everyone
    assert theirs["test_id"] in own_tests and own_test["id"] not in own_tests


def test_each_organization_has_its_own_active_parameter_set(server: Server, admin_token: str) -> None:
    other = new_organization(server, admin_token)
    url = server.settings.database_url
    default_set, other_set = asyncio.run(draft_set(url, 1)), asyncio.run(draft_set(url, other.id))
    with server.client(admin_token) as operator:
        assert operator.post(f"/api/parameter-sets/{default_set}/activate").json()["status"] == "active"
    with server.client(other.admin.token) as client:
        assert client.post(f"/api/parameter-sets/{other_set}/activate").json()["status"] == "active"
    with server.client(admin_token) as operator:
        assert operator.get(f"/api/parameter-sets/{default_set}").json()["status"] == "active", "untouched"


def test_only_the_operator_creates_organizations_and_users_elsewhere(  # type: ignore[no-untyped-def]
    server: Server, admin_token: str, make_user
) -> None:
    other = new_organization(server, admin_token)
    recruiter = make_user("recruiter")
    with server.client(other.admin.token) as client:
        assert client.post("/api/organizations", json={"name": "Mine now"}).status_code == 403
        elsewhere = client.post(
            "/api/users",
            json={
                "email": "x@example.com",
                "password": "p" * 12,
                "full_name": "X",
                "role": "admin",
                "organization_id": 1,
            },
        )
        assert elsewhere.status_code == 403
        own = client.post(
            "/api/users",
            json={"email": f"o-{secrets.token_hex(3)}@example.com", "password": "p" * 12, "full_name": "O",
                  "role": "recruiter", "organization_id": other.id},
        )  # fmt: skip
        assert own.status_code == 201 and own.json()["organization_id"] == other.id
    with server.client(recruiter.token) as client:
        assert client.post("/api/organizations", json={"name": "Recruiters"}).status_code == 403
    with server.client(admin_token) as operator:
        assert operator.post("/api/organizations", json={"name": other.name}).status_code == 409
        for body in (
            {},
            {"name": ""},
            {"name": "x" * 201},
            {"name": 7},
            {"name": "a\u0000b"},
            [],
            {"name": "ok", "id": 9},
        ):
            response = operator.post("/api/organizations", json=body)
            assert response.status_code == 422, (body, response.text)
            assert response.json()["code"] == "invalid_request"
        nowhere = operator.post(
            "/api/users",
            json={"email": "n@example.com", "password": "p" * 12, "full_name": "N", "role": "admin",
                  "organization_id": 2_000_000},
        )  # fmt: skip
        assert nowhere.status_code == 422 and "organization 2000000 not found" in nowhere.text


def test_the_monitor_shows_only_ones_own_organizations_tests(  # type: ignore[no-untyped-def]
    server: Server, admin_token: str, make_live_test
) -> None:
    other = new_organization(server, admin_token)
    theirs = make_live_test(max_questions=2, min_questions=2)
    with server.client(other.admin.token) as client:
        own_test = client.post("/api/tests", json=valid_test_body(max_questions=2, min_questions=2)).json()["id"]
        assert (
            client.post(f"/api/tests/{own_test}/candidates", json={"user_ids": [other.candidate.id]}).status_code == 200
        )
        assert client.patch(f"/api/tests/{own_test}", json={"status": "published"}).status_code == 200

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        refused = await LiveClient.connect(
            ws_url(server.base_url, "/ws/monitor", token=other.recruiter.token, test_id=theirs.test_id)
        )
        refusal = await refused.expect("error")
        monitor = await LiveClient.connect(ws_url(server.base_url, "/ws/monitor", token=other.recruiter.token))
        await monitor.expect("auth_success")
        await take_one_question(server, theirs.candidate.token, theirs.test_id)
        await take_one_question(server, other.candidate.token, own_test)
        seen = [await asyncio.wait_for(monitor.expect("monitor_event"), 60) for _ in range(2)]
        await monitor.close()
        return refusal, seen

    refusal, seen = asyncio.run(scenario())
    assert refusal["code"] == "not_eligible" and refusal["message"] == f"test {theirs.test_id} not found"
    assert [(event["test_id"], event["event"]) for event in seen] == [
        (own_test, "attempt_started"),
        (own_test, "answered"),
    ]
