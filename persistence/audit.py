"""The audit log: staff actions written in the transaction of the action itself (so a record exists exactly
when the action committed), and read back newest first, filtered and paged.

Rows are never changed or deleted: the table's triggers refuse it (migration 0005).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import AuditAction
from persistence.models import AuditEvent

CLI_ADDRESS = "cli"  # the "client address" of what the command line does on the database directly


@dataclass(frozen=True)
class Actor:
    """Who acted and from where: a staff account and its client's address, or the operator at the CLI."""

    user_id: int | None
    email: str
    address: str
    organization_id: int | None = None  # theirs (None: the operator at the CLI)


def operator(login: str) -> Actor:
    """The operator at the command line: no account of the platform, named by their system login."""
    return Actor(None, f"{login} (assess CLI)", CLI_ADDRESS)


@dataclass(frozen=True)
class EventFilter:
    organization_id: int  # whose log
    actor_id: int | None = None
    action: AuditAction | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # the page after one that ended at this id


def record(
    session: AsyncSession,
    actor: Actor,
    action: AuditAction,
    target_type: str,
    target_id: int,
    *,
    in_organization: int | None = None,
    **details: Any,
) -> None:
    """Add the event to the session's transaction: it is stored if, and only if, the action commits. It goes
    to the log of the organization acted on: `in_organization`, by default the actor's own."""
    session.add(
        AuditEvent(
            organization_id=in_organization if in_organization is not None else actor.organization_id,
            actor_id=actor.user_id,
            actor_email=actor.email,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details,
            client_address=actor.address[:64],
        )
    )


async def read_events(session: AsyncSession, where: EventFilter, limit: int) -> Sequence[AuditEvent]:
    """Newest first, at most `limit`."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.organization_id == where.organization_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    if where.actor_id is not None:
        query = query.where(AuditEvent.actor_id == where.actor_id)
    if where.action is not None:
        query = query.where(AuditEvent.action == where.action)
    if where.since is not None:
        query = query.where(AuditEvent.at >= where.since)
    if where.until is not None:
        query = query.where(AuditEvent.at < where.until)
    if where.before_id is not None:
        query = query.where(AuditEvent.id < where.before_id)
    return (await session.scalars(query)).all()
