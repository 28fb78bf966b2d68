"""kill -9 of the whole server (driver, Serve, actors, the Ray cluster itself) in the middle of an attempt.

The server under test is a separate `assess serve` process tree with a Ray cluster of its own (its own
temp dir), so that it can be killed whole without touching the test session's cluster.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
from sqlalchemy import update

from persistence.migrate import upgrade
from persistence.models import Attempt

pytestmark = pytest.mark.websocket

ASSESS = str(Path(sys.executable).with_name("assess"))
SECRET = "crash-test-secret-key-that-is-long-enough-0123456789"
CANDIDATES = 20
QUESTIONS = 8


class ServerProcess:
    def __init__(self, env: dict[str, str], ray_dir: str) -> None:
        self.env = env
        self.ray_dir = ray_dir
        self.process: subprocess.Popen[str] | None = None
        self.haproxies_before: set[int] = set()
        self.log = Path(ray_dir + ".log")

    def start(self) -> None:
        """Start `assess serve` and wait until it reports that it serves (its output goes to a log file)."""
        self.haproxies_before = haproxy_pids()
        self.log = Path(self.ray_dir + ".log")
        self.log.write_text("")
        with self.log.open("a") as sink:
            self.process = subprocess.Popen(
                [ASSESS, "serve"], env=self.env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        tail = subprocess.Popen(["tail", "-n", "+1", "-f", str(self.log)], stdout=subprocess.PIPE, text=True)
        try:
            assert tail.stdout is not None
            for line in tail.stdout:  # blocks until the line appears; pytest-timeout bounds a hang
                if "Serving on" in line:
                    return
                if self.process.poll() is not None:
                    break
        finally:
            tail.kill()
        raise AssertionError("the server did not start:\n" + self.log.read_text()[-5000:])

    def stop_gracefully(self) -> None:
        """SIGTERM to `assess serve`, as an orchestrator stops it: it must exit by itself, cleanly."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=120) == 0, self.log.read_text()[-3000:]
        self.kill_everything()  # only leftovers a clean stop may leave (Ray's HAProxy runs outside it)

    def kill_everything(self) -> None:
        """SIGKILL to the server's process group and to every process of its Ray cluster."""
        if self.process is not None:
            with _ignore_missing():
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=60)
        subprocess.run(["pkill", "-9", "-f", self.ray_dir], check=False)
        for pid in haproxy_pids() - self.haproxies_before:  # Ray's HAProxy runs outside its temp dir
            with _ignore_missing():
                os.kill(pid, signal.SIGKILL)


def haproxy_pids() -> set[int]:
    found = subprocess.run(["pgrep", "-f", "haproxy-serve"], capture_output=True, text=True).stdout
    return {int(pid) for pid in found.split()}


class _ignore_missing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, *_: Any) -> bool:
        return kind is ProcessLookupError


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
    """kill -9 of every process (or a SIGTERM to `assess serve`) mid-assessment; five attempts' deadlines
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
        outage = server_process.kill_everything if stop == "kill -9" else server_process.stop_gracefully
        await asyncio.to_thread(outage)
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
