"""Choosing a password through a link: `POST /auth/password-link` tells what a link is for, `POST
/auth/password` uses it, and `POST /auth/password-reset` mails a reset link to an account's address.

The token travels in request bodies only. A reset request answers 202 with the same words whether or not
the address has an account (nobody learns which addresses do), and mails at most
`RESETS_PER_ACCOUNT` links an hour to one address; the client address is throttled like failed logins.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks, Request, status
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from domain.enums import PasswordLinkPurpose
from persistence import password_links, users
from serve_app import password_mail
from serve_app.api.auth import token_response
from serve_app.client_address import client_address
from serve_app.dependencies import SessionDep, StateDep
from serve_app.schemas import PasswordLinkCheck, PasswordLinkInfo, PasswordResetRequest, PasswordSet, TokenResponse

router = APIRouter(prefix="/auth", tags=["auth"])

RESETS_PER_ACCOUNT = parse("3/hour")
RESET_REQUESTS_PER_ADDRESS = parse("20/hour")
_resets = MovingWindowRateLimiter(MemoryStorage())  # this replica's counts, as the login throttle's


@router.post("/password-link", response_model=PasswordLinkInfo)
async def check_link(body: PasswordLinkCheck, session: SessionDep) -> PasswordLinkInfo:
    link, user = await password_links.usable(session, body.token)
    return PasswordLinkInfo(
        purpose=link.purpose, email=user.email, full_name=user.full_name, expires_at=link.expires_at
    )


@router.post("/password", response_model=TokenResponse)
async def set_password(body: PasswordSet, session: SessionDep, state: StateDep) -> TokenResponse:
    """Use a link: the new password, every earlier token of the user revoked, and a token to go on with."""
    user = await password_links.set_password(session, body.token, body.password)
    return token_response(state, user)


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED)
async def request_reset(
    body: PasswordResetRequest, request: Request, session: SessionDep, state: StateDep, after_commit: BackgroundTasks
) -> dict[str, str]:
    settings = state.settings
    address = client_address(request, settings.trusted_proxies)
    state.login_throttle.check_address(address)
    email = users.normalize_email(str(body.email))
    user = await users.find_user_by_email(session, email)
    if (
        user is not None
        and user.is_active
        and state.mailer.configured
        and _resets.hit(RESET_REQUESTS_PER_ADDRESS, "reset-address", address)
        and _resets.hit(RESETS_PER_ACCOUNT, "reset-account", email)
    ):
        lifetime = timedelta(minutes=settings.reset_lifetime_minutes)
        issued = await password_links.issue(session, user, PasswordLinkPurpose.RESET, lifetime)
        link = password_mail.link_url(settings, request, issued.token)
        letter = password_mail.reset(user.email, user.full_name, link, issued.expires_at)
        after_commit.add_task(password_mail.post, state.mailer, [letter])
    return {"detail": "if this address has an account, a link to choose a new password is on its way"}
