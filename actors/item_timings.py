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
        self._telling: dict[str, tuple[float, ItemTiming]] = {}  # item id -> (read at, a median over enough)

    async def of(self, database: Database, item_ids: Iterable[str]) -> dict[str, ItemTiming | None]:
        """The timings of these items, reading in one query those not kept (or kept too long). A failed read
        leaves them unknown (None) this time: the monitor is a live view, not a record."""
        now = time.monotonic()
        wanted = set(item_ids)
        kept: dict[str, ItemTiming] = {}
        for item_id in wanted:
            read_at, timing = self._telling.get(item_id, (-KEPT_FOR_S, None))
            if timing is not None and now - read_at < KEPT_FOR_S:
                kept[item_id] = timing
        if len(kept) == len(wanted):
            return dict(kept)
        try:
            async with database.transaction() as session:
                fresh = await integrity.item_timings(session, wanted - kept.keys())
        except Exception:
            logger.exception("could not read item timings", extra={"items": len(wanted) - len(kept)})
            fresh = {}
        if len(self._telling) > MAX_ITEMS:
            self._telling.clear()
        for item_id, timing in fresh.items():
            if timing is not None and timing.responses >= MIN_RESPONSES_FOR_MEDIAN:
                self._telling[item_id] = (now, timing)
        return {item_id: kept.get(item_id) or fresh.get(item_id) for item_id in wanted}
