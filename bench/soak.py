"""Soak: hold many concurrent candidates on one machine for a while, each answering at a human pace.

A fresh Ray cluster (2 CPUs) serves the application on SQLite (or --database-url); --candidates accounts
are invited to one test and each keeps a WebSocket open for the whole run: start, answer after a think
time (uniform around --think-s), and begin the next attempt when one ends. Printed at the end:
answers per second, p50/p99/max answer round trip (submit to feedback), error frames and unexpected
closes (goal: zero), connections held, whether every acknowledged answer is stored exactly once, and the
server's resident memory (every server process: bench/server_processes.py) before anyone connected,
once all candidates were in (per session: the difference over N) and at the end (goal: flat). The
ingress is `--ingress` (HAProxy by default, with the file and connection limits `assess serve` sets).

    .venv/bin/python bench/soak.py --candidates 5000 --minutes 10 --think-s 30
    .venv/bin/python bench/soak.py --candidates 200 --minutes 1 --think-s 5 --ingress proxy
"""

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import websockets
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server_processes import cpu_seconds_by_role, pids_of_role, rss_bytes, rss_bytes_by_role  # noqa: E402 - beside this script

SECRET = "soak-benchmark-secret-key-that-is-long-enough-0123456789"
QUESTIONS = 20


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    closes: int = 0
    close_reasons: dict[str, int] = field(default_factory=dict)  # what each unexpected close was
    close_minutes: dict[int, int] = field(default_factory=dict)  # unexpected closes per minute of the run
    began: float = field(default_factory=time.monotonic)
    error_messages: list[str] = field(default_factory=list)  # the first few, as the server worded them
    completed: int = 0
    connected: int = 0
    acknowledged: set[str] = field(default_factory=set)  # question ids whose answer got its feedback

    def error(self, frame: dict) -> None:
        code = frame.get("code", frame["type"])
        self.errors[code] = self.errors.get(code, 0) + 1
        if len(self.error_messages) < 5:
            self.error_messages.append(f"{code}: {frame.get('message', '')}")


async def candidate(url: str, think_s: float, stop_at: float, tally: Tally, rng: random.Random) -> None:
    """One candidate for the whole run; reconnects (counted) if the server closes on it."""
    await asyncio.sleep(rng.random() * 30)  # arrivals spread over half a minute
    phase = ["connecting"]
    while time.monotonic() < stop_at:
        try:
            # Like a browser: no keepalive pings of its own (a page cannot send them); it answers the server's.
            async with websockets.connect(url, open_timeout=120, max_size=2**22, ping_interval=None) as socket:
                tally.connected += 1
                try:
                    await drive(socket, think_s, stop_at, tally, rng, phase)
                finally:
                    tally.connected -= 1
            return
        except (websockets.ConnectionClosed, OSError, TimeoutError) as closed:
            tally.closes += 1
            reason = (
                f"code {closed.rcvd.code}" if isinstance(closed, websockets.ConnectionClosed) and closed.rcvd else ""
            )
            kind = f"{type(closed).__name__} {reason} {phase[0]}".strip()
            tally.close_reasons[kind] = tally.close_reasons.get(kind, 0) + 1
            minute = int((time.monotonic() - tally.began) // 60)
            tally.close_minutes[minute] = tally.close_minutes.get(minute, 0) + 1
            await asyncio.sleep(1 + rng.random())


async def drive(
    socket: websockets.ClientConnection,
    think_s: float,
    stop_at: float,
    tally: Tally,
    rng: random.Random,
    phase: list[str],  # where the candidate is, for the tally of unexpected closes
) -> None:
    async def receive() -> dict:
        return json.loads(await socket.recv())  # type: ignore[no-any-return]

    phase[0] = "before auth_success"
    await receive()  # auth_success
    while time.monotonic() < stop_at:
        phase[0] = "starting"
        await socket.send(json.dumps({"type": "start_assessment"}))
        frame = await receive()
        if frame["type"] == "error":
            tally.error(frame)
            await asyncio.sleep(think_s)
            continue
        if frame["type"] == "assessment_started":
            frame = await receive()
        while frame["type"] == "question" and time.monotonic() < stop_at:
            await asyncio.sleep(think_s * (0.5 + rng.random()))
            phase[0] = "answering"
            sent = time.perf_counter()
            await socket.send(
                json.dumps({"type": "submit_answer", "question_id": frame["question_id"], "selected_option": "a"})
            )
            feedback = await receive()
            phase[0] = "thinking"
            if feedback["type"] != "answer_feedback":
                tally.error(feedback)
                break  # resynchronise through start_assessment
            tally.latencies.append(time.perf_counter() - sent)
            tally.acknowledged.add(frame["question_id"])
            await receive()  # progress_update
            frame = await receive()  # the next question or the result
        if frame["type"] == "assessment_completed":
            tally.completed += 1


def server_rss_mib() -> float:
    return rss_bytes() / 2**20


async def stored_question_ids(database_url: str) -> list[str]:
    from sqlalchemy import select

    from persistence.database import Database
    from persistence.models import Response

    database = Database(database_url)
    try:
        async with database.transaction() as session:
            return list((await session.scalars(select(Response.question_id))).all())
    finally:
        await database.dispose()


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def seed(database_url: str, candidates: int, minutes: float) -> tuple[int, list[str]]:
    from domain.enums import Role
    from persistence.database import Database
    from serve_app.tokens import TokenService
    from simulation.live import create_simulated_test

    database = Database(database_url)
    try:
        definition = {
            "skills": [{"name": name, "weight": 1.0, "prerequisites": []} for name in ("python", "sql", "http", "git")],
            "max_questions": QUESTIONS,
            "min_questions": QUESTIONS,
            "duration_minutes": 120,
            "max_attempts": 20,  # a candidate who finishes starts again, so every connection stays busy
        }
        test_id, user_ids = await create_simulated_test(database, definition, candidates, "soak")
    finally:
        await database.dispose()
    tokens = TokenService(SECRET, "HS256", "assess", "assess-api", timedelta(minutes=minutes + 30))
    return test_id, [tokens.issue(user_id, Role.CANDIDATE) for user_id in user_ids]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--think-s", type=float, default=20.0, help="mean seconds between a question and its answer")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--ingress", choices=("haproxy", "proxy"), default="haproxy")
    arguments = parser.parse_args()

    import ray
    from ray import serve

    from actors.cluster import RUNTIME_ENVIRONMENT, ingress_environment
    from cli.server_slot import ServerSlot, raise_open_file_limit
    from config.settings import Settings
    from persistence.migrate import upgrade
    from serve_app.deployment import build_application

    console = Console()
    database_url = arguments.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='soak-')}/soak.db"
    upgrade(database_url)
    test_id, tokens = asyncio.run(seed(database_url, arguments.candidates, arguments.minutes))
    raise_open_file_limit()  # thousands of client sockets here; the cluster started below inherits it
    port = 19000 + os.getpid() % 1000
    slot = ServerSlot(port)  # the files and limits `assess serve` gives HAProxy
    environment = slot.haproxy_environment() if arguments.ingress == "haproxy" else {}
    os.environ.update({**ingress_environment(arguments.ingress), **environment})
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=str(slot.ray_directory),
        runtime_env=RUNTIME_ENVIRONMENT,
    )
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    settings = Settings(SECRET_KEY=SECRET, ASSESS_DATABASE_URL=database_url)  # type: ignore[call-arg]
    serve.run(build_application(settings), name="assess", route_prefix="/")
    url = f"ws://127.0.0.1:{port}/ws/assessment?test_id={test_id}&token="

    tally = Tally()
    seconds = arguments.minutes * 60
    time.sleep(5.0)
    rss_none = server_rss_mib()  # serving, nobody connected

    roles_all_in: dict[str, float] = {}
    haproxy_pids: dict[int, float] = {}  # each HAProxy process seen, and when first (a reload starts a new one)

    async def run() -> tuple[float, float]:
        stop_at = time.monotonic() + seconds
        tally.began = time.monotonic()
        rng = random.Random(1)
        tasks = [
            asyncio.create_task(candidate(url + token, arguments.think_s, stop_at, tally, random.Random(rng.random())))
            for token in tokens
        ]
        rss_start = 0.0
        with Progress(
            TextColumn("[bold]soak"), BarColumn(), TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
            TimeRemainingColumn(), console=console,
        ) as progress:  # fmt: skip
            bar = progress.add_task("soak", total=seconds, status="")
            began = time.monotonic()
            while not all(task.done() for task in tasks):
                await asyncio.sleep(1)
                elapsed = time.monotonic() - began
                for pid in pids_of_role("haproxy"):
                    haproxy_pids.setdefault(pid, elapsed)
                if not rss_start and tally.connected == len(tokens) and elapsed > 45:
                    rss_start = server_rss_mib()  # everyone in and started
                    roles_all_in.update(rss_bytes_by_role())
                progress.update(
                    bar,
                    completed=min(elapsed, seconds),
                    status=f"{tally.connected} connected, {len(tally.latencies)} answers, "
                    f"{sum(tally.errors.values())} errors, {tally.closes} closes",
                )
        await asyncio.gather(*tasks, return_exceptions=False)
        return rss_start, server_rss_mib()

    started = time.monotonic()
    cpu_before = cpu_seconds_by_role()
    rss_start, rss_end = asyncio.run(run())
    wall = time.monotonic() - started
    answers = max(len(tally.latencies), 1)
    cpu_ms = {
        role: (spent - cpu_before.get(role, 0.0)) * 1000 / answers for role, spent in cpu_seconds_by_role().items()
    }
    roles_end = rss_bytes_by_role()
    stored = asyncio.run(stored_question_ids(database_url))
    serve.shutdown()
    ray.shutdown()
    slot.clean_up_leftovers()
    exactly_once = len(stored) == len(set(stored)) and tally.acknowledged <= set(stored)
    per_session_kib = (rss_start - rss_none) * 1024 / arguments.candidates

    table = Table(
        title=f"Soak: {arguments.candidates} candidates for {arguments.minutes:g} min, think {arguments.think_s:g} s, "
        f"{arguments.ingress}, {database_url.split(':')[0]}"
    )
    for column in ("figure", "value"):
        table.add_column(column)
    rows = [
        ("answers", f"{len(tally.latencies):,}"),
        ("answers/s", f"{len(tally.latencies) / wall:.1f}"),
        ("round trip p50 / p99 / max", f"{percentile(tally.latencies, 0.5) * 1000:.0f} / "
         f"{percentile(tally.latencies, 0.99) * 1000:.0f} / {max(tally.latencies, default=0) * 1000:.0f} ms"),
        ("attempts completed", f"{tally.completed:,}"),
        ("error frames (goal 0)", f"{sum(tally.errors.values())} {tally.errors or ''} {tally.error_messages or ''}"),
        ("unexpected closes (goal 0)", f"{tally.closes} {tally.close_reasons or ''}"),
        ("unexpected closes by minute of the run", ", ".join(
            f"{minute}: {count}" for minute, count in sorted(tally.close_minutes.items())) or "none"),
        ("acknowledged answers stored once", f"{exactly_once} ({len(tally.acknowledged):,} acknowledged, "
         f"{len(stored):,} rows)"),
        ("HAProxy processes (first seen at s)", ", ".join(f"{pid} ({at:.0f})" for pid, at in haproxy_pids.items())),
        ("server RSS, none / all in / end", f"{rss_none:,.0f} / {rss_start:,.0f} / {rss_end:,.0f} MiB "
         f"(end {rss_end / max(rss_start, 1):.2f}x all in)"),
        ("server memory per live session", f"{per_session_kib:,.0f} KiB"),
        ("server CPU per answer", f"{sum(cpu_ms.values()):.1f} ms: " + ", ".join(
            f"{role} {ms:.2f}" for role, ms in sorted(cpu_ms.items()) if ms >= 0.05)),
        ("RSS all in -> end, by process", ", ".join(
            f"{role} {roles_all_in.get(role, 0) / 2**20:,.0f} -> {held / 2**20:,.0f} MiB"
            for role, held in sorted(roles_end.items()) if held >= 50 * 2**20)),
    ]  # fmt: skip
    for row in rows:
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()
