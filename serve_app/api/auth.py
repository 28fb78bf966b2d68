"""POST /auth/token: the OAuth2 password flow; POST /auth/logout: every session of the user ends."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request, Response, status

from domain.errors import AuthenticationFailed
from domain.text_rules import holds_nul
from persistence import users
from persistence.models import User
from serve_app.client_address import client_address
from serve_app.dependencies import CurrentUser, SessionDep, StateDep
from serve_app.revocations import announce_after_commit
from serve_app.schemas import TokenResponse
from serve_app.state import ReplicaState

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenResponse)
async def issue_token(
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    request: Request,
    state: StateDep,
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
) -> TokenResponse:
    """The OAuth2 password flow: a token for a right email and password; failures are throttled per account
    and per client address (429 with Retry-After, serve_app/login_throttle.py). The form's fields are read
    here rather than through FastAPI's `OAuth2PasswordRequestForm`, a class dependency that FastAPI runs on
    a worker thread: a thread hop (and at times a thread start) per login, measured as the largest share of
    a login's cost on the event loop."""
    account = users.normalize_email(username)[:320]  # no stored email is longer
    address = client_address(request, state.settings.trusted_proxies)
    async with state.login_throttle.attempt(account, address):
        if holds_nul([username, password]):  # no stored email or password holds one
            raise AuthenticationFailed("incorrect email or password")
        user = await users.authenticate(state.database, username, password)
    return token_response(state, user)


def token_response(state: ReplicaState, user: User) -> TokenResponse:
    """A token of the user's current generation, as the OAuth2 password flow answers."""
    return TokenResponse(
        access_token=state.tokens.issue(user.id, user.role, generation=user.token_generation),
        expires_in=int(state.tokens.lifetime.total_seconds()),
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def log_out(user: CurrentUser, state: StateDep, session: SessionDep, after_commit: BackgroundTasks) -> Response:
    """Revoke every token of the user (all their sessions, on every device); open sockets close with 4401."""
    users.revoke_tokens(user)  # committed with the request, before the replicas hear of it
    announce_after_commit(after_commit, state.registry, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
