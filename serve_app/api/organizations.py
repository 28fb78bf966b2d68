"""/api/organizations: the operator (the bootstrapped admin) creates organizations and lists them; other
staff see their own. An organization's first admin is created by the operator with `POST /api/users`
naming it; from then on its admins manage it."""

from fastapi import APIRouter, status

from domain.enums import AuditAction
from persistence import audit, organizations
from persistence.models import Organization
from serve_app.dependencies import ActorDep, OperatorUser, SessionDep, StaffUser
from serve_app.schemas import OrganizationCreate, OrganizationRead

router = APIRouter(prefix="/api/organizations", tags=["organizations"])


@router.post("", response_model=OrganizationRead, status_code=status.HTTP_201_CREATED)
async def create_organization(
    body: OrganizationCreate, _: OperatorUser, actor: ActorDep, session: SessionDep
) -> Organization:
    organization = await organizations.create_organization(session, body.name)
    audit.record(
        session,
        actor,
        AuditAction.ORGANIZATION_CREATED,
        "organization",
        organization.id,
        in_organization=organization.id,
        name=organization.name,
    )
    return organization


@router.get("", response_model=list[OrganizationRead])
async def list_organizations(staff: StaffUser, session: SessionDep) -> list[Organization]:
    """Every organization for the operator; one's own for other staff."""
    if staff.is_operator:
        return list(await organizations.list_organizations(session))
    return [await organizations.get_organization(session, staff.organization_id)]
