"""A session leaves its host when its attempt finishes (not at the idle eviction), the registry forgets its
placement at the next sweep, and a message after the end is answered from the stored rows (both databases)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from live_sessions import registry_of_its_own, start_candidates

from persistence.database import Database
from simulation.live import create_simulated_test

CANDIDATES = 6
DEFINITION = {"skills": [{"name": "python", "weight": 1.0, "prerequisites": []}], "max_questions": 3}


async def scenario(url: str, registry: Any) -> dict[str, Any]:
    database = Database(url)
    try:
        test_id, user_ids = await create_simulated_test(database, DEFINITION, CANDIDATES, uuid.uuid4().hex[:12])
        live = await start_candidates(database, registry, test_id, user_ids)
        host = live[0][0].host
        held_mid_test = (await host.stats.remote())["sessions"]
        finishers, stayers = live[: CANDIDATES // 2], live[CANDIDATES // 2 :]
        last_frames = []
        for candidate, question in finishers:
            frames = await candidate.answer(question["question_id"], "a")
            while frames[-1]["type"] == "question":
                frames = await candidate.answer(frames[-1]["question_id"], "a")
            last_frames.append((candidate, frames))
        held_after = (await host.stats.remote())["sessions"]
        report = await registry.sweep.remote()
        placed = await registry.placements.remote()
        candidate, frames = last_frames[0]
        repeat = await candidate.answer(frames[0]["question_id"], "a")  # the last answer, sent again
        return {
            "mid_test": held_mid_test,
            "after": held_after,
            "report": report,
            "placed": set(placed),
            "finished": {candidate.attempt_id for candidate, _ in finishers},
            "stayers": {candidate.attempt_id for candidate, _ in stayers},
            "repeat": repeat,
            "last": frames,
        }
    finally:
        await database.dispose()


def test_a_finished_session_leaves_its_host_at_once(ray_serve, backend: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = {"sessions_per_actor": 100, "sweep_interval_s": 3600.0, "idle_timeout_s": 3600.0}
    with registry_of_its_own(backend, tmp_path, **config) as (url, registry):
        seen = asyncio.run(scenario(url, registry))

    assert seen["mid_test"] == CANDIDATES
    assert seen["last"][-1]["type"] == "assessment_completed"
    assert seen["after"] == CANDIDATES - len(seen["finished"])  # gone with the message that finished them
    assert seen["report"]["finished"] == len(seen["finished"]) and seen["report"]["evicted"] == 0
    assert seen["placed"] == seen["stayers"]
    assert [frame["type"] for frame in seen["repeat"]] == ["answer_feedback"]
    assert seen["repeat"][0]["duplicate"] is True
