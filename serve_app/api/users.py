"""Users: admins create accounts in their organization; staff list its users; everyone reads their own profile."""

from fastapi import APIRouter, BackgroundTasks, status

from domain.enums import AuditAction, Role
from domain.errors import InvalidRequest, NotFound, PermissionDenied
from persistence import audit, organizations, users
from persistence.models import User
from serve_app.dependencies import ActorDep, AdminUser, CurrentUser, OwnUser, SessionDep, StaffUser, StateDep
from serve_app.revocations import announce_after_commit
from serve_app.schemas import UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/api", tags=["users"])


@router.post("/users", response_model=UserRead, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, admin: AdminUser, actor: ActorDep, session: SessionDep) -> User:
    """A user of the admin's organization; the operator may name another (`organization_id`)."""
    organization_id = admin.organization_id
    if body.organization_id is not None and body.organization_id != admin.organization_id:
        if not admin.is_operator:
            raise PermissionDenied("only the operator creates users in another organization")
        try:
            organization_id = (await organizations.get_organization(session, body.organization_id)).id
        except NotFound as missing:
            raise InvalidRequest(missing.message) from None
    user = await users.create_user(
        session,
        email=str(body.email),
        password=body.password,
        full_name=body.full_name,
        role=body.role,
        organization_id=organization_id,
    )
    audit.record(
        session,
        actor,
        AuditAction.USER_CREATED,
        "user",
        user.id,
        in_organization=organization_id,
        email=user.email,
        role=user.role.value,
    )
    return user


@router.get("/users", response_model=list[UserRead])
async def list_users(staff: StaffUser, session: SessionDep, role: Role | None = None) -> list[User]:
    return list(await users.list_users(session, staff.organization_id, role))


@router.get("/users/me", response_model=UserRead)
async def read_me(user: CurrentUser) -> User:
    return user


@router.get("/users/{user_id}", response_model=UserRead)
async def read_user(user: OwnUser) -> User:
    return user


@router.patch("/users/{user_id}", response_model=UserRead)
async def update_user(
    user: OwnUser,
    body: UserUpdate,
    admin: AdminUser,
    actor: ActorDep,
    session: SessionDep,
    state: StateDep,
    after_commit: BackgroundTasks,
) -> User:
    """Rename, reset the password, change the role, or disable/enable an account; a new password, a new
    role or a disable revokes the user's tokens, and their open sockets close."""
    generation, was_active = user.token_generation, user.is_active
    user = await users.update_user(session, user, body.model_dump(exclude_unset=True), acting=admin)
    changed = body.model_dump(mode="json", exclude_unset=True, exclude={"password", "is_active"})
    if body.password is not None:
        changed["password"] = "changed"  # never its value
    if changed:
        audit.record(session, actor, AuditAction.USER_UPDATED, "user", user.id, email=user.email, changes=changed)
    if user.is_active != was_active:
        action = AuditAction.USER_ENABLED if user.is_active else AuditAction.USER_DISABLED
        audit.record(session, actor, action, "user", user.id, email=user.email)
    if user.token_generation != generation:
        announce_after_commit(after_commit, state.registry, user)
    return user
