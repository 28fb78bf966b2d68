"""Round trip of the live protocol against a bare Ray Serve WebSocket echo, side by side in one run.

For each ingress mode (the default Serve proxy, and Serve's direct ingress behind HAProxy) a fresh Ray
cluster runs three applications: ours, a bare WebSocket echo, and an echo that makes one actor call per
message. The same number of concurrent clients drive each: simulated candidates take whole assessments
through the pinned protocol; echo clients send the same number of messages. Printed per mode: answers
(messages) per second, p50/p99 round trip, our ratios to both echoes, server CPU milliseconds per answer
and per echoed message (every server process: bench/server_processes.py; an echo's is the floor the
ingress mode itself costs a message), session starts per second, and server memory per
live session: (server RSS with every candidate connected and halfway through - RSS before any) / N. The
candidates wait for each other at the halfway mark while it is measured; the wait is not timed.

    .venv/bin/python bench/ws_roundtrip.py --clients 50 --questions 20
    .venv/bin/python bench/ws_roundtrip.py --clients 20 --sessions-per-actor 1 --modes proxy
"""

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

# No postponed annotations here: the echo handlers are pickled by value into replicas, and FastAPI needs
# their `WebSocket` annotation as the class itself.
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server_processes import cpu_seconds, cpu_seconds_by_role, rss_bytes  # noqa: E402 - beside this script

# -- the three applications ------------------------------------------------------------------------------


def echo_application(actor_call: bool) -> Any:
    import ray
    from ray import serve

    @ray.remote(num_cpus=0)
    class Counter:
        def __init__(self) -> None:
            self.count = 0

        def bump(self) -> int:
            self.count += 1
            return self.count

    @serve.deployment(max_ongoing_requests=5000, ray_actor_options={"num_cpus": 0})
    @serve.ingress()
    class Echo:
        def __init__(self) -> None:
            self.counter = Counter.remote() if actor_call else None

        def __serve_build_asgi_app__(self) -> FastAPI:
            app = FastAPI()
            counter = self.counter

            @app.websocket("/ws")
            async def echo(websocket: WebSocket) -> None:
                await websocket.accept()
                try:
                    while True:
                        text = await websocket.receive_text()
                        if counter is not None:
                            await counter.bump.remote()
                        await websocket.send_text(text)
                except WebSocketDisconnect:
                    return

            return app

    return Echo.bind()


# -- clients -------------------------------------------------------------------------------------------------


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else float("nan")


class Halfway:
    """Where every candidate waits, connected and mid-test, while the server's memory is measured."""

    def __init__(self, candidates: int) -> None:
        self.waiting = 0
        self.candidates = candidates
        self.everyone = asyncio.Event()
        self.go_on = asyncio.Event()
        self.paused_s = 0.0

    async def reached(self) -> None:
        self.waiting += 1
        if self.waiting == self.candidates:
            self.everyone.set()
        await self.go_on.wait()


async def candidate(
    url: str,
    questions: int,
    latencies: list[float],
    starts: list[tuple[float, float]],
    halfway: Halfway,
    think_s: float = 0.0,
) -> None:
    """One candidate's whole assessment; with `think_s`, a pause of 0.5 to 1.5 times it (not timed) before
    each answer, as a person reads the question."""
    import websockets

    async with websockets.connect(url, open_timeout=120, max_size=2**22) as socket:
        assert json.loads(await socket.recv())["type"] == "auth_success"
        began = time.perf_counter()
        await socket.send(json.dumps({"type": "start_assessment"}))
        await socket.recv()
        frame = json.loads(await socket.recv())
        starts.append((began, time.perf_counter()))
        answered = 0
        while frame["type"] == "question":
            if answered == questions // 2:
                await halfway.reached()
            if think_s:
                await asyncio.sleep(random.uniform(0.5, 1.5) * think_s)
            sent = time.perf_counter()
            await socket.send(
                json.dumps({"type": "submit_answer", "question_id": frame["question_id"], "selected_option": "a"})
            )
            await socket.recv()
            await socket.recv()
            frame = json.loads(await socket.recv())
            latencies.append(time.perf_counter() - sent)
            answered += 1


async def echo_client(url: str, messages: int, latencies: list[float]) -> None:
    import websockets

    async with websockets.connect(url, open_timeout=120) as socket:
        for number in range(messages):
            sent = time.perf_counter()
            await socket.send(json.dumps({"type": "heartbeat", "n": number}))
            await socket.recv()
            latencies.append(time.perf_counter() - sent)


# -- one ingress mode, in a process of its own (Ray reads the ingress settings at start) -------------------


async def seed(database_url: str, clients: int, questions: int, secret: str) -> tuple[int, list[str]]:
    from datetime import UTC, datetime

    from domain.enums import GeneratorKind, Role, TestStatus
    from persistence import catalog, users
    from persistence.database import Database
    from serve_app.tokens import TokenService

    database = Database(database_url)
    run = uuid.uuid4().hex[:8]  # accounts of their own: each mode of a run may seed the same --database-url
    async with database.transaction() as session:
        admin = await users.create_user(
            session,
            email=f"bench-{run}-admin@example.com",
            password="bench-password",
            full_name="Bench",
            role=Role.ADMIN,
        )
        test = await catalog.create_test(
            session,
            {
                "title": "Benchmark",
                "job_description": "Benchmark",
                "max_questions": questions,
                "min_questions": 1,
                "skills": [{"name": name, "weight": 1.0, "prerequisites": []} for name in ("python", "sql", "http")],
                "se_target": None,
                "duration_minutes": 60,
                "starts_at": None,
                "ends_at": None,
                "max_attempts": 1,
                "generator": GeneratorKind.BANK,
                "passing_score": 50.0,
            },
            created_by=admin,
        )
        await catalog.update_test(session, test, {"status": TestStatus.PUBLISHED}, now=datetime.now(UTC))
        ids = []
        for number in range(clients):
            user = await users.create_user(
                session,
                email=f"bench-{run}-{number}@example.com",
                password="bench-password",
                full_name="Bench",
                role=Role.CANDIDATE,
            )
            ids.append(user.id)
        await catalog.add_candidates(session, test, ids, 0)
    await database.dispose()
    tokens = TokenService(secret, "HS256", "assess", "assess-api", __import__("datetime").timedelta(hours=2))
    return test.id, [tokens.issue(user_id, Role.CANDIDATE) for user_id in ids]


def start_serve(mode: str) -> int:
    """A Ray cluster of this machine's shape and Serve's HTTP entry in an ingress mode; returns its port."""
    import ray
    from ray import serve

    from actors.cluster import RUNTIME_ENVIRONMENT, ingress_environment

    os.environ.update(ingress_environment(mode))  # type: ignore[arg-type]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env=RUNTIME_ENVIRONMENT)
    port = 18000 + os.getpid() % 1000
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    return port


def run_mode(mode: str, clients: int, questions: int, sessions_per_actor: int | None, database_url: str | None) -> dict:
    import ray
    from ray import serve

    from actors.registry import NAMESPACE, registry_name
    from cli.server_slot import raise_open_file_limit
    from config.settings import Settings
    from persistence.migrate import upgrade
    from serve_app.deployment import build_application

    raise_open_file_limit()  # hundreds of client sockets here, and the cluster started below inherits it
    scratch = tempfile.mkdtemp(prefix="bench-")
    database_url = database_url or f"sqlite+aiosqlite:///{scratch}/bench.db"
    upgrade(database_url)
    secret = "benchmark-secret-key-that-is-long-enough-0123456789"
    test_id, tokens = asyncio.run(seed(database_url, clients + 1, questions, secret))
    warm_up, tokens = tokens[0], tokens[1:]

    port = start_serve(mode)
    settings = Settings(
        SECRET_KEY=secret,
        ASSESS_DATABASE_URL=database_url,  # type: ignore[call-arg]
        **({"ASSESS_SESSIONS_PER_ACTOR": sessions_per_actor} if sessions_per_actor else {}),
        ASSESS_RATE_LIMIT_PER_S=1000,
    )
    serve.run(build_application(settings), name="assess", route_prefix="/assess")
    serve.run(echo_application(actor_call=False), name="echo", route_prefix="/echo")
    serve.run(echo_application(actor_call=True), name="echo_actor", route_prefix="/echo_actor")
    base = f"ws://127.0.0.1:{port}"

    async def drive_echo(path: str) -> tuple[float, list[float]]:
        latencies: list[float] = []
        began = time.perf_counter()
        await asyncio.gather(*(echo_client(f"{base}{path}", questions, latencies) for _ in range(clients)))
        return time.perf_counter() - began, latencies

    results: dict[str, Any] = {"mode": mode}
    for name, path in (("echo", "/echo/ws"), ("echo_actor", "/echo_actor/ws")):
        asyncio.run(drive_echo(path))  # warm up
        cpu_before_echo = cpu_seconds()
        seconds, latencies = asyncio.run(drive_echo(path))
        results[name] = {
            "per_s": len(latencies) / seconds,
            "p50_ms": percentile(latencies, 0.5),
            "p99_ms": percentile(latencies, 0.99),
            "cpu_ms_per_message": (cpu_seconds() - cpu_before_echo) * 1000 / max(len(latencies), 1),
        }

    latencies: list[float] = []
    starts: list[tuple[float, float]] = []
    halfway = Halfway(clients)
    memory: dict[str, float] = {}
    # One whole assessment first, so the registry and a session host are up (their process starts are not
    # what an answer or a session costs), then the baseline with nobody connected.
    no_wait = Halfway(1)
    no_wait.go_on.set()
    asyncio.run(candidate(f"{base}/assess/ws/assessment?token={warm_up}&test_id={test_id}", questions, [], [], no_wait))
    time.sleep(2.0)
    rss_none = rss_bytes()
    cpu_before = cpu_seconds()
    roles_before = cpu_seconds_by_role()

    async def measure_halfway() -> None:
        await halfway.everyone.wait()
        paused = time.perf_counter()
        cpu = cpu_seconds()
        memory["rss_halfway"] = rss_bytes()
        registry = ray.get_actor(registry_name(database_url), namespace=NAMESPACE)
        memory["hosts"] = len(await registry.hosts.remote())
        memory["cpu_paused"] = cpu_seconds() - cpu  # what measuring cost, not counted as the server's
        halfway.paused_s = time.perf_counter() - paused
        halfway.go_on.set()

    async def drive_assessments() -> float:
        urls = [f"{base}/assess/ws/assessment?token={token}&test_id={test_id}" for token in tokens]
        began = time.perf_counter()
        measuring = asyncio.create_task(measure_halfway())
        await asyncio.gather(*(candidate(url, questions, latencies, starts, halfway) for url in urls))
        await measuring
        return time.perf_counter() - began - halfway.paused_s

    seconds = asyncio.run(drive_assessments())
    cpu_ms = (cpu_seconds() - cpu_before - memory["cpu_paused"]) * 1000
    roles_after = cpu_seconds_by_role()
    answers = max(len(latencies), 1)
    by_role = {
        role: (seconds_now - roles_before.get(role, 0.0)) * 1000 / answers for role, seconds_now in roles_after.items()
    }
    results["assess"] = {
        "per_s": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "cpu_ms_per_answer": cpu_ms / answers,
        "cpu_ms_per_answer_by_role": {role: round(ms, 2) for role, ms in sorted(by_role.items()) if ms >= 0.05},
        "starts_per_s": len(starts) / max(max(end for _, end in starts) - min(begin for begin, _ in starts), 1e-9),
        "start_p50_ms": percentile([end - begin for begin, end in starts], 0.5),
        "hosts": memory["hosts"],
        "sessions": clients,
        "rss_kib_per_session": (memory["rss_halfway"] - rss_none) / 1024 / clients,
    }
    serve.shutdown()
    ray.shutdown()
    return results


def print_table(all_results: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="WebSocket round trip: our protocol against bare Serve echoes (same clients, same run)")
    columns = ("ingress", "application", "msg/s", "p50 ms", "p99 ms", "ours vs this (msg/s)", "server CPU ms/msg")
    for column in columns:
        table.add_column(column, justify="right")
    for result in all_results:
        ours = result["assess"]
        for name in ("assess", "echo", "echo_actor"):
            row = result[name]
            ratio = "" if name == "assess" else f"{ours['per_s'] / row['per_s']:.2f}"
            cpu = row["cpu_ms_per_answer" if name == "assess" else "cpu_ms_per_message"]
            table.add_row(
                result["mode"],
                name,
                f"{row['per_s']:.0f}",
                f"{row['p50_ms']:.1f}",
                f"{row['p99_ms']:.1f}",
                ratio,
                f"{cpu:.2f}",
            )
    Console().print(table)
    for result in all_results:
        ours = result["assess"]
        print(
            f"[{result['mode']}] server CPU {ours['cpu_ms_per_answer']:.1f} ms/answer; "
            f"{ours['starts_per_s']:.1f} session starts/s (p50 {ours['start_p50_ms']:.0f} ms); "
            f"{ours['sessions']} live sessions on {ours['hosts']} host(s), "
            f"{ours['rss_kib_per_session']:.0f} KiB server memory per live session"
        )
        roles = ", ".join(f"{role} {ms:.2f}" for role, ms in ours["cpu_ms_per_answer_by_role"].items())
        print(f"[{result['mode']}] CPU ms/answer by process: {roles}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--sessions-per-actor", type=int, default=None, help="default: the setting's default")
    parser.add_argument("--modes", default="proxy,haproxy")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--only-mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only_mode:
        result = run_mode(args.only_mode, args.clients, args.questions, args.sessions_per_actor, args.database_url)
        print("RESULT " + json.dumps(result))
        return
    results = []
    for mode in args.modes.split(","):
        command = [
            sys.executable,
            __file__,
            "--only-mode",
            mode,
            "--clients",
            str(args.clients),
            "--questions",
            str(args.questions),
            *(["--sessions-per-actor", str(args.sessions_per_actor)] if args.sessions_per_actor else []),
        ]
        if args.database_url:
            command += ["--database-url", args.database_url]
        print(f"running the {mode} ingress ...", flush=True)
        output = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        line = next((line for line in output.stdout.splitlines() if line.startswith("RESULT ")), None)
        if line is None:
            print(output.stdout[-3000:], output.stderr[-3000:])
            raise SystemExit(f"the {mode} run failed")
        results.append(json.loads(line.removeprefix("RESULT ")))
    print_table(results)


if __name__ == "__main__":
    main()
