"""Item parameter sets: calibrate stored responses into a draft (admin), review sets (staff), activate one
(admin). The live pool and the simulator read the active set; attempts keep the set they started with."""

from datetime import UTC, datetime

from fastapi import APIRouter, status

from domain.enums import AuditAction
from persistence import audit, catalog, parameter_sets
from persistence.models import ParameterSet
from serve_app.dependencies import ActorDep, AdminUser, OwnParameterSet, SessionDep, StaffUser
from serve_app.schemas import CalibratedItemRead, ParameterSetCreate, ParameterSetDetail, ParameterSetRead

router = APIRouter(prefix="/api/parameter-sets", tags=["calibration"])


def set_view(parameter_set: ParameterSet, items: int) -> ParameterSetRead:
    return ParameterSetRead.model_validate(
        {
            **{name: getattr(parameter_set, name) for name in ParameterSetRead.model_fields if name != "items"},
            "items": items,
        }
    )


def set_detail(parameter_set: ParameterSet) -> ParameterSetDetail:
    return ParameterSetDetail(
        **set_view(parameter_set, len(parameter_set.items)).model_dump(),
        parameters=[
            CalibratedItemRead.model_validate(item) for item in sorted(parameter_set.items, key=lambda i: i.item_id)
        ],
    )


@router.post("", response_model=ParameterSetDetail, status_code=status.HTTP_201_CREATED)
async def calibrate_tests(
    body: ParameterSetCreate, admin: AdminUser, actor: ActorDep, session: SessionDep
) -> ParameterSetDetail:
    for test_id in body.test_ids:
        await catalog.get_test(session, test_id, admin.organization_id)  # 404: none, or another organization's
    created, _ = await parameter_sets.calibrate_tests(
        session, sorted(set(body.test_ids)), body.model, body.anchored_to_active, admin.id, body.note
    )
    audit.record(
        session,
        actor,
        AuditAction.PARAMETER_SET_CREATED,
        "parameter_set",
        created.id,
        request=body.model_dump(mode="json"),
    )
    return set_detail(await parameter_sets.get_set(session, created.id))


@router.get("", response_model=list[ParameterSetRead])
async def list_sets(staff: StaffUser, session: SessionDep) -> list[ParameterSetRead]:
    listed = await parameter_sets.list_sets(session, staff.organization_id)
    return [set_view(parameter_set, items) for parameter_set, items in listed]


@router.get("/{set_id}", response_model=ParameterSetDetail)
async def read_set(chosen: OwnParameterSet) -> ParameterSetDetail:
    return set_detail(chosen)


@router.post("/{set_id}/activate", response_model=ParameterSetDetail)
async def activate_set(
    chosen: OwnParameterSet, admin: AdminUser, actor: ActorDep, session: SessionDep
) -> ParameterSetDetail:
    """The organization's attempts that start from now are scored with this set; attempts already running
    keep theirs."""
    activated = await parameter_sets.activate(session, chosen.id, admin.id, datetime.now(UTC))
    audit.record(session, actor, AuditAction.PARAMETER_SET_ACTIVATED, "parameter_set", activated.id)
    return set_detail(activated)
