"""POST/GET /api/users."""

import asyncio

import httpx
import pytest
from conftest import Server
from sqlalchemy import select

from persistence.database import Database
from persistence.models import User


def test_admin_creates_users_with_hashed_passwords(server: Server, admin) -> None:  # type: ignore[no-untyped-def]
    response = admin.post(
        "/api/users",
        json={
            "email": "Dana.Dev@Example.com",
            "password": "a-good-password",
            "full_name": " Dana Dev ",
            "role": "recruiter",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "dana.dev@example.com"
    assert body["full_name"] == "Dana Dev"
    assert body["role"] == "recruiter"
    assert "password" not in body and "password_hash" not in body

    async def stored_hash() -> str:
        database = Database(server.settings.database_url)
        try:
            async with database.transaction() as session:
                return str(await session.scalar(select(User.password_hash).where(User.id == body["id"])))
        finally:
            await database.dispose()

    assert asyncio.run(stored_hash()).startswith("$argon2id$")
    assert server.login("dana.dev@example.com", "a-good-password")


def test_duplicate_email_is_a_conflict(admin) -> None:  # type: ignore[no-untyped-def]
    body = {"email": "twice@example.com", "password": "password-1", "full_name": "Twice", "role": "candidate"}
    assert admin.post("/api/users", json=body).status_code == 201
    again = admin.post("/api/users", json={**body, "email": "TWICE@example.com"})
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]


GOOD = {"email": "someone@example.com", "password": "password-1", "full_name": "Someone", "role": "candidate"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**GOOD, "email": "not-an-email"}, "email"),
        ({**GOOD, "password": "short"}, "password"),
        ({**GOOD, "password": "x" * 129}, "password"),
        ({**GOOD, "full_name": "   "}, "full_name"),
        ({**GOOD, "role": "superuser"}, "role"),
        ({**GOOD, "is_admin": True}, "is_admin"),
        ({key: value for key, value in GOOD.items() if key != "email"}, "email"),
        ({**GOOD, "email": ["a@example.com"]}, "email"),
        ({**GOOD, "full_name": "x" * 201}, "full_name"),
    ],
    ids=[
        "bad-email",
        "short-password",
        "long-password",
        "blank-name",
        "unknown-role",
        "extra-field",
        "missing-email",
        "wrong-type",
        "long-name",
    ],
)
def test_invalid_user_bodies_name_the_field(admin, body: dict[str, object], field: str) -> None:  # type: ignore[no-untyped-def]
    response = admin.post("/api/users", json=body)
    assert response.status_code == 422
    assert field in response.json()["message"]
    assert "password-1" not in response.text  # inputs are never echoed back


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b"null", b"\xff\xfe"])
def test_malformed_json_is_a_clear_422(admin, raw: bytes) -> None:  # type: ignore[no-untyped-def]
    response = admin.post("/api/users", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["message"]


def test_staff_list_users_by_role(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    candidate = make_user("candidate")
    listed = admin.get("/api/users", params={"role": "candidate"}).json()
    assert candidate.id in [user["id"] for user in listed]
    assert {user["role"] for user in listed} == {"candidate"}
    assert admin.get("/api/users", params={"role": "nonsense"}).status_code == 422


def test_oversized_bodies_are_refused_even_when_streamed(admin) -> None:  # type: ignore[no-untyped-def]
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"email": "big@example.com", "full_name": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'", "password": "password-1", "role": "candidate"}'

    streamed = admin.post("/api/users", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413, streamed.text
    declared = admin.post(
        "/api/users",
        content=b"{" + b" " * (1024 * 1024 + 1) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert declared.status_code == 413
    assert admin.get("/api/users", params={"role": "candidate"}).status_code == 200
    assert "big@example.com" not in admin.get("/api/users").text


def test_a_created_user_is_committed_before_the_response(server: Server, admin) -> None:  # type: ignore[no-untyped-def]
    """Acknowledge after commit: the row is visible to another connection the moment the 201 arrives."""

    async def check() -> list[int]:
        database = Database(server.settings.database_url)
        missing = []
        try:
            async with (
                database.engine.connect() as connection,  # opened in advance: the read is immediate
                httpx.AsyncClient(base_url=server.base_url, headers=admin.headers, timeout=30) as client,
            ):
                for number in range(30):
                    body = {
                        "email": f"acked-{number}@example.com",
                        "password": "password-1",
                        "full_name": "A",
                        "role": "candidate",
                    }
                    created = await client.post("/api/users", json=body)
                    assert created.status_code == 201
                    user_id = created.json()["id"]
                    found = await connection.scalar(select(User.id).where(User.id == user_id))
                    await connection.rollback()  # end the read transaction so the next read sees new commits
                    if found is None:
                        missing.append(user_id)
        finally:
            await database.dispose()
        return missing

    assert asyncio.run(check()) == []


def test_admin_disables_renames_and_resets_a_user(server: Server, admin, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("recruiter")
    path = f"/api/users/{user.id}"
    assert admin.get(path).json()["email"] == user.email
    renamed = admin.patch(path, json={"full_name": " Renamed ", "password": "a-new-password"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["full_name"] == "Renamed"
    assert server.login(user.email, "a-new-password")

    assert admin.patch(path, json={"is_active": False}).json()["is_active"] is False
    with server.client(user.token) as client:  # an existing token stops working at once
        refused = client.get("/api/users/me")
    assert refused.status_code == 401
    with server.client() as client:
        login = client.post("/auth/token", data={"username": user.email, "password": "a-new-password"})
    assert login.status_code == 401
    assert login.json()["detail"] == "this account is disabled"


@pytest.mark.parametrize(
    "body", [{}, {"is_active": None}, {"role": "owner"}, {"password": "short"}, {"email": "x@example.com"}]
)
def test_invalid_user_patches(admin, make_user, body: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    response = admin.patch(f"/api/users/{user.id}", json=body)
    assert response.status_code == 422
    assert response.json()["message"]


def test_an_admin_cannot_lock_themselves_out(server: Server, admin) -> None:  # type: ignore[no-untyped-def]
    me = admin.get("/api/users/me").json()
    for body in ({"is_active": False}, {"role": "candidate"}):
        response = admin.patch(f"/api/users/{me['id']}", json=body)
        assert response.status_code == 409
    assert admin.patch("/api/users/777777", json={"full_name": "Ghost"}).status_code == 404
