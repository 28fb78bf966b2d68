"""kill -9 of `assess serve` alone in the middle of an attempt, as the OOM killer does it, and a graceful stop.

The server under test is a separate `assess serve` process tree with a Ray cluster of its own (its own
temp dir). Only the `assess serve` process is killed: what it started (Ray's processes, HAProxy) is left
as the crash leaves it, and the same command must start again on the same port and database.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Server,
    execute_sql,
    free_port,
    haproxy_side_ports,
    invite_cohort,
    make_database_url,
    make_settings,
)
from fleet import FleetCandidate, attempt_statuses, check_nothing_lost, stored_answers
from live_client import ws_url
from server_process import ServerProcess
from sqlalchemy import update

from persistence.migrate import upgrade
from persistence.models import Attempt

pytestmark = pytest.mark.websocket

SECRET = "crash-test-secret-key-that-is-long-enough-0123456789"
CANDIDATES = 20
QUESTIONS = 8


@pytest.fixture
def crashable(backend: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    url, scratch = make_database_url(backend, tmp_path)
    upgrade(url)
    ray_dir = f"/tmp/rk{secrets.token_hex(3)}"
    env = {
        **os.environ,
        "ASSESS_DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "ASSESS_ENVIRONMENT": "development",
        "ASSESS_ADMIN_EMAIL": ADMIN_EMAIL,
        "ASSESS_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ASSESS_PORT": str(free_port()),
        "RAY_TMPDIR": ray_dir,
        **haproxy_side_ports(),
    }
    server = ServerProcess(env, ray_dir)
    yield server, env
    server.kill_everything()
    server.log.unlink(missing_ok=True)
    if scratch is not None:
        scratch.drop()


@pytest.mark.parametrize("stop", ["kill -9", "graceful"])
def test_stopping_the_whole_server_with_twenty_candidates_in_flight(crashable, stop: str) -> None:  # type: ignore[no-untyped-def]
    """kill -9 of `assess serve` (or a SIGTERM to it) mid-assessment; five attempts' deadlines
    pass during the outage. After the restart every acknowledged answer is stored once, the others resume
    where they were with the time they had (tests/fleet.py checks every resume) and finish; the five are
    finalized as time_expired."""
    server_process, env = crashable
    server_process.start()
    settings = make_settings(env["ASSESS_DATABASE_URL"], ASSESS_ENVIRONMENT="development", SECRET_KEY=SECRET)
    server = Server(f"http://127.0.0.1:{env['ASSESS_PORT']}", settings, "crashable")
    test_id, tokens = invite_cohort(
        server, CANDIDATES, max_questions=QUESTIONS, min_questions=QUESTIONS, max_attempts=1
    )
    fleet = [
        FleetCandidate(ws_url(server.base_url, "/ws/assessment", token=token, test_id=test_id), pace_s=0.4)
        for token in tokens
    ]
    expiring = fleet[:5]

    async def scenario() -> None:
        runs = [asyncio.create_task(candidate.run(random.Random(seed))) for seed, candidate in enumerate(fleet)]
        while sum(len(candidate.acknowledged) for candidate in fleet) < 2 * CANDIDATES:
            if any(run.done() for run in runs):
                await asyncio.gather(*runs)
            await asyncio.sleep(0.05)
        outage = server_process.kill_the_server_alone if stop == "kill -9" else server_process.stop_gracefully
        await asyncio.to_thread(outage)
        if stop == "graceful":  # the hosts finished their writes in progress before the cluster stopped
            assert "Drained" in server_process.log.read_text(), server_process.log.read_text()[-3000:]
        overdue = [candidate.attempt_id for candidate in expiring]
        past = datetime.now(UTC) - timedelta(seconds=1)
        await execute_sql(settings.database_url, update(Attempt).where(Attempt.id.in_(overdue)).values(deadline=past))
        for candidate in expiring:
            candidate.deadline = past.isoformat()
        await asyncio.to_thread(server_process.start)
        await asyncio.gather(*runs)

    asyncio.run(scenario())
    attempts = [candidate.attempt_id for candidate in fleet]
    check_nothing_lost(fleet, asyncio.run(stored_answers(settings.database_url, attempts)), QUESTIONS)  # type: ignore[arg-type]
    statuses = asyncio.run(attempt_statuses(settings.database_url, attempts))  # type: ignore[arg-type]
    for candidate in fleet:
        expected = ("expired", "time_expired") if candidate in expiring else ("completed", "completed")
        assert statuses[candidate.attempt_id] == expected, (candidate.attempt_id, candidate.completed)  # type: ignore[index]
    assert sum(candidate.reconnects for candidate in fleet) >= CANDIDATES  # every socket really dropped
