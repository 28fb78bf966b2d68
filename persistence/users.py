"""Data access for users, and the admin bootstrapped from settings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import Role
from domain.errors import AuthenticationFailed, Conflict, NotFound
from persistence.database import Database
from persistence.models import DEFAULT_ORGANIZATION_ID, User
from persistence.passwords import hash_password, needs_rehash, verify_password

# The password of an account made by an invitation until its owner sets one: no password verifies against
# it (it is no Argon2 hash), so nobody can sign in to the account before the link is used.
NO_PASSWORD = "!"


def has_password(user: User) -> bool:
    return user.password_hash != NO_PASSWORD


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password: str | None,
    full_name: str,
    role: Role,
    organization_id: int = DEFAULT_ORGANIZATION_ID,
) -> User:
    """A new account; without a password, one that nobody can sign in to until a password link is used."""
    user = User(
        email=normalize_email(email),
        full_name=full_name.strip(),
        role=role,
        password_hash=NO_PASSWORD if password is None else await hash_password(password),
        organization_id=organization_id,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"a user with email {user.email} already exists") from None
    return user


async def get_user(session: AsyncSession, user_id: int, organization_id: int | None = None) -> User:
    """The user; with `organization_id`, only one of that organization (another's is not found)."""
    user = await session.get(User, user_id)
    if user is None or organization_id not in (None, user.organization_id):
        raise NotFound(f"user {user_id} not found")
    return user


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalize_email(email)))


async def list_users(session: AsyncSession, organization_id: int, role: Role | None = None) -> Sequence[User]:
    query = select(User).where(User.organization_id == organization_id).order_by(User.id)
    if role is not None:
        query = query.where(User.role == role)
    return (await session.scalars(query)).all()


async def of_organization(session: AsyncSession, user_ids: Iterable[int], organization_id: int) -> set[int]:
    """Those of these users that belong to the organization."""
    query = select(User.id).where(User.id.in_(set(user_ids)), User.organization_id == organization_id)
    return set((await session.scalars(query)).all())


async def authenticate(database: Database, email: str, password: str) -> User:
    """The user with this email and password. No database connection is held while the password is hashed
    (tens of milliseconds each): a burst of logins queueing for the hash must not take the pool."""
    async with database.transaction() as session:
        user = await find_user_by_email(session, email)
    if not await verify_password(password, user.password_hash if user else None) or user is None:
        raise AuthenticationFailed("incorrect email or password")
    if not user.is_active:
        raise AuthenticationFailed("this account is disabled")
    if needs_rehash(user.password_hash):
        rehashed = await hash_password(password)
        async with database.transaction() as session:
            await session.execute(update(User).where(User.id == user.id).values(password_hash=rehashed))
    return user


def revoke_tokens(user: User) -> None:
    """Every token issued to the user so far stops working (serve_app/tokens.py)."""
    user.token_generation += 1


async def update_user(session: AsyncSession, user: User, changes: dict[str, Any], acting: User) -> User:
    """Apply an admin's changes; admins cannot lock themselves out by demoting or disabling themselves. A
    new password, a new role or a disable revokes the user's tokens."""
    if user.id == acting.id and (changes.get("is_active") is False or changes.get("role", Role.ADMIN) != Role.ADMIN):
        raise Conflict("you cannot disable or demote your own account")
    if "password" in changes or changes.get("is_active") is False or changes.get("role", user.role) != user.role:
        revoke_tokens(user)
    if "password" in changes:
        user.password_hash = await hash_password(changes.pop("password"))
    for name, value in changes.items():
        setattr(user, name, value.strip() if name == "full_name" else value)
    await session.flush()
    return user


async def ensure_admin(session: AsyncSession, *, email: str, password: str) -> User:
    """Create the bootstrap admin once (in the default organization), and mark it the operator; an existing
    account with that email keeps its password and name."""
    admin = await find_user_by_email(session, email)
    if admin is None:
        admin = await create_user(session, email=email, password=password, full_name="Administrator", role=Role.ADMIN)
    admin.is_operator = True
    await session.flush()
    return admin
