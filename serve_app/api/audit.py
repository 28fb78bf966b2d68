"""/api/audit: the audit log of an organization's staff actions, for its admins, as JSON pages (newest first)
or as CSV."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime

from domain.enums import AuditAction
from domain.errors import InvalidRequest
from persistence import audit
from serve_app.audit_csv import audit_csv
from serve_app.dependencies import AdminUser, SessionDep
from serve_app.schemas import MAX_RECORD_ID, AuditEventRead

router = APIRouter(prefix="/api", tags=["audit"])
PAGE_DEFAULT, PAGE_MAX = 100, 1_000
EXPORT_MAX = 100_000


async def event_filter(
    admin: AdminUser,
    actor_id: Annotated[int | None, Query(ge=1, le=MAX_RECORD_ID, description="only this user's actions")] = None,
    action: Annotated[AuditAction | None, Query(description="only this action")] = None,
    since: Annotated[AwareDatetime | None, Query(description="at or after (ISO 8601 with a UTC offset)")] = None,
    until: Annotated[AwareDatetime | None, Query(description="before (ISO 8601 with a UTC offset)")] = None,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_RECORD_ID, description="the next page: events older than this id")
    ] = None,
) -> audit.EventFilter:
    if since is not None and until is not None and until <= since:
        raise InvalidRequest("until must be later than since")
    return audit.EventFilter(admin.organization_id, actor_id, action, since, until, before_id)


EventFilterDep = Annotated[audit.EventFilter, Depends(event_filter)]


@router.get("/audit", response_model=list[AuditEventRead])
async def read_audit_log(
    where: EventFilterDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
) -> list[AuditEventRead]:
    """Staff actions, newest first; page on with `before_id` set to the last id of a page."""
    return [AuditEventRead.model_validate(event) for event in await audit.read_events(session, where, limit)]


@router.get("/audit.csv", response_class=Response)
async def export_audit_log(
    where: EventFilterDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=EXPORT_MAX)] = EXPORT_MAX,
) -> Response:
    """The same events as CSV, newest first (up to 100,000 a file; page on with `before_id`)."""
    body = audit_csv(await audit.read_events(session, where, limit))
    disposition = 'attachment; filename="audit-log.csv"'
    return Response(body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})
