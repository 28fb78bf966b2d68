"""The registry's periodic sweep with thousands of live sessions (both databases): while 2,000 sessions
are started and held, the sweep keeps running; afterwards one pass evicts the detached idle sessions,
finalizes the overdue attempts (pushing the result to the connection still attached) and leaves every
other session alone, and they all go on answering and resuming."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from conftest import execute_sql
from fleet import attempt_statuses
from live_sessions import registry_of_its_own, start_candidates, watch_sweeps
from sqlalchemy import update

from persistence.database import Database
from persistence.models import Attempt
from simulation.live import create_simulated_test

SESSIONS = 2_000
DETACHED = 200  # sockets gone: the sweep evicts them once idle
OVERDUE = 100  # still attached, deadline passed: the sweep finalizes them and pushes the result
SAMPLE = 100  # of the untouched rest, these answer afterwards
DEFINITION = {"skills": [{"name": "python", "weight": 1.0, "prerequisites": []}], "max_questions": 5}


def swept_them_all(report: dict[str, float]) -> bool:
    return report["evicted_total"] >= DETACHED and report["expired_total"] >= OVERDUE


async def scenario(url: str, registry: Any) -> dict[str, Any]:
    database = Database(url)
    reports: list[dict[str, float]] = []
    watcher = asyncio.create_task(watch_sweeps(registry, reports))
    try:
        test_id, user_ids = await create_simulated_test(database, DEFINITION, SESSIONS, uuid.uuid4().hex[:12])
        live = await start_candidates(database, registry, test_id, user_ids)
        sweeps_while_starting = list(reports)
        while not reports or reports[-1]["sessions"] < SESSIONS:  # a whole pass with every session live
            await asyncio.sleep(0.2)
        detached, overdue, rest = live[:DETACHED], live[DETACHED : DETACHED + OVERDUE], live[DETACHED + OVERDUE :]
        for candidate, _ in detached:
            await candidate.call("detach", candidate.connection_id)
        past = datetime.now(UTC) - timedelta(seconds=1)
        overdue_ids = [candidate.attempt_id for candidate, _ in overdue]
        await execute_sql(url, update(Attempt).where(Attempt.id.in_(overdue_ids)).values(deadline=past))
        # The passes may split the work (a slow machine detaches across several): count their totals.
        while not swept_them_all(totals := await registry.sweep_report.remote()):
            await asyncio.sleep(0.2)  # pytest-timeout bounds a sweep that never does it
        pushed = [frame for candidate, _ in overdue[:10] for frame in await candidate.pushed(wait_s=30.0)]
        answered = [await candidate.answer(question["question_id"], "a") for candidate, question in rest[:SAMPLE]]
        resumed = [await candidate.reconnect() for candidate, _ in detached[:20]]
        await registry.sweep.remote()  # a pass after the expiry: the finished sessions' placements go
        return {
            "sweeps_while_starting": sweeps_while_starting,
            "reports": reports,
            "totals": totals,
            "placed": sum((await registry.hosts.remote()).values()),
            "statuses": await attempt_statuses(url, [candidate.attempt_id for candidate, _ in live]),
            "overdue": set(overdue_ids),
            "pushed": pushed,
            "answered": answered,
            "resumed": resumed,
            "resumed_questions": [question["question_id"] for _, question in detached[:20]],
        }
    finally:
        watcher.cancel()
        await database.dispose()


def test_the_sweep_keeps_working_with_thousands_of_live_sessions(ray_serve, backend: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = {"sessions_per_actor": 500, "sweep_interval_s": 1.0, "idle_timeout_s": 1.0}
    with registry_of_its_own(backend, tmp_path, **config) as (url, registry):
        seen = asyncio.run(scenario(url, registry))

    assert seen["sweeps_while_starting"], "no sweep ran while the sessions were starting"
    assert max(report["sessions"] for report in seen["reports"]) == SESSIONS
    assert all(report["dead_hosts"] == 0 for report in seen["reports"])
    assert (seen["totals"]["evicted_total"], seen["totals"]["expired_total"]) == (DETACHED, OVERDUE)
    assert seen["placed"] == SESSIONS - DETACHED - OVERDUE  # finished sessions leave their hosts and placements
    for attempt_id, status in seen["statuses"].items():
        expected = ("expired", "time_expired") if attempt_id in seen["overdue"] else ("in_progress", None)
        assert status == expected, (attempt_id, status)
    assert len(seen["pushed"]) == 10
    for frame in seen["pushed"]:
        assert (frame["type"], frame["reason"]) == ("assessment_completed", "time_expired"), frame
    for frames in seen["answered"]:
        assert [frame["type"] for frame in frames][:2] == ["answer_feedback", "progress_update"], frames
    for frames, question_id in zip(seen["resumed"], seen["resumed_questions"], strict=True):
        assert frames[0]["type"] == "assessment_started" and frames[0]["resumed"] is True, frames
        assert frames[1]["question_id"] == question_id
    print("sweeps:", [(report["sessions"], report["seconds"]) for report in seen["reports"]])
