"""Candidates' answer round trip while the same replica is flooded with wrong logins, side by side in one run.

One Ray cluster, one ingress replica (Serve's direct ingress behind HAProxy where `haproxy` is installed,
else the default proxy). Three phases, each run `--rounds` times in turn (quiet, one address, 200
addresses, quiet, ...) with a fresh cohort of simulated candidates taking whole assessments through the
pinned protocol, pausing as a person reads before each answer (`--think-ms`, so that the quiet replica is
not saturated by the candidates themselves):

- quiet: nothing else happens;
- one address: 200 wrong logins in flight at every moment from one client address, for as long as the
  candidates answer: each of 200 senders sends its next as soon as its last is answered (the per-address
  throttle refuses all but the first failures with 429, unhashed);
- 200 addresses: the same storm, each login from its own address (X-Forwarded-For through a proxy the
  settings trust) and for its own unknown account, so no throttle applies and every login is hashed.

Rounds in turn, pooled per phase, so that a slow moment of a shared machine falls on every phase alike;
each phase starts once the server is idle again.
Printed per phase: answers, p50 and p99 round trip, the p99 as a ratio to the quiet phase's, the ingress
replica's CPU seconds, the logins answered with their statuses, the logins' own p50, and the CPU the storm's
client spent (it shares this machine with the server; aiohttp's client, the cheapest at hand). The storm
runs in a process of its own, so that its client work does not slow the candidates' clients.

    .venv/bin/python bench/login_storm.py --clients 40 --questions 30 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server_processes import cpu_seconds, cpu_seconds_by_role  # noqa: E402 - beside this script
from ws_roundtrip import Halfway, candidate, percentile, seed, start_serve  # noqa: E402

STORM = 200  # wrong logins in flight at once
STORM_RAMP_S = 3.0  # from starting the storm to the candidates' first answer
PHASES = {"quiet": None, "one address": "one", "200 addresses": "spread"}


async def storm(base: str, stop: Any, spread: bool) -> dict[str, Any]:
    """`STORM` wrong logins in flight at every moment until `stop` is set: each of `STORM` senders sends its
    next as soon as its last is answered. Returns the statuses and the logins' own round trips. The client
    is aiohttp's, which spends a tenth of httpx's CPU per request at this concurrency (measured: httpx's
    pool of 200 connections took a whole core of this machine's two, from the server it was measuring)."""
    import aiohttp

    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=STORM)
    async with aiohttp.ClientSession(base, connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as client:

        async def sender(number: int) -> None:
            sent_count = 0
            while not stop.is_set():
                sent_count += 1
                address = f"10.{number // 250}.{number % 250}.{sent_count % 250}" if spread else "192.0.2.1"
                sent = time.perf_counter()
                async with client.post(
                    "auth/token",
                    data={"username": f"storm-{number}-{sent_count}@example.com", "password": "wrong-password"},
                    headers={"X-Forwarded-For": address},
                ) as response:
                    await response.read()
                latencies.append(time.perf_counter() - sent)
                statuses[response.status] += 1

        await asyncio.gather(*(sender(number) for number in range(STORM)))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"statuses": statuses, "latencies": latencies, "client_cpu_s": usage.ru_utime + usage.ru_stime}


def storm_process(base: str, stop: Any, spread: bool, results: Any) -> None:
    """The storm in a process of its own, so that its client work does not slow the candidates' clients."""
    results.put(asyncio.run(storm(base, stop, spread)))


async def phase(urls: list[str], questions: int, think_s: float, base: str, storming: str | None) -> dict[str, Any]:
    latencies: list[float] = []
    no_wait = Halfway(1)
    no_wait.go_on.set()
    stop, results = multiprocessing.Event(), multiprocessing.Queue()
    flood = None
    if storming:
        flood = multiprocessing.Process(target=storm_process, args=(base, stop, storming == "spread", results))
        flood.start()
        await asyncio.sleep(STORM_RAMP_S)  # every sender has a login in flight before the first answer
    await asyncio.gather(*(candidate(url, questions, latencies, [], no_wait, think_s) for url in urls))
    stop.set()
    logins = {"statuses": Counter(), "latencies": [], "client_cpu_s": 0.0}
    if flood is not None:
        logins = results.get()
        flood.join()
    return {"answers": latencies, **logins}


def settle(idle_cores: float = 0.15, longest_s: float = 60.0) -> None:
    """Wait until the server is idle: the logins a storm left queued are hashed before the next phase,
    not during it (HAProxy keeps a request whose client has gone)."""
    deadline = time.monotonic() + longest_s
    while time.monotonic() < deadline:
        before = cpu_seconds()
        time.sleep(1.0)
        if cpu_seconds() - before < idle_cores:
            return


class Pooled:
    """One phase's figures over all its rounds."""

    def __init__(self) -> None:
        self.answers: list[float] = []
        self.logins: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.replica_cpu_s = 0.0
        self.client_cpu_s = 0.0

    def add(self, outcome: dict[str, Any], cpu_s: dict[str, float]) -> None:
        self.answers += outcome["answers"]
        self.logins += outcome["latencies"]
        self.statuses.update(outcome["statuses"])
        self.client_cpu_s += outcome["client_cpu_s"]
        self.replica_cpu_s += sum(seconds for role, seconds in cpu_s.items() if role.startswith("ServeReplica"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--think-ms", type=float, default=300, help="a candidate's mean pause before answering")
    parser.add_argument("--rounds", type=int, default=3, help="times each phase runs, in turn with the others")
    parser.add_argument("--storms", nargs="+", choices=[name for name in PHASES if name != "quiet"], default=None)
    arguments = parser.parse_args()

    import shutil

    import ray
    from ray import serve
    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    from cli.server_slot import raise_open_file_limit
    from config.settings import Settings
    from persistence.migrate import upgrade
    from serve_app.deployment import build_application

    raise_open_file_limit()
    database_url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='bench-')}/bench.db"
    upgrade(database_url)
    secret = "benchmark-secret-key-that-is-long-enough-0123456789"
    phases = ["quiet", *(arguments.storms or [name for name in PHASES if name != "quiet"])]
    runs = [name for _ in range(arguments.rounds) for name in phases]
    cohorts = [asyncio.run(seed(database_url, arguments.clients + 1, arguments.questions, secret)) for _ in runs]

    mode = "haproxy" if shutil.which("haproxy") else "proxy"
    port = start_serve(mode)
    settings = Settings(
        SECRET_KEY=secret,
        ASSESS_DATABASE_URL=database_url,  # type: ignore[call-arg]
        ASSESS_RATE_LIMIT_PER_S=1000,
        ASSESS_TRUSTED_PROXIES="127.0.0.1",  # the storm names its addresses in X-Forwarded-For
    )
    serve.run(build_application(settings), name="assess", route_prefix="/assess")
    base = f"http://127.0.0.1:{port}/assess/"
    ws_base = f"ws://127.0.0.1:{port}/assess/ws/assessment"

    pooled: dict[str, Pooled] = defaultdict(Pooled)
    try:
        for name, (test_id, tokens) in track(list(zip(runs, cohorts, strict=True)), description="phases"):
            urls = [f"{ws_base}?token={token}&test_id={test_id}" for token in tokens]
            warm_up, urls = urls[0], urls[1:]
            settle()
            asyncio.run(phase([warm_up], arguments.questions, 0.0, base, None))  # the host is up before timing
            before = cpu_seconds_by_role()
            outcome = asyncio.run(phase(urls, arguments.questions, arguments.think_ms / 1000, base, PHASES[name]))
            after = cpu_seconds_by_role()
            pooled[name].add(outcome, {role: seconds - before.get(role, 0.0) for role, seconds in after.items()})
    finally:
        serve.shutdown()
        ray.shutdown()

    title = (
        f"Answer round trip under a storm of {STORM} concurrent wrong logins ({mode}, {arguments.clients}"
        f" candidates thinking {arguments.think_ms:.0f} ms on average, {arguments.rounds} rounds)"
    )
    table = Table(title=title)
    columns = (
        "phase", "answers", "p50 ms", "p99 ms", "p99 / quiet", "replica CPU s", "wrong logins", "login p50 ms",
        "storm client CPU s",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column in ("phase", "wrong logins") else "right")
    quiet_p99 = percentile(pooled["quiet"].answers, 0.99)
    for name, figures in pooled.items():
        table.add_row(
            name,
            str(len(figures.answers)),
            f"{percentile(figures.answers, 0.5):.1f}",
            f"{percentile(figures.answers, 0.99):.1f}",
            f"{percentile(figures.answers, 0.99) / quiet_p99:.2f}",
            f"{figures.replica_cpu_s:.1f}",
            ", ".join(f"{status}: {count}" for status, count in sorted(figures.statuses.items())) or "-",
            f"{percentile(figures.logins, 0.5):.0f}" if figures.logins else "-",
            f"{figures.client_cpu_s:.1f}",
        )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
