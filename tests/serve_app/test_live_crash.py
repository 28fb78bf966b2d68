"""kill -9 of the whole server (driver, Serve, actors, the Ray cluster itself) in the middle of an attempt.

The server under test is a separate `assess serve` process tree with a Ray cluster of its own (its own
temp dir), so that it can be killed whole without touching the test session's cluster.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port, haproxy_side_ports, make_database_url
from live_client import LiveClient, ws_url
from sqlalchemy import func, select

from persistence.database import Database
from persistence.migrate import upgrade
from persistence.models import Response

pytestmark = pytest.mark.websocket

ASSESS = str(Path(sys.executable).with_name("assess"))
SECRET = "crash-test-secret-key-that-is-long-enough-0123456789"


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
        "ASSESS_PORT": str(free_port()),
        "RAY_TMPDIR": ray_dir,
        **haproxy_side_ports(),
    }
    subprocess.run([ASSESS, "demo"], env=env, check=True, capture_output=True, timeout=120)
    server = ServerProcess(env, ray_dir)
    yield server, env
    server.kill_everything()
    server.log.unlink(missing_ok=True)
    if scratch is not None:
        scratch.drop()


def count_responses(url: str, attempt_id: int) -> int:
    async def count() -> int:
        database = Database(url)
        try:
            async with database.transaction() as session:
                return int(
                    await session.scalar(select(func.count(Response.id)).where(Response.attempt_id == attempt_id)) or 0
                )
        finally:
            await database.dispose()

    return asyncio.run(count())


def test_sigkill_of_the_whole_server_loses_no_acknowledged_answer(crashable) -> None:  # type: ignore[no-untyped-def]
    server, env = crashable
    token = subprocess.run(
        [ASSESS, "token", "alice@example.com"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    url = ws_url(f"http://127.0.0.1:{env['ASSESS_PORT']}", "/ws/assessment", token=token, test_id=1)

    server.start()

    async def before_the_crash() -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        client = await LiveClient.connect(url)
        await client.expect("auth_success")
        started, question = await client.start()
        acknowledged = []
        for _ in range(3):
            feedback, _, question = await client.answer(question)
            acknowledged.append(feedback["question_id"])
        return started, question, acknowledged

    started, pending, acknowledged = asyncio.run(before_the_crash())
    server.kill_everything()
    assert count_responses(env["ASSESS_DATABASE_URL"], started["attempt_id"]) == len(acknowledged) == 3

    server.start()

    async def after_the_restart() -> dict[str, Any]:
        client = await LiveClient.connect(url)
        hello = await client.expect("auth_success")
        assert hello["active_attempt_id"] == started["attempt_id"]
        resumed, question = await client.start()
        assert resumed["resumed"] is True and resumed["answered"] == 3
        assert (question["question_id"], question["text"]) == (pending["question_id"], pending["text"])
        assert resumed["deadline"] == started["deadline"]
        assert resumed["remaining_s"] < started["remaining_s"]
        while question["type"] == "question":
            question = (await client.answer(question))[2]
        await client.close()
        return question

    completed = asyncio.run(after_the_restart())
    assert completed["type"] == "assessment_completed"
    assert count_responses(env["ASSESS_DATABASE_URL"], started["attempt_id"]) == started["max_questions"]
