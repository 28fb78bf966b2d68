"""FastAPI dependencies, as `Annotated` aliases so that route signatures read as domain terms."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import Role
from domain.errors import AuthenticationFailed, PermissionDenied
from persistence import catalog, parameter_sets, users
from persistence.audit import Actor
from persistence.models import ParameterSet, Test, User
from serve_app.client_address import client_address
from serve_app.schemas import MAX_RECORD_ID
from serve_app.state import ReplicaState

_bearer = OAuth2PasswordBearer(tokenUrl="auth/token", auto_error=False)

# A record's id in a path: larger numbers than any key get a 422, not a database overflow.
IdInPath = Annotated[int, Path(ge=1, le=MAX_RECORD_ID)]


async def get_state(request: Request) -> ReplicaState:
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


async def get_actor(request: Request, state: StateDep, user: CurrentUser) -> Actor:
    """Who is acting, for the audit log: the user, their organization and their client's address."""
    return Actor(user.id, user.email, client_address(request, state.settings.trusted_proxies), user.organization_id)


ActorDep = Annotated[Actor, Depends(get_actor)]

AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN))]
StaffUser = Annotated[User, Depends(require_roles(Role.ADMIN, Role.RECRUITER))]
CandidateUser = Annotated[User, Depends(require_roles(Role.CANDIDATE))]


async def get_operator(admin: AdminUser) -> User:
    if not admin.is_operator:
        raise PermissionDenied("only the operator (the bootstrapped admin) may do this")
    return admin


OperatorUser = Annotated[User, Depends(get_operator)]

# Records named in a path, of the staff member's own organization: another organization's are not found
# (404, as for an id that names nothing), so no route tells one organization what another holds.


async def own_test(test_id: IdInPath, staff: StaffUser, session: SessionDep) -> Test:
    return await catalog.get_test(session, test_id, staff.organization_id)


async def own_user(user_id: IdInPath, staff: StaffUser, session: SessionDep) -> User:
    return await users.get_user(session, user_id, staff.organization_id)


async def own_parameter_set(set_id: IdInPath, staff: StaffUser, session: SessionDep) -> ParameterSet:
    return await parameter_sets.get_set(session, set_id, staff.organization_id)


OwnTest = Annotated[Test, Depends(own_test)]
OwnUser = Annotated[User, Depends(own_user)]
OwnParameterSet = Annotated[ParameterSet, Depends(own_parameter_set)]
