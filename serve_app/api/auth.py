"""POST /auth/token: the OAuth2 password flow; POST /auth/logout: every session of the user ends."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from domain.errors import AuthenticationFailed
from domain.text_rules import holds_nul
from persistence import users
from serve_app.client_address import client_address
from serve_app.dependencies import CurrentUser, SessionDep, StateDep
from serve_app.revocations import announce_after_commit
from serve_app.schemas import TokenResponse

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenResponse)
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, state: StateDep, session: SessionDep
) -> TokenResponse:
    """A token for a right email and password; failures are throttled per account and per client address
    (429 with Retry-After, serve_app/login_throttle.py)."""
    account = users.normalize_email(form.username)[:320]  # no stored email is longer
    address = client_address(request, state.settings.trusted_proxies)
    async with state.login_throttle.attempt(account, address):
        if holds_nul([form.username, form.password]):  # no stored email or password holds one
            raise AuthenticationFailed("incorrect email or password")
        user = await users.authenticate(session, form.username, form.password)
    return TokenResponse(
        access_token=state.tokens.issue(user.id, user.role, generation=user.token_generation),
        expires_in=int(state.tokens.lifetime.total_seconds()),
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def log_out(user: CurrentUser, state: StateDep, session: SessionDep, after_commit: BackgroundTasks) -> Response:
    """Revoke every token of the user (all their sessions, on every device); open sockets close with 4401."""
    users.revoke_tokens(user)
    await session.flush()
    announce_after_commit(after_commit, state.registry, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
