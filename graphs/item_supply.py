"""What the live assessment graph asks of a supplier of generated items (generation.prefetch.Prefetcher).

The graph knows the adaptive choice, so it names the slot (attempt, position, pool entry) and what to
write for it; the supplier serves a prepared item or writes one on demand. Defined here, below both, so
the graph does not import the generation layer that runs graphs of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from llm.prompts import Target
from questions.items import Item


@dataclass(frozen=True)
class Slot:
    attempt_id: int
    index: int
    entry: int


@dataclass(frozen=True)
class Request:
    target: Target
    parameters: tuple[float, float, float]
    fills: str


class Supplied(Protocol):
    @property
    def item(self) -> Item | None: ...


class ItemSupply(Protocol):
    def prepare(self, slot: Slot, request: Request) -> None:
        """Start writing the item a slot may ask for next."""

    async def take(self, slot: Slot, request: Request) -> Supplied:
        """The item for this slot (None when none could be written: the graph asks the bank's)."""

    def discard(self, attempt_id: int) -> None:
        """Drop what was prepared for an attempt that ended."""
