"""Calibrated item parameters as versioned sets: the responses a calibration reads, storing its result as a
draft, reviewing and activating one, and the active set as the live pool and the simulator read it.

A set never changes once stored (only its status moves: draft, active, retired), so a process keeps each
set it has read (`calibrated_sets`) for good. At most one set is active; activating one retires the one
before. Attempts take the set active when they start and keep it, so a calibration activated mid-test
changes nothing for attempts already running.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from adaptive.calibration import CalibratedSet
from adaptive.mml import Calibration, Model, Responses, calibrate
from domain.enums import ParameterSetStatus
from domain.errors import InvalidRequest, NotFound
from persistence.models import DEFAULT_ORGANIZATION_ID, Attempt, CalibratedItem, ParameterSet, Response, Test

MISFIT_RMSD = 0.12  # an item whose RMSD exceeds this is listed for review

_known: dict[int, CalibratedSet] = {}  # every set this process has read (sets never change)


@dataclass(frozen=True)
class ResponseSource:
    """What a calibration from stored responses read: (person, item, correct) rows and where they came from."""

    rows: list[tuple[str, str, bool]]
    description: dict[str, Any]


def calibration_item(item_id: str, family: str | None) -> str:
    """What a response calibrates: a bank or generated item by its id, a family variant as its family (the
    pool's entry: every variant of a family shares its parameters)."""
    return family or item_id


async def stored_responses(session: AsyncSession, test_ids: Sequence[int]) -> ResponseSource:
    """Every stored response of the tests' attempts, the attempt being the person (a candidate's second
    attempt is a second measurement), in answer order."""
    result = await session.execute(
        select(Response.attempt_id, Response.item_id, Response.item_snapshot, Response.is_correct, Response.answered_at)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(Attempt.test_id.in_(test_ids))
        .order_by(Response.attempt_id, Response.index)
    )
    rows: list[tuple[str, str, bool]] = []
    first: datetime | None = None
    last: datetime | None = None
    for attempt_id, item_id, snapshot, correct, answered_at in result.all():
        rows.append((str(attempt_id), calibration_item(item_id, snapshot.get("family")), bool(correct)))
        first = answered_at if first is None or answered_at < first else first
        last = answered_at if last is None or answered_at > last else last
    return ResponseSource(
        rows,
        {
            "tests": sorted(test_ids),
            "responses": len(rows),
            "persons": len({person for person, _, _ in rows}),
            "first_answer": first.isoformat() if first else None,
            "last_answer": last.isoformat() if last else None,
        },
    )


def _number(value: float) -> float | None:
    """A standard error or fit figure; None where it was not estimated (NaN)."""
    return None if math.isnan(value) else round(float(value), 6)


async def store(
    session: AsyncSession,
    calibration: Calibration,
    source: dict[str, Any],
    created_by_id: int | None,
    note: str = "",
    organization_id: int = DEFAULT_ORGANIZATION_ID,
) -> ParameterSet:
    """Keep a calibration as a new draft set of the organization."""
    misfit = [item for item, rmsd in zip(calibration.item_ids, calibration.rmsd, strict=True) if rmsd > MISFIT_RMSD]
    parameter_set = ParameterSet(
        organization_id=organization_id,
        model=calibration.model,
        status=ParameterSetStatus.DRAFT,
        source=source,
        fit={
            "cycles": calibration.cycles,
            "converged": calibration.converged,
            "log_likelihood": round(calibration.log_likelihood, 3),
            "ability_mean": round(calibration.ability_mean, 4),
            "ability_sd": round(calibration.ability_sd, 4),
            "items": len(calibration.item_ids),
            "anchored_items": int(calibration.anchored.sum()),
            "misfit_items": misfit,
        },
        note=note,
        created_by_id=created_by_id,
    )
    parameter_set.items = [
        CalibratedItem(
            item_id=item_id,
            a=round(float(calibration.a[i]), 6),
            b=round(float(calibration.b[i]), 6),
            c=round(float(calibration.c[i]), 6),
            se_a=_number(calibration.se_a[i]),
            se_b=_number(calibration.se_b[i]),
            se_c=_number(calibration.se_c[i]),
            n=int(calibration.n[i]),
            rmsd=_number(calibration.rmsd[i]),
            anchored=bool(calibration.anchored[i]),
        )
        for i, item_id in enumerate(calibration.item_ids)
    ]
    session.add(parameter_set)
    await session.flush()
    return parameter_set


async def list_sets(session: AsyncSession, organization_id: int) -> list[tuple[ParameterSet, int]]:
    """Every set of the organization, newest first, with its number of items."""
    counts = (
        select(func.count())
        .where(CalibratedItem.parameter_set_id == ParameterSet.id)
        .correlate(ParameterSet)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(ParameterSet, counts)
        .where(ParameterSet.organization_id == organization_id)
        .order_by(ParameterSet.id.desc())
    )
    return [(parameter_set, int(count)) for parameter_set, count in rows.all()]


async def get_set(session: AsyncSession, set_id: int, organization_id: int | None = None) -> ParameterSet:
    """A set with its items; with `organization_id`, only one of that organization (another's is not found)."""
    found = await session.scalar(
        select(ParameterSet).where(ParameterSet.id == set_id).options(selectinload(ParameterSet.items))
    )
    if found is None or organization_id not in (None, found.organization_id):
        raise NotFound(f"parameter set {set_id} not found")
    return found


async def activate(session: AsyncSession, set_id: int, user_id: int | None, now: datetime) -> ParameterSet:
    """Make a reviewed set its organization's active one (the set active there before is retired). A retired
    set may be activated again (a rollback); activating the active set changes nothing."""
    chosen = await get_set(session, set_id)
    if chosen.status is ParameterSetStatus.ACTIVE:
        return chosen
    await session.execute(
        update(ParameterSet)
        .where(
            ParameterSet.status == ParameterSetStatus.ACTIVE,
            ParameterSet.organization_id == chosen.organization_id,
        )
        .values(status=ParameterSetStatus.RETIRED)
    )
    await session.flush()
    chosen.status = ParameterSetStatus.ACTIVE
    chosen.activated_by_id = user_id
    chosen.activated_at = now
    await session.flush()
    return chosen


async def active_set_ids(session: AsyncSession, organization_ids: Iterable[int]) -> dict[int, int]:
    """Each organization's active set, for those that have one."""
    rows = await session.execute(
        select(ParameterSet.organization_id, ParameterSet.id).where(
            ParameterSet.status == ParameterSetStatus.ACTIVE, ParameterSet.organization_id.in_(set(organization_ids))
        )
    )
    return {organization_id: set_id for organization_id, set_id in rows.all()}


async def calibrated_sets(session: AsyncSession, set_ids: Iterable[int | None]) -> dict[int, CalibratedSet]:
    """The sets named, as the pool reads them: from this process's memory, or read once."""
    wanted = {set_id for set_id in set_ids if set_id is not None}
    missing = wanted - _known.keys()
    if missing:
        values: dict[int, dict[str, tuple[float, float, float]]] = {set_id: {} for set_id in missing}
        rows = await session.execute(
            select(
                CalibratedItem.parameter_set_id,
                CalibratedItem.item_id,
                CalibratedItem.a,
                CalibratedItem.b,
                CalibratedItem.c,
            ).where(CalibratedItem.parameter_set_id.in_(missing))
        )
        for set_id, item_id, a, b, c in rows.all():
            values[set_id][item_id] = (a, b, c)
        for set_id, items in values.items():
            _known[set_id] = CalibratedSet(set_id, items)
    return {set_id: _known[set_id] for set_id in wanted}


async def active_set(session: AsyncSession, organization_id: int = DEFAULT_ORGANIZATION_ID) -> CalibratedSet | None:
    set_id = (await active_set_ids(session, [organization_id])).get(organization_id)
    return None if set_id is None else (await calibrated_sets(session, [set_id]))[set_id]


async def calibrate_tests(
    session: AsyncSession,
    test_ids: Sequence[int],
    model: Model,
    anchored_to_active: bool,
    created_by_id: int | None,
    note: str = "",
    made_with: str = "POST /api/parameter-sets",
) -> tuple[ParameterSet, Calibration]:
    """Calibrate the tests' stored responses (of one organization) and keep the result as a draft set of
    that organization. Anchored to its active set, the set's items stay fixed and the rest are estimated on
    its scale (fixed-parameter calibration).
    `made_with` records how it was asked for (the route, or the command and the operating-system user). The
    estimation runs in a worker thread: it takes seconds for a large test and must not hold an event loop."""
    organizations = set((await session.scalars(select(Test.organization_id).where(Test.id.in_(test_ids)))).all())
    if len(organizations) > 1:
        raise InvalidRequest("a parameter set is calibrated from the tests of one organization")
    organization_id = organizations.pop() if organizations else DEFAULT_ORGANIZATION_ID
    source = await stored_responses(session, test_ids)
    if not source.rows:
        raise InvalidRequest("these tests have no stored responses to calibrate from")
    active = await active_set(session, organization_id) if anchored_to_active else None
    anchors = dict(active.values) if active else {}
    calibration = await asyncio.to_thread(calibrate, Responses.of(source.rows), model, anchors)
    description = {**source.description, "anchored_to": active.id if active else None, "made_with": made_with}
    stored = await store(session, calibration, description, created_by_id, note, organization_id)
    return stored, calibration
