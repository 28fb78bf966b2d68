"""POST /auth/token: the OAuth2 password flow."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from domain.errors import AuthenticationFailed
from domain.text_rules import holds_nul
from persistence import users
from serve_app.dependencies import SessionDep, StateDep
from serve_app.schemas import TokenResponse

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenResponse)
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], state: StateDep, session: SessionDep
) -> TokenResponse:
    if holds_nul([form.username, form.password]):  # no stored email or password holds one
        raise AuthenticationFailed("incorrect email or password")
    user = await users.authenticate(session, form.username, form.password)
    return TokenResponse(
        access_token=state.tokens.issue(user.id, user.role),
        expires_in=int(state.tokens.lifetime.total_seconds()),
    )
