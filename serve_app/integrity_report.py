"""An attempt's integrity report, for staff: the signals its candidate's client reported and the answers far
faster than their items' medians (domain/answer_timing.py). Candidates never get it (`None` for them)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from domain.answer_timing import is_fast
from domain.enums import Role
from persistence import integrity
from persistence.models import Response, User
from serve_app.schemas import FastAnswer, IntegrityEventRead, IntegrityReport


async def integrity_report(
    reader: User, session: AsyncSession, attempt_id: int, responses: Sequence[Response]
) -> IntegrityReport | None:
    if reader.role is Role.CANDIDATE:
        return None
    events = [
        IntegrityEventRead.model_validate(event) for event in await integrity.events_of_attempt(session, attempt_id)
    ]
    timings = await integrity.item_timings(session, (response.item_id for response in responses))
    fast = [
        FastAnswer(
            question_index=response.index + 1,
            time_taken_s=round(response.time_taken_s, 3),
            item_median_s=round(timing.median_s, 3),
        )
        for response in responses
        if (timing := timings[response.item_id]) is not None and is_fast(response.time_taken_s, timing)
    ]
    return IntegrityReport(events=events, counts=dict(Counter(event.kind for event in events)), fast_answers=fast)
