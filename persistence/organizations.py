"""Organizations: the hiring teams one deployment serves, each seeing only its own data."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, NotFound
from persistence.models import Organization


async def create_organization(session: AsyncSession, name: str) -> Organization:
    organization = Organization(name=name.strip())
    session.add(organization)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"an organization named {organization.name!r} already exists") from None
    return organization


async def get_organization(session: AsyncSession, organization_id: int) -> Organization:
    organization = await session.get(Organization, organization_id)
    if organization is None:
        raise NotFound(f"organization {organization_id} not found")
    return organization


async def list_organizations(session: AsyncSession) -> Sequence[Organization]:
    return (await session.scalars(select(Organization).order_by(Organization.id))).all()
