"""FastAPI dependencies, as `Annotated` aliases so that route signatures read as domain terms."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import Role
from domain.errors import AuthenticationFailed, PermissionDenied
from persistence.audit import Actor
from persistence.models import User
from serve_app.client_address import client_address
from serve_app.schemas import MAX_RECORD_ID
from serve_app.state import ReplicaState

_bearer = OAuth2PasswordBearer(tokenUrl="auth/token", auto_error=False)

# A record's id in a path: larger numbers than any key get a 422, not a database overflow.
IdInPath = Annotated[int, Path(ge=1, le=MAX_RECORD_ID)]


def get_state(request: Request) -> ReplicaState:
    state: ReplicaState = request.app.state.replica
    return state


StateDep = Annotated[ReplicaState, Depends(get_state)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    async with state.database.transaction() as session:
        yield session


# scope="function": commit before the response is sent, so that whatever a client is told happened has
# happened (the default "request" scope would commit only after the response went out).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_current_user(state: StateDep, session: SessionDep, token: str | None = Depends(_bearer)) -> User:
    if not token:
        raise AuthenticationFailed("not authenticated: send a bearer token")
    claims = state.tokens.verify(token)
    user = await session.get(User, claims.user_id)
    if user is None or not claims.still_valid_for(user):
        raise AuthenticationFailed("the token was revoked, or its user does not exist or is disabled")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[[User], Coroutine[Any, Any, User]]:
    async def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise PermissionDenied(f"this action needs the role {' or '.join(role.value for role in roles)}")
        return user

    return check


def get_actor(request: Request, state: StateDep, user: CurrentUser) -> Actor:
    """Who is acting, for the audit log: the user and their client's address."""
    return Actor(user.id, user.email, client_address(request, state.settings.trusted_proxies))


ActorDep = Annotated[Actor, Depends(get_actor)]

AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN))]
StaffUser = Annotated[User, Depends(require_roles(Role.ADMIN, Role.RECRUITER))]
CandidateUser = Annotated[User, Depends(require_roles(Role.CANDIDATE))]
