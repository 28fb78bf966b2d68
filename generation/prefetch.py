"""Items prepared ahead: while a candidate reads a question, the session generates the items it would
ask next after a right and after a wrong answer, so that the answer -> next question path waits for a
model only when nothing prepared fits.

Keys are (attempt, position, pool entry): the adaptive choice is deterministic, so the entry chosen after
the answer is one of the two prepared. The branch not taken still yields a stored, validated item.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from generation.service import Generated, ItemGenerator
from graphs.item_supply import Request, Slot

logger = logging.getLogger(__name__)

MAX_PREPARED = 2_000  # per host: beyond this, preparation is skipped (the item is generated on demand)


class Prefetcher:
    def __init__(self, generator: ItemGenerator, ahead: bool = True) -> None:
        """`ahead=False` generates only on demand (for comparison: `ASSESS_LLM_PREFETCH=false`)."""
        self.generator = generator
        self.ahead = ahead
        self.served: Counter[str] = Counter()  # ready (no wait), waited (prepared, still running), on_demand
        self._prepared: dict[Slot, asyncio.Task[Generated]] = {}

    def prepare(self, slot: Slot, request: Request) -> None:
        if not self.ahead or slot in self._prepared or len(self._prepared) >= MAX_PREPARED:
            return
        self._prepared[slot] = asyncio.get_running_loop().create_task(self._generate(request))

    async def take(self, slot: Slot, request: Request) -> Generated:
        """The item for this slot: the prepared one (waiting for it if still running), else a new one."""
        self._forget_earlier(slot)
        task = self._prepared.pop(slot, None)
        if task is None:
            self.served["on_demand"] += 1
            return await self._generate(request)
        self.served["ready" if task.done() else "waited"] += 1
        return await task

    def discard(self, attempt_id: int) -> None:
        """Drop what was prepared for an attempt that ended."""
        for slot in [slot for slot in self._prepared if slot.attempt_id == attempt_id]:
            self._prepared.pop(slot).cancel()

    def _forget_earlier(self, slot: Slot) -> None:
        """The branch not taken at this position, and anything older, will not be asked for (left to
        finish: their items are stored for later use)."""
        for other in list(self._prepared):
            passed = other.index < slot.index or (other.index == slot.index and other.entry != slot.entry)
            if other.attempt_id == slot.attempt_id and passed:
                self._prepared.pop(other)

    async def _generate(self, request: Request) -> Generated:
        try:
            return await self.generator.generate(request.target, request.parameters, request.fills)
        except Exception:  # the store or the graph failed: the candidate gets the bank item
            logger.exception("item generation failed", extra={"fills": request.fills})
            return Generated(None, "rejected", {"error": "generation failed"})
