"""POST /auth/token and bearer-token checks over HTTP, on both databases."""

from datetime import UTC, datetime, timedelta

import pytest
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Server
from jose import jwt


def test_login_returns_a_bearer_token_that_works(server: Server) -> None:
    with server.client() as client:
        response = client.post("/auth/token", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == server.settings.access_token_expire_minutes * 60
        me = client.get("/api/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == ADMIN_EMAIL
    assert me.json()["role"] == "admin"


def test_login_is_case_insensitive_on_email(server: Server) -> None:
    assert server.login(ADMIN_EMAIL.upper(), ADMIN_PASSWORD)


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"username": ADMIN_EMAIL, "password": "wrong-password"}, 401),
        ({"username": "nobody@example.com", "password": ADMIN_PASSWORD}, 401),
        ({"username": ADMIN_EMAIL}, 422),
        ({"password": ADMIN_PASSWORD}, 422),
        ({}, 422),
    ],
    ids=["wrong-password", "unknown-user", "no-password", "no-username", "empty"],
)
def test_bad_logins_are_refused_with_a_reason(server: Server, form: dict[str, str], status: int) -> None:
    with server.client() as client:
        response = client.post("/auth/token", data=form)
    assert response.status_code == status
    assert response.json()["detail"]
    if status == 401:
        assert response.json()["detail"] == "incorrect email or password"  # the same for both: no user probing
        assert response.headers["www-authenticate"] == "Bearer"


def test_login_needs_a_form_not_json(server: Server) -> None:
    with server.client() as client:
        response = client.post("/auth/token", json={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 422


def test_oversized_login_body_is_refused(server: Server) -> None:
    with server.client() as client:
        response = client.post("/auth/token", data={"username": ADMIN_EMAIL, "password": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "exceeds" in response.json()["detail"]


def _claims(server: Server, **overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": "1",
        "role": "admin",
        "iss": server.settings.jwt_issuer,
        "aud": server.settings.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _sign(server: Server, claims: dict[str, object], key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key or server.settings.secret_key.get_secret_value(), algorithm=algorithm)


def _unsigned(claims: dict[str, object]) -> str:
    import base64
    import json

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


BAD_TOKENS = {
    "alg-none": lambda s: _unsigned(_claims(s)),
    "wrong-key": lambda s: _sign(s, _claims(s), key="some-other-secret-with-at-least-32-bytes!"),
    "other-hmac": lambda s: _sign(s, _claims(s), algorithm="HS512"),
    "expired": lambda s: _sign(s, _claims(s, exp=int(datetime.now(UTC).timestamp()) - 5)),
    "not-yet-valid": lambda s: _sign(s, _claims(s, nbf=int(datetime.now(UTC).timestamp()) + 3600)),
    "wrong-audience": lambda s: _sign(s, _claims(s, aud="another-service")),
    "wrong-issuer": lambda s: _sign(s, _claims(s, iss="someone-else")),
    "no-sub": lambda s: _sign(s, _claims(s, sub=None)),
    "no-exp": lambda s: _sign(s, _claims(s, exp=None)),
    "unknown-user": lambda s: _sign(s, _claims(s, sub="999999")),
    "garbage": lambda s: "garbage",
}


@pytest.mark.parametrize("name", list(BAD_TOKENS))
def test_bad_tokens_are_refused(server: Server, name: str) -> None:
    token = BAD_TOKENS[name](server)
    with server.client(token) as client:
        response = client.get("/api/users/me")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert token not in response.text


def test_a_missing_token_is_refused(server: Server) -> None:
    with server.client() as client:
        response = client.get("/api/tests")
    assert response.status_code == 401
    assert "bearer token" in response.json()["detail"]
