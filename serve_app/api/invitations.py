"""Inviting people by email, and password links issued by staff.

`POST /api/tests/{id}/invitations` takes names and emails: a person without an account gets one (a
candidate's, in the test's organization, with no password) and a single-use link to choose the password;
everyone listed becomes eligible for the test. The links are returned to the staff (to copy where no mail
is configured) and mailed after the commit where `ASSESS_SMTP_HOST` is set.

`POST /api/tests/{id}/invitations.csv` takes the same people as a spreadsheet's CSV.

`POST /api/users/{id}/password-link` (admins) issues a reset link for a user of their organization, the
way to help someone who cannot receive mail.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import AuditAction, PasswordLinkPurpose, Role
from domain.errors import InvalidRequest
from persistence import audit, password_links, users
from persistence.audit import Actor
from persistence.models import Test, User
from serve_app import password_mail
from serve_app.api.assessments import enrol
from serve_app.dependencies import ActorDep, AdminUser, OwnTest, OwnUser, SessionDep, StateDep
from serve_app.invitation_csv import read_people
from serve_app.schemas import InvitationRead, InvitationsCreate, PasswordLinkRead
from serve_app.state import ReplicaState

router = APIRouter(tags=["invitations"])


def _mail_state(configured: bool) -> Literal["queued", "not_configured"]:
    return "queued" if configured else "not_configured"


@router.post(
    "/api/tests/{test_id}/invitations", status_code=status.HTTP_201_CREATED, response_model=list[InvitationRead]
)
async def invite(
    test: OwnTest,
    body: InvitationsCreate,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    state: StateDep,
    after_commit: BackgroundTasks,
) -> list[InvitationRead]:
    return await _invite(test, body, request, actor, session, state, after_commit)


CSV_BODY = {"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}}


@router.post(
    "/api/tests/{test_id}/invitations.csv",
    status_code=status.HTTP_201_CREATED,
    response_model=list[InvitationRead],
    openapi_extra=CSV_BODY,
)
async def invite_from_csv(
    test: OwnTest,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    state: StateDep,
    after_commit: BackgroundTasks,
    extra_time_minutes: Annotated[int, Query(ge=0, le=24 * 60)] = 0,
) -> list[InvitationRead]:
    """The same, from a spreadsheet saved as CSV (the body, `text/csv`): a header row naming `email` and
    `full_name` (or `name`), one person a line (serve_app/invitation_csv.py)."""
    body = read_people(await request.body(), extra_time_minutes)
    return await _invite(test, body, request, actor, session, state, after_commit)


async def _invite(
    test: Test,
    body: InvitationsCreate,
    request: Request,
    actor: Actor,
    session: AsyncSession,
    state: ReplicaState,
    after_commit: BackgroundTasks,
) -> list[InvitationRead]:
    settings = state.settings
    emails = [users.normalize_email(str(person.email)) for person in body.candidates]
    existing = {user.email: user for user in (await session.scalars(select(User).where(User.email.in_(emails))))}
    elsewhere = sorted(email for email, user in existing.items() if user.organization_id != test.organization_id)
    if elsewhere:
        raise InvalidRequest(f"these emails belong to accounts of another organization: {', '.join(elsewhere)}")
    staff = sorted(email for email, user in existing.items() if user.role is not Role.CANDIDATE)
    if staff:
        raise InvalidRequest(f"these accounts are not candidates: {', '.join(staff)}")
    people: list[tuple[User, bool]] = []
    for person, email in zip(body.candidates, emails, strict=True):
        user = existing.get(email)
        if user is None:
            user = await users.create_user(
                session,
                email=email,
                password=None,
                full_name=person.full_name,
                role=Role.CANDIDATE,
                organization_id=test.organization_id,
            )
            audit.record(session, actor, AuditAction.USER_CREATED, "user", user.id, email=email, by="invitation")
        people.append((user, email not in existing))
    await enrol(test, [user.id for user, _ in people], body.extra_time_minutes, actor, session, state, after_commit)

    lifetime = timedelta(hours=settings.invitation_lifetime_hours)
    invitations, letters = [], []
    for user, new_account in people:
        link, expires_at = None, None
        if not users.has_password(user):  # new, or invited before and never signed in
            issued = await password_links.issue(session, user, PasswordLinkPurpose.INVITATION, lifetime)
            link, expires_at = password_mail.link_url(settings, request, issued.token), issued.expires_at
            letters.append(password_mail.invitation(user.email, user.full_name, test.title, link, expires_at))
        else:
            page = password_mail.page_url(settings, request)
            letters.append(password_mail.invitation_to_an_account(user.email, user.full_name, test.title, page))
        invitations.append(
            InvitationRead(
                user_id=user.id,
                email=user.email,
                full_name=user.full_name,
                new_account=new_account,
                link=link,
                link_expires_at=expires_at,
                mail=_mail_state(state.mailer.configured),
            )
        )
    if state.mailer.configured:
        after_commit.add_task(password_mail.post, state.mailer, letters)
    return invitations


@router.post("/api/users/{user_id}/password-link", response_model=PasswordLinkRead)
async def issue_password_link(
    user: OwnUser,
    admin: AdminUser,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    state: StateDep,
    after_commit: BackgroundTasks,
) -> PasswordLinkRead:
    """A reset link for the user (an invitation link for an account that never had a password)."""
    settings = state.settings
    first = not users.has_password(user)
    purpose = PasswordLinkPurpose.INVITATION if first else PasswordLinkPurpose.RESET
    lifetime = timedelta(hours=settings.invitation_lifetime_hours if first else settings.reset_lifetime_minutes / 60)
    issued = await password_links.issue(session, user, purpose, lifetime)
    link = password_mail.link_url(settings, request, issued.token)
    audit.record(session, actor, AuditAction.USER_UPDATED, "user", user.id, password_link=purpose.value)
    if state.mailer.configured:
        letter = password_mail.reset(user.email, user.full_name, link, issued.expires_at)
        after_commit.add_task(password_mail.post, state.mailer, [letter])
    return PasswordLinkRead(link=link, expires_at=issued.expires_at, mail=_mail_state(state.mailer.configured))
