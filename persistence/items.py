"""The item catalogue table: keeps the shipped bank, with its IRT parameters, in the database for reports
and joins."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adaptive.calibration import starting_parameters
from persistence.models import Item as ItemRow
from questions.items import Item

GENERATED_SOURCE = "llm"


def _row_values(item: Item, source: str, parameters: tuple[float, float, float] | None = None) -> dict[str, object]:
    a, b, c = parameters or starting_parameters(item)
    return {
        "skill": item.skill,
        "difficulty": item.difficulty,
        "source": source,
        "family": item.family,
        "stem": item.stem,
        "options": [option.model_dump() for option in item.options],
        "key": item.key,
        "explanation": item.explanation,
        "tags": list(item.tags),
        "irt_a": a,
        "irt_b": b,
        "irt_c": c,
    }


async def sync_items(session: AsyncSession, items: Iterable[Item], source: str = "bank") -> tuple[int, int]:
    """Insert new items and refresh changed ones; returns (inserted, updated)."""
    wanted = {item.id: item for item in items}
    existing = {row.id: row for row in (await session.scalars(select(ItemRow).where(ItemRow.id.in_(wanted)))).all()}
    inserted = updated = 0
    for item_id, item in wanted.items():
        values = _row_values(item, source)
        row = existing.get(item_id)
        if row is None:
            session.add(ItemRow(id=item_id, **values))
            inserted += 1
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            updated += 1
    await session.flush()
    return inserted, updated


async def store_generated(
    session: AsyncSession, item: Item, parameters: tuple[float, float, float], provenance: dict[str, Any]
) -> None:
    """Keep a generated item with its starting IRT parameters and its provenance (once per id)."""
    if await session.get(ItemRow, item.id) is None:
        session.add(ItemRow(id=item.id, provenance=provenance, **_row_values(item, GENERATED_SOURCE, parameters)))
        await session.flush()


async def generated_stems(session: AsyncSession) -> Sequence[str]:
    return (await session.scalars(select(ItemRow.stem).where(ItemRow.source == GENERATED_SOURCE))).all()
