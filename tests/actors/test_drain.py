"""Draining before a stop (both databases): answers in flight when the registry is told to drain are all
written before `drain` returns, the sweep stops, and the attempts stay resumable."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

from fleet import stored_answers
from live_sessions import registry_of_its_own, start_candidates

from persistence.database import Database
from simulation.live import create_simulated_test

CANDIDATES = 30
DEFINITION = {"skills": [{"name": "python", "weight": 1.0, "prerequisites": []}], "max_questions": 5}


async def scenario(url: str, registry: Any) -> dict[str, Any]:
    database = Database(url)
    try:
        test_id, user_ids = await create_simulated_test(database, DEFINITION, CANDIDATES, uuid.uuid4().hex[:12])
        live = await start_candidates(database, registry, test_id, user_ids, concurrency=1)
        in_flight = [
            candidate.host.submit.remote(candidate.attempt_id, candidate.connection_id, question["question_id"], "a")
            for candidate, question in live
        ]
        # A host runs one caller's calls in the order sent: once it has answered this, every submit above
        # has reached it and is in progress (or done), which is what "in flight at the drain" means.
        await asyncio.gather(*(host.stats.remote() for host in {id(c.host): c.host for c, _ in live}.values()))
        drained = await registry.drain.remote()
        attempt_ids = [candidate.attempt_id for candidate, _ in live]
        stored_at_drain = await stored_answers(url, attempt_ids)
        replies = await asyncio.gather(*in_flight)
        sweeps = (await registry.sweep_report.remote()).get("number", 0)
        time.sleep(2.5)  # more than two sweep periods
        return {
            "drained": drained,
            "stored_at_drain": stored_at_drain,
            "questions": {candidate.attempt_id: question["question_id"] for candidate, question in live},
            "replies": replies,
            "sweeps_before": sweeps,
            "sweeps_after": (await registry.sweep_report.remote()).get("number", 0),
            "resumed": await live[0][0].reconnect(),
        }
    finally:
        await database.dispose()


def test_drain_writes_every_answer_in_flight_and_leaves_attempts_resumable(
    ray_serve, backend: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    config = {"sessions_per_actor": 10, "sweep_interval_s": 1.0, "idle_timeout_s": 600}
    with registry_of_its_own(backend, tmp_path, **config) as (url, registry):
        seen = asyncio.run(scenario(url, registry))

    assert seen["drained"] == {"hosts": 3, "sessions": CANDIDATES}
    assert seen["stored_at_drain"] == {attempt_id: [question] for attempt_id, question in seen["questions"].items()}
    assert all('"answer_feedback"' in reply[0] for reply in seen["replies"])
    assert seen["sweeps_after"] == seen["sweeps_before"], "the sweep went on after the drain"
    started = seen["resumed"][0]
    assert (started["type"], started["resumed"], started["answered"]) == ("assessment_started", True, 1)
