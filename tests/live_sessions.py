"""Driving a registry's sessions straight from a test, as the ingress would: a registry of the test's own,
starting candidates on their hosts, and watching the sweep's reports as the passes happen."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ray
from conftest import make_database_url

from actors.registry import RegistryConfig, get_registry
from persistence import attempts
from persistence.database import Database
from persistence.migrate import upgrade
from simulation.live import LiveCandidate


@contextlib.contextmanager
def registry_of_its_own(backend: str, directory: Path, **config: Any) -> Iterator[tuple[str, Any]]:
    """A migrated scratch database of this backend and a registry for it alone (`config`: RegistryConfig's
    fields after the URL); afterwards the registry is killed, its hosts with it, and the database dropped."""
    url, scratch = make_database_url(backend, directory)
    upgrade(url)
    registry = get_registry(RegistryConfig(url, **config))
    try:
        yield url, registry
    finally:
        ray.kill(registry, no_restart=True)
        if scratch is not None:
            scratch.drop()


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
