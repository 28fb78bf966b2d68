"""All JWT handling of the project (python-jose), hardened per DESIGN.md section 6.

- one configured HMAC algorithm, never read from the token (`algorithms=[...]` is always passed);
- `exp`, `iat`, `sub`, `iss` and `aud` are required and checked;
- the secret is at least 32 bytes (enforced by `Settings` and again here);
- tokens are length-capped before parsing and never logged;
- every token carries its user's token generation (`gen`): raising the user's generation (a password
  change, a disable, a logout) revokes every token issued before, on REST at once and on open sockets as
  soon as their replica hears of it (serve_app/revocations.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeGuard

from jose import JWTError, jwt

from config.settings import MIN_SECRET_BYTES, Settings
from domain.enums import Role
from domain.errors import AuthenticationFailed
from persistence.models import User

MAX_TOKEN_LENGTH = 4096
_REQUIRED_CLAIMS = {
    "require_exp": True,
    "require_iat": True,
    "require_sub": True,
    "require_iss": True,
    "require_aud": True,
    "verify_exp": True,
    "verify_nbf": True,
    "verify_iat": True,
    "verify_aud": True,
    "verify_iss": True,
    "verify_sub": True,
    "leeway": 0,
}


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    role: Role
    expires_at: datetime
    generation: int = 0  # the user's token generation when it was issued

    def still_valid_for(self, user: User | None) -> TypeGuard[User]:
        """Whether the token may still act as this user: it exists, is enabled, and has not revoked the
        tokens issued to it before this one's generation."""
        return user is not None and user.is_active and user.token_generation == self.generation


@dataclass(frozen=True)
class TokenService:
    secret: str
    algorithm: str
    issuer: str
    audience: str
    lifetime: timedelta

    def __post_init__(self) -> None:
        if len(self.secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes")
        if not self.algorithm.startswith("HS"):
            raise ValueError("only HMAC algorithms (HS256/384/512) are supported")

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenService:
        return cls(
            secret=settings.secret_key.get_secret_value(),
            algorithm=settings.jwt_algorithm,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            lifetime=timedelta(minutes=settings.access_token_expire_minutes),
        )

    def issue(self, user_id: int, role: Role, lifetime: timedelta | None = None, generation: int = 0) -> str:
        now = datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "role": role.value,
            "gen": generation,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": int(now.timestamp()),
            "exp": int((now + (lifetime or self.lifetime)).timestamp()),
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(claims, self.secret, algorithm=self.algorithm)

    def verify(self, token: str) -> TokenClaims:
        """Return the claims of a valid token, or raise `AuthenticationFailed` with a reason."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise AuthenticationFailed("missing or malformed token")
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != self.algorithm:
                raise AuthenticationFailed("token algorithm not accepted")
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options=_REQUIRED_CLAIMS,
            )
        except JWTError as error:
            raise AuthenticationFailed(_reason(error)) from None
        try:
            generation = claims.get("gen", 0)
            if not isinstance(generation, int) or isinstance(generation, bool) or generation < 0:
                raise ValueError("gen")
            verified = TokenClaims(
                user_id=int(claims["sub"]),
                role=Role(str(claims["role"])),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
                generation=generation,
            )
        except (KeyError, TypeError, ValueError):
            raise AuthenticationFailed("token claims are malformed") from None
        # RFC 7519: not accepted on or after `exp`. python-jose compares whole seconds and lets a token
        # through during its expiry second; a connection is closed at `exp` exactly, so refuse it here too.
        if datetime.now(UTC) >= verified.expires_at:
            raise AuthenticationFailed("token expired")
        return verified


def _reason(error: JWTError) -> str:
    text = str(error).lower()
    if "expired" in text:
        return "token expired"
    if "audience" in text:
        return "token audience not accepted"
    if "issuer" in text:
        return "token issuer not accepted"
    if "signature" in text:
        return "token signature invalid"
    if "not yet valid" in text or "nbf" in text or "iat" in text:
        return "token not yet valid"
    return "invalid token"
