"""The JWT module alone: every way a token must be refused (the API tests repeat them over HTTP)."""

from datetime import UTC, datetime, timedelta

import pytest
from jose import jwt

from domain.enums import Role
from domain.errors import AuthenticationFailed
from serve_app.tokens import MAX_TOKEN_LENGTH, TokenService

SECRET = "unit-test-secret-that-is-at-least-32-bytes"


@pytest.fixture
def tokens() -> TokenService:
    return TokenService(SECRET, "HS256", "assess", "assess-api", timedelta(minutes=5))


def claims(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    values: dict[str, object] = {
        "sub": "7",
        "role": "candidate",
        "iss": "assess",
        "aud": "assess-api",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


def test_issued_token_verifies(tokens: TokenService) -> None:
    verified = tokens.verify(tokens.issue(7, Role.RECRUITER))
    assert (verified.user_id, verified.role) == (7, Role.RECRUITER)
    assert verified.expires_at > datetime.now(UTC)


def test_claims_are_standard(tokens: TokenService) -> None:
    decoded = jwt.get_unverified_claims(tokens.issue(3, Role.ADMIN))
    assert {"sub", "iss", "aud", "iat", "exp", "jti", "role"} <= set(decoded)
    assert jwt.get_unverified_header(tokens.issue(3, Role.ADMIN))["alg"] == "HS256"


def forge_unsigned(payload: dict[str, object]) -> str:
    import base64
    import json

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


@pytest.mark.parametrize(
    ("token_factory", "reason"),
    [
        (lambda: forge_unsigned(claims()), "algorithm"),
        (
            lambda: jwt.encode(claims(), "another-secret-that-is-also-32-bytes-long", algorithm="HS256"),
            "signature",
        ),
        (lambda: jwt.encode(claims(), SECRET, algorithm="HS512"), "algorithm"),
        (
            lambda: jwt.encode(claims(exp=int(datetime.now(UTC).timestamp()) - 10), SECRET, algorithm="HS256"),
            "expired",
        ),
        (lambda: jwt.encode(claims(aud="someone-else"), SECRET, algorithm="HS256"), "audience"),
        (lambda: jwt.encode(claims(iss="someone-else"), SECRET, algorithm="HS256"), "issuer"),
        (lambda: jwt.encode(claims(sub=None), SECRET, algorithm="HS256"), "invalid"),
        (lambda: jwt.encode(claims(exp=None), SECRET, algorithm="HS256"), "invalid"),
        (lambda: jwt.encode(claims(aud=None), SECRET, algorithm="HS256"), "invalid"),
        (
            lambda: jwt.encode(claims(nbf=int((datetime.now(UTC) + timedelta(hours=1)).timestamp())), SECRET, "HS256"),
            "not yet valid",
        ),
        (lambda: jwt.encode(claims(sub="not-a-number"), SECRET, algorithm="HS256"), "malformed"),
        (lambda: jwt.encode(claims(role="superuser"), SECRET, algorithm="HS256"), "malformed"),
        (lambda: "not.a.token", "invalid"),
        (lambda: "", "missing"),
        (lambda: "x" * (MAX_TOKEN_LENGTH + 1), "missing or malformed"),
    ],
    ids=[
        "alg-none",
        "wrong-key",
        "other-algorithm",
        "expired",
        "wrong-audience",
        "wrong-issuer",
        "no-sub",
        "no-exp",
        "no-aud",
        "not-yet-valid",
        "non-numeric-sub",
        "unknown-role",
        "garbage",
        "empty",
        "oversized",
    ],
)
def test_bad_tokens_are_refused_with_a_reason(tokens: TokenService, token_factory, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AuthenticationFailed, match=reason):
        tokens.verify(token_factory())


def test_short_secrets_and_asymmetric_algorithms_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TokenService("short", "HS256", "i", "a", timedelta(minutes=1))
    with pytest.raises(ValueError, match="HMAC"):
        TokenService(SECRET, "RS256", "i", "a", timedelta(minutes=1))
