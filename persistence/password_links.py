"""Single-use, expiring links to set a password: a new account's invitation, or a reset.

A link carries a random token (256 bits); the database keeps only its SHA-256, so a copy of the database
opens no account. Issuing a link spends the user's earlier unspent links of any purpose: only the newest
works. Using one sets the password, spends the link in the same transaction (a second use, or a race of
two, finds it spent), and revokes the user's tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import PasswordLinkPurpose
from domain.errors import NotFound, PermissionDenied
from persistence.models import PasswordLink, User, utcnow
from persistence.passwords import hash_password
from persistence.users import revoke_tokens

TOKEN_BYTES = 32


@dataclass(frozen=True)
class IssuedLink:
    token: str  # shown once: in the mail, or to the staff who asked for it
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


async def issue(session: AsyncSession, user: User, purpose: PasswordLinkPurpose, lifetime: timedelta) -> IssuedLink:
    now = utcnow()
    await session.execute(
        update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.spent_at.is_(None))
        .values(spent_at=now)
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = PasswordLink(
        user_id=user.id, purpose=purpose, token_sha256=_digest(token), created_at=now, expires_at=now + lifetime
    )
    session.add(link)
    await session.flush()
    return IssuedLink(token, link.expires_at)


async def usable(session: AsyncSession, token: str) -> tuple[PasswordLink, User]:
    """The link and its user, if the link can still be used; else `NotFound` saying why, in words that tell
    nothing about any account."""
    link = await session.scalar(select(PasswordLink).where(PasswordLink.token_sha256 == _digest(token)))
    if link is None:
        raise NotFound("this link is not valid: ask for a new one")
    if link.spent_at is not None:
        raise NotFound("this link was already used, or a newer one replaced it: ask for a new one")
    if link.expires_at <= utcnow():
        raise NotFound("this link has expired: ask for a new one")
    user = await session.get(User, link.user_id)
    if user is None or not user.is_active:
        raise PermissionDenied("this account is disabled")
    return link, user


async def set_password(session: AsyncSession, token: str, password: str) -> User:
    """Use the link: the user's new password, every earlier token revoked, the link spent."""
    link, user = await usable(session, token)
    spent = await session.execute(
        update(PasswordLink)
        .where(PasswordLink.id == link.id, PasswordLink.spent_at.is_(None))
        .values(spent_at=utcnow())
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]  # another request used it a moment ago
        raise NotFound("this link was already used, or a newer one replaced it: ask for a new one")
    user.password_hash = await hash_password(password)
    revoke_tokens(user)
    await session.flush()
    return user
