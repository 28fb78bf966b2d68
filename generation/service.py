"""The item generator a session host uses: the generation graph under a time budget, the accepted item
stored with its provenance, and `None` (the caller keeps its bank or family item) whenever the model is
wrong, slow or down.

One generator per host process: its duplicate index holds the bank's stems and every stem generated in
this database (loaded once, then kept current), and its counts feed the benchmark and the metrics.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from graphs.generation import GenerationState, build_generation_graph
from llm.client import ChatModel
from llm.duplicates import StemIndex
from llm.prompts import PROMPT_VERSION, Target
from persistence import items as item_store
from persistence.database import Database
from questions.items import Item, lettered_options

logger = logging.getLogger(__name__)

Outcome = Literal["accepted", "rejected", "timeout"]


@dataclass(frozen=True)
class Generated:
    item: Item | None
    outcome: Outcome
    provenance: dict[str, Any]


# Upper bounds (seconds) of the generation latency histogram that /metrics exposes.
LATENCY_BUCKETS_S = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)


@dataclass
class GenerationCounts:
    outcomes: Counter[str] = field(default_factory=Counter)
    rejections: Counter[str] = field(default_factory=Counter)  # by stage: model, schema, flaws, duplicate, solve
    # Generations per latency bucket (the last one past every bound), and their total seconds.
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_S) + 1))
    latency_sum_s: float = 0.0

    def record(self, outcome: Outcome, rejection_stages: list[str], seconds: float) -> None:
        self.outcomes[outcome] += 1
        self.rejections.update(rejection_stages)
        self.latency_buckets[bisect.bisect_left(LATENCY_BUCKETS_S, seconds)] += 1
        self.latency_sum_s += seconds


def generated_item_id(skill: str, stem: str) -> str:
    return f"llm-{skill}-{hashlib.sha256(stem.encode()).hexdigest()[:16]}"


class ItemGenerator:
    def __init__(
        self,
        model: ChatModel,
        database: Database,
        bank_stems: list[str],
        max_tries: int = 3,
        budget_s: float = 15.0,
    ) -> None:
        self.model = model
        self.budget_s = budget_s
        self.counts = GenerationCounts()
        self._database = database
        self._stems = StemIndex(bank_stems)
        self._graph = build_generation_graph(model, self._stems, max_tries)
        self._loaded = False
        self._loading = asyncio.Lock()

    async def generate(self, target: Target, parameters: tuple[float, float, float], fills: str) -> Generated:
        """An accepted item for the target, stored with its provenance, within the time budget; otherwise
        an outcome without an item. `parameters` are its starting IRT parameters (those of the slot it fills)."""
        await self._load_generated_stems()
        began = time.perf_counter()
        last: GenerationState = {}

        async def run() -> None:
            nonlocal last
            async for state in self._graph.astream({"target": target}, stream_mode="values"):
                last = cast(GenerationState, state)

        try:
            await asyncio.wait_for(run(), self.budget_s)
            outcome: Outcome = "accepted" if last.get("accepted") else "rejected"
        except TimeoutError:
            outcome = "timeout"
        seconds = time.perf_counter() - began
        provenance = self._provenance(target, last, outcome, fills, seconds)
        self.counts.record(outcome, [rejection["stage"] for rejection in last.get("rejections", [])], seconds)
        accepted = last.get("accepted") if outcome == "accepted" else None
        if accepted is None:
            logger.info("generation fell back to the bank", extra={"generation": provenance})
            return Generated(None, outcome, provenance)
        item = Item(
            id=generated_item_id(target.skill, accepted["stem"].strip()),
            skill=target.skill,
            difficulty=target.difficulty,
            stem=accepted["stem"].strip(),
            options=lettered_options([option.strip() for option in accepted["options"]]),
            key=accepted["key"],
            explanation=accepted["explanation"].strip(),
            tags=("generated",),
        )
        async with self._database.transaction() as session:
            await item_store.store_generated(session, item, parameters, provenance)
        self._stems.add(item.stem)
        return Generated(item, outcome, provenance)

    def _provenance(
        self, target: Target, state: GenerationState, outcome: Outcome, fills: str, seconds: float
    ) -> dict[str, Any]:
        return {
            "model": self.model.model,
            "prompt_version": PROMPT_VERSION,
            "outcome": outcome,
            "target": {"skill": target.skill, "difficulty": target.difficulty},
            "fills": fills,
            "tries": state.get("tries", 0),
            "rejections": list(state.get("rejections", [])),
            "validation": {
                "schema": "passed",
                "flaws": "passed",
                "duplicate": "passed",
                "independent_solve": state.get("solver_answer"),
            }
            if outcome == "accepted"
            else None,
            "calls": list(state.get("calls", [])),
            "latency_s": round(seconds, 4),
        }

    async def _load_generated_stems(self) -> None:
        if self._loaded:
            return
        async with self._loading:
            if not self._loaded:
                async with self._database.transaction() as session:
                    for stem in await item_store.generated_stems(session):
                        self._stems.add(stem)
                self._loaded = True
