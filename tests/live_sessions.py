"""Driving a registry's sessions straight from a test, as the ingress would: starting candidates on their
hosts, and watching the sweep's reports as the passes happen."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from persistence import attempts
from persistence.database import Database
from simulation.live import LiveCandidate


async def start_candidates(
    database: Database, registry: Any, test_id: int, user_ids: list[int], concurrency: int = 50
) -> list[tuple[LiveCandidate, dict[str, Any]]]:
    """Start (or resume) each user's attempt on its host: each candidate with its first question."""
    limit = asyncio.Semaphore(concurrency)

    async def start(user_id: int) -> tuple[LiveCandidate, dict[str, Any]]:
        async with limit:
            opened = await attempts.start_or_resume(database, test_id, user_id, datetime.now(UTC))
            candidate = LiveCandidate(registry, opened.attempt.id)
            frames = await candidate.start()
            assert [frame["type"] for frame in frames] == ["assessment_started", "question"], frames
            return candidate, frames[1]

    return list(await asyncio.gather(*(start(user_id) for user_id in user_ids)))


async def watch_sweeps(registry: Any, reports: list[dict[str, float]]) -> None:
    """Append every new pass's report to `reports` until cancelled (polls every 0.2 s)."""
    while True:
        report = await registry.sweep_report.remote()
        if report and (not reports or report["number"] != reports[-1]["number"]):
            reports.append(report)
        await asyncio.sleep(0.2)
