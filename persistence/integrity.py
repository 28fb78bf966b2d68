"""Integrity signals of attempts (focus lost, page hidden, paste, fullscreen left), and how long answers to
an item usually take, for telling which answers came far faster than that (domain/answer_timing.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.answer_timing import ItemTiming
from persistence.models import IntegrityEvent, Response

TIMING_SAMPLE = 500  # an item's median is taken over its most recent responses, this many at most


def record(
    session: AsyncSession,
    attempt_id: int,
    kind: str,
    question_index: int,
    client_at: datetime | None,
    detail: str | None,
) -> None:
    session.add(
        IntegrityEvent(
            attempt_id=attempt_id, kind=kind, question_index=question_index, client_at=client_at, detail=detail
        )
    )


async def events_of_attempt(session: AsyncSession, attempt_id: int) -> Sequence[IntegrityEvent]:
    query = select(IntegrityEvent).where(IntegrityEvent.attempt_id == attempt_id).order_by(IntegrityEvent.id)
    return (await session.scalars(query)).all()


async def item_timings(session: AsyncSession, item_ids: Iterable[str]) -> dict[str, ItemTiming | None]:
    """Each item's median answer time over its most recent responses (None: never answered), in one query."""
    wanted = sorted(set(item_ids))
    recency = func.row_number().over(partition_by=Response.item_id, order_by=Response.id.desc())
    ranked = (
        select(Response.item_id, Response.time_taken_s, recency.label("recency"))
        .where(Response.item_id.in_(wanted))
        .subquery()
    )
    rows = await session.execute(
        select(ranked.c.item_id, ranked.c.time_taken_s).where(ranked.c.recency <= TIMING_SAMPLE)
    )
    times: dict[str, list[float]] = {item_id: [] for item_id in wanted}
    for item_id, seconds in rows.all():
        times[item_id].append(seconds)
    return {item_id: ItemTiming.of(recent) for item_id, recent in times.items()}
