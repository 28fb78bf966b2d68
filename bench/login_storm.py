"""Candidates' answer round trip while the same replica is flooded with wrong logins, side by side in one run.

One Ray cluster, one ingress replica (Serve's direct ingress behind HAProxy where `haproxy` is installed,
else the default proxy). Three phases, each with a fresh cohort of simulated candidates taking whole
assessments through the pinned protocol:

- quiet: nothing else happens;
- storm, one address: waves of 200 concurrent wrong logins from one client address, for as long as the
  candidates answer (the per-address throttle refuses all but the first failures with 429, unhashed);
- storm, 200 addresses: the same waves, each login from its own address (X-Forwarded-For through a proxy
  the settings trust) and for its own unknown account, so no throttle applies and every login is hashed:
  what keeps the answers moving is that Argon2 runs on its own threads, off the event loop.

Printed per phase: answers, p50 and p99 round trip, the p99 as a ratio to the quiet phase's, the ingress
replica's CPU seconds, and the logins sent with their statuses (`401: n, 429: m`). The storm runs in a
process of its own, so that its client work does not slow the candidates' clients.

    .venv/bin/python bench/login_storm.py --clients 20 --questions 20
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server_processes import cpu_seconds_by_role  # noqa: E402 - beside this script
from ws_roundtrip import Halfway, candidate, percentile, seed, start_serve  # noqa: E402

STORM = 200  # wrong logins in flight at once


async def storm(base: str, stop: Any, spread: bool) -> Counter[int]:
    """Waves of `STORM` concurrent wrong logins until `stop` is set."""
    statuses: Counter[int] = Counter()
    wave = 0
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=httpx.Limits(max_connections=STORM)) as client:
        while not stop.is_set():
            wave += 1

            async def wrong_login(wave: int, number: int) -> int:
                address = f"10.{wave % 250}.{number // 250}.{number % 250}" if spread else "192.0.2.1"
                response = await client.post(
                    "/auth/token",
                    data={"username": f"storm-{wave}-{number}@example.com", "password": "wrong-password"},
                    headers={"X-Forwarded-For": address},
                )
                return response.status_code

            statuses.update(await asyncio.gather(*(wrong_login(wave, number) for number in range(STORM))))
    return statuses


def storm_process(base: str, stop: Any, spread: bool, results: Any) -> None:
    """The storm in a process of its own, so that its client work does not slow the candidates' clients."""
    results.put(dict(asyncio.run(storm(base, stop, spread))))


async def phase(urls: list[str], questions: int, base: str, storming: str | None) -> dict[str, Any]:
    latencies: list[float] = []
    no_wait = Halfway(1)
    no_wait.go_on.set()
    stop, results = multiprocessing.Event(), multiprocessing.Queue()
    flood = None
    if storming:
        flood = multiprocessing.Process(target=storm_process, args=(base, stop, storming == "spread", results))
        flood.start()
    began = time.perf_counter()
    await asyncio.gather(*(candidate(url, questions, latencies, [], no_wait) for url in urls))
    seconds = time.perf_counter() - began
    stop.set()
    statuses = results.get() if flood is not None else {}
    if flood is not None:
        flood.join()
    return {
        "answers": len(latencies),
        "per_s": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "logins": dict(sorted(statuses.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=20)
    arguments = parser.parse_args()

    import shutil

    import ray
    from ray import serve
    from rich.console import Console
    from rich.table import Table

    from cli.server_slot import raise_open_file_limit
    from config.settings import Settings
    from persistence.migrate import upgrade
    from serve_app.deployment import build_application

    raise_open_file_limit()
    database_url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='bench-')}/bench.db"
    upgrade(database_url)
    secret = "benchmark-secret-key-that-is-long-enough-0123456789"
    phases = ("quiet", "one address", "200 addresses")
    cohorts = [asyncio.run(seed(database_url, arguments.clients + 1, arguments.questions, secret)) for _ in phases]

    mode = "haproxy" if shutil.which("haproxy") else "proxy"
    port = start_serve(mode)
    settings = Settings(
        SECRET_KEY=secret,
        ASSESS_DATABASE_URL=database_url,  # type: ignore[call-arg]
        ASSESS_RATE_LIMIT_PER_S=1000,
        ASSESS_TRUSTED_PROXIES="127.0.0.1",  # the storm names its addresses in X-Forwarded-For
    )
    serve.run(build_application(settings), name="assess", route_prefix="/assess")
    base = f"http://127.0.0.1:{port}/assess"
    ws_base = f"ws://127.0.0.1:{port}/assess/ws/assessment"

    results = {}
    try:
        for name, (test_id, tokens) in zip(phases, cohorts, strict=True):
            urls = [f"{ws_base}?token={token}&test_id={test_id}" for token in tokens]
            warm_up, urls = urls[0], urls[1:]
            asyncio.run(phase([warm_up], arguments.questions, base, None))  # the host is up before timing
            storming = {"quiet": None, "one address": "one", "200 addresses": "spread"}[name]
            before = cpu_seconds_by_role()
            results[name] = asyncio.run(phase(urls, arguments.questions, base, storming))
            after = cpu_seconds_by_role()
            results[name]["cpu_s"] = {
                role: round(seconds - before.get(role, 0.0), 2)
                for role, seconds in sorted(after.items())
                if seconds - before.get(role, 0.0) >= 0.05
            }
            print(f"{name}: done", flush=True)
    finally:
        serve.shutdown()
        ray.shutdown()

    table = Table(title=f"Answer round trip under a login storm ({mode}, {arguments.clients} candidates)")
    columns = ("phase", "answers", "answers/s", "p50 ms", "p99 ms", "p99 / quiet", "ingress CPU s", "wrong logins")
    for column in columns:
        table.add_column(column, justify="left" if column in ("phase", "wrong logins") else "right")
    quiet_p99 = results["quiet"]["p99_ms"]
    for name, row in results.items():
        table.add_row(
            name,
            str(row["answers"]),
            f"{row['per_s']:.0f}",
            f"{row['p50_ms']:.1f}",
            f"{row['p99_ms']:.1f}",
            f"{row['p99_ms'] / quiet_p99:.2f}",
            f"{sum(seconds for role, seconds in row['cpu_s'].items() if role.startswith('ServeReplica')):.1f}",
            ", ".join(f"{status}: {count}" for status, count in row["logins"].items()) or "-",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
