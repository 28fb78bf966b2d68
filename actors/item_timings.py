"""Each item's median answer time as a host last read it: the monitor's `answered` events say whether an
answer came far faster than that (domain/answer_timing.py). A median over enough responses moves slowly and
is kept for a while; an item with too few responses (a new or generated one) is read again each time, since
a live cohort gives it more quickly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from domain.answer_timing import MIN_RESPONSES_FOR_MEDIAN, ItemTiming
from persistence import integrity
from persistence.database import Database

logger = logging.getLogger(__name__)
KEPT_FOR_S = 600.0  # an item's median moves slowly: read again after this long
MAX_ITEMS = 50_000


class ItemTimings:
    def __init__(self) -> None:
        self._known: dict[str, tuple[float, ItemTiming | None]] = {}  # item id -> (read at, timing)

    async def of(self, database: Database, item_ids: Iterable[str]) -> dict[str, ItemTiming | None]:
        """The timings of these items, reading those not known (or known too long ago) in one transaction.
        A failed read leaves them unknown (None) this time; the monitor is a live view, not a record."""
        now = time.monotonic()
        wanted = set(item_ids)
        stale = [item_id for item_id in wanted if now - self._known.get(item_id, (-KEPT_FOR_S, None))[0] >= KEPT_FOR_S]
        if stale:
            try:
                async with database.transaction() as session:
                    fresh = await integrity.item_timings(session, stale)
            except Exception:
                logger.exception("could not read item timings", extra={"items": len(stale)})
                fresh = {}
            if len(self._known) + len(fresh) > MAX_ITEMS:
                self._known.clear()
            self._known.update((item_id, (now, timing)) for item_id, timing in fresh.items() if telling(timing))
            return {**{item_id: self._known.get(item_id, (now, None))[1] for item_id in wanted}, **fresh}
        return {item_id: self._known[item_id][1] for item_id in wanted}


def telling(timing: ItemTiming | None) -> bool:
    return timing is not None and timing.responses >= MIN_RESPONSES_FOR_MEDIAN
