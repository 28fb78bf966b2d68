"""How the registry tells a session host that is starting or busy from one that is dead or hung.

A ping that times out is not a death: a host still starting (a new worker process on a busy node can take
tens of seconds) or busy for a moment keeps its sessions. A host silent past `host_silence_limit_s` is
killed, so that none of its sessions can stay live where the registry no longer looks, and its sessions
resume on a new host from their stored rows. A host that has never answered is judged by its own limit,
`host_start_limit_s`, so a tight silence limit does not kill hosts that are merely starting. Hosts are made
silent for real, with SIGSTOP.

The registry's liveness rules do not touch the store, so these run on SQLite only; the same registry
on PostgreSQL is exercised by test_multi_node.py and test_faults_in_flight.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import ray
from fleet import stored_answers
from live_sessions import registry_of_its_own, start_candidates, watch_sweeps

from persistence.database import Database
from simulation.live import LiveCandidate, create_simulated_test

DEFINITION = {"skills": [{"name": "python", "weight": 1.0, "prerequisites": []}], "max_questions": 5}
SWEEP_INTERVAL_S = 0.2


@contextlib.contextmanager
def registry_with(directory: Path, **config: float) -> Iterator[tuple[str, Any]]:
    """A registry of its own on SQLite, one session per host, sweeping every 0.2 s unless `config` says."""
    with registry_of_its_own(
        "sqlite",
        directory,
        **{"sessions_per_actor": 1, "sweep_interval_s": SWEEP_INTERVAL_S, "idle_timeout_s": 900.0, **config},
    ) as opened:
        yield opened


@contextlib.asynccontextmanager
async def sweep_reports(registry: Any) -> AsyncIterator[list[dict[str, float]]]:
    reports: list[dict[str, float]] = []
    watcher = asyncio.create_task(watch_sweeps(registry, reports))
    try:
        yield reports
    finally:
        watcher.cancel()


async def start_cohort(database: Database, registry: Any, count: int) -> list[tuple[LiveCandidate, Any]]:
    test_id, user_ids = await create_simulated_test(database, DEFINITION, count, uuid.uuid4().hex[:12])
    return await start_candidates(database, registry, test_id, user_ids)


async def answer(candidate: LiveCandidate, question: dict[str, Any]) -> dict[str, Any]:
    frames = await candidate.answer(question["question_id"], "a")
    assert frames[0]["type"] == "answer_feedback", frames
    return frames[-1]  # the next question


async def host_of(registry: Any, attempt_id: int) -> dict[str, Any]:
    (host,) = [host for host in await registry.host_stats.remote() if attempt_id in host["attempts"]]
    return dict(host)


def process_gone(pid: int) -> bool:
    """Killed: no such process, or a zombie its raylet has not reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, ProcessLookupError):  # gone, or going while its /proc entry was read
        return True


def test_hosts_still_starting_keep_their_sessions(ray_serve: int, tmp_path: Path) -> None:
    """Four hosts start at once and every ping in their first seconds times out (50 ms): none is let go."""

    async def scenario(sqlite_url: str, registry: Any) -> dict[str, Any]:
        database = Database(sqlite_url)
        try:
            async with sweep_reports(registry) as reports:
                live = await start_cohort(database, registry, 4)
                after_start = list(reports)
                for candidate, question in live:
                    await answer(candidate, question)
                await asyncio.sleep(3 * SWEEP_INTERVAL_S)
            return {
                "after_start": after_start,
                "reports": list(reports),
                "hosts": await registry.host_stats.remote(),
                "attempts": sorted(candidate.attempt_id for candidate, _ in live),
                "stored": await stored_answers(sqlite_url, [candidate.attempt_id for candidate, _ in live]),
            }
        finally:
            await database.dispose()

    with registry_with(tmp_path, host_ping_timeout_s=0.05, host_silence_limit_s=120.0) as (url, registry):
        seen = asyncio.run(scenario(url, registry))

    assert any(report["silent_hosts"] for report in seen["after_start"]), "no pass saw a host still starting"
    assert all(report["dead_hosts"] == 0 for report in seen["reports"]), seen["reports"]
    assert sorted(attempt for host in seen["hosts"] for attempt in host["attempts"]) == seen["attempts"]
    assert len(seen["hosts"]) == 4
    assert all(len(answered) == 1 for answered in seen["stored"].values()), seen["stored"]


def test_an_answer_after_the_ping_timeout_still_counts_as_heard(ray_serve: int, tmp_path: Path) -> None:
    """With no time allowed for a ping's answer every check times out, yet the host answers each ping a
    moment later: it is alive, and is kept well past the silence limit (a slow answer is not silence)."""
    silence_limit_s = 10.0

    async def scenario(sqlite_url: str, registry: Any) -> dict[str, Any]:
        database = Database(sqlite_url)
        try:
            ((candidate, question),) = await start_cohort(database, registry, 1)
            host = await host_of(registry, candidate.attempt_id)
            async with sweep_reports(registry) as reports:
                question = await answer(candidate, question)
                await asyncio.sleep(1.5 * silence_limit_s)
                await answer(candidate, question)
            return {
                "host": host,
                "kept": await host_of(registry, candidate.attempt_id),
                "reports": list(reports),
                "stored": await stored_answers(sqlite_url, [candidate.attempt_id]),
            }
        finally:
            await database.dispose()

    with registry_with(tmp_path, host_ping_timeout_s=0.0, host_silence_limit_s=silence_limit_s) as (url, registry):
        seen = asyncio.run(scenario(url, registry))

    assert len(seen["reports"]) > silence_limit_s / SWEEP_INTERVAL_S / 2, "too few passes to tell"
    assert all(report["silent_hosts"] == 1 for report in seen["reports"]), seen["reports"]
    assert all(report["dead_hosts"] == 0 for report in seen["reports"]), seen["reports"]
    assert seen["kept"]["host_id"] == seen["host"]["host_id"]
    (stored,) = seen["stored"].values()
    assert len(stored) == 2, stored


def test_a_host_unheard_past_the_start_limit_is_let_go(ray_serve: int, tmp_path: Path) -> None:
    """No time allowed to start, and none for a ping's answer: the first pass finds the new host unheard
    since its creation and lets it go (killed), however long the silence limit."""

    async def scenario(registry: Any) -> dict[str, Any]:
        async with sweep_reports(registry) as reports:
            host_id, handle = await registry.locate.remote(1)
            while not any(report["dead_hosts"] for report in reports):
                await asyncio.sleep(0.2)  # pytest-timeout bounds a registry that never lets it go
        try:
            await handle.stats.remote()
            answered_after = True
        except ray.exceptions.RayActorError:
            answered_after = False
        return {"host_id": host_id, "hosts": await registry.hosts.remote(), "answered_after": answered_after}

    with registry_with(tmp_path, host_ping_timeout_s=0.0, host_start_limit_s=0.0, host_silence_limit_s=120.0) as (
        _,
        registry,
    ):
        seen = asyncio.run(scenario(registry))

    assert seen["host_id"] not in seen["hosts"]
    assert not seen["answered_after"], "a host let go must be killed"


def test_a_host_is_kept_through_a_pause_and_replaced_once_silent_past_the_limit(ray_serve: int, tmp_path: Path) -> None:
    """Silent for 2 s of a 6 s limit, the host keeps its session; stopped for good, it is killed and the
    session resumes on a new host (which has the default start limit to come up in, however busy the node)."""
    silence_limit_s = 6.0

    async def scenario(sqlite_url: str, registry: Any) -> dict[str, Any]:
        database = Database(sqlite_url)
        try:
            ((candidate, question),) = await start_cohort(database, registry, 1)
            question = await answer(candidate, question)
            host = await host_of(registry, candidate.attempt_id)
            async with sweep_reports(registry) as reports:
                os.kill(host["pid"], signal.SIGSTOP)  # a pause well inside the limit
                try:
                    paused = await host_of(registry, candidate.attempt_id)  # listed, as not answering
                    await asyncio.sleep(2.0)
                finally:
                    os.kill(host["pid"], signal.SIGCONT)
                question = await answer(candidate, question)  # on the same host: it was never let go
                during_pause = list(reports)
                kept = await host_of(registry, candidate.attempt_id)

                os.kill(host["pid"], signal.SIGSTOP)  # now for good
                try:
                    while not any(report["dead_hosts"] for report in reports):
                        await asyncio.sleep(0.2)  # pytest-timeout bounds a registry that never lets it go
                    while not process_gone(host["pid"]):
                        await asyncio.sleep(0.2)
                finally:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(host["pid"], signal.SIGCONT)
            # What the ingress does when its host fails: locate again, and resume there.
            resumed = LiveCandidate(registry, candidate.attempt_id)
            frames = await resumed.start()
            moved = await host_of(registry, candidate.attempt_id)
            await answer(resumed, frames[1])
            return {
                "host": host,
                "paused": paused,
                "during_pause": during_pause,
                "kept": kept,
                "reports": list(reports),
                "resumed": frames,
                "pending": question["question_id"],
                "moved": moved,
                "stored": await stored_answers(sqlite_url, [candidate.attempt_id]),
            }
        finally:
            await database.dispose()

    with registry_with(tmp_path, host_ping_timeout_s=0.3, host_silence_limit_s=silence_limit_s) as (url, registry):
        seen = asyncio.run(scenario(url, registry))

    assert (seen["paused"]["host_id"], seen["paused"]["answered"]) == (seen["host"]["host_id"], False)
    assert any(report["silent_hosts"] for report in seen["during_pause"]), "no pass saw the paused host"
    assert all(report["dead_hosts"] == 0 for report in seen["during_pause"]), seen["during_pause"]
    assert (seen["kept"]["host_id"], seen["kept"]["answered"]) == (seen["host"]["host_id"], True)
    replaced_by = [report for report in seen["reports"] if report["dead_hosts"]]
    assert [report["dead_hosts"] for report in replaced_by] == [1], seen["reports"]
    started, pending = seen["resumed"]
    assert (started["resumed"], started["answered"], pending["question_id"]) == (True, 2, seen["pending"])
    assert seen["moved"]["host_id"] != seen["host"]["host_id"] and seen["moved"]["answered"]
    (stored,) = seen["stored"].values()
    assert len(stored) == len(set(stored)) == 3, stored


def test_the_metrics_snapshot_reads_what_the_last_sweep_heard_and_calls_no_host(ray_serve: int, tmp_path: Path) -> None:
    """Sweeping only when told: the snapshot gives the host's figures from the last pass, even while the
    host is stopped (a call to it would hang), and marks it not answering only once a pass finds it so."""

    async def scenario(sqlite_url: str, registry: Any) -> dict[str, Any]:
        database = Database(sqlite_url)
        try:
            ((candidate, question),) = await start_cohort(database, registry, 1)
            await answer(candidate, question)
            host = await host_of(registry, candidate.attempt_id)
            await registry.sweep.remote()
            os.kill(host["pid"], signal.SIGSTOP)
            try:
                while_stopped = await registry.metrics_snapshot.remote()
                await registry.sweep.remote()  # its ping times out: silent, kept
                after_a_silent_pass = await registry.metrics_snapshot.remote()
            finally:
                os.kill(host["pid"], signal.SIGCONT)
            await registry.sweep.remote()
            return {
                "host": host,
                "while_stopped": while_stopped,
                "after_a_silent_pass": after_a_silent_pass,
                "resumed": await registry.metrics_snapshot.remote(),
            }
        finally:
            await database.dispose()

    with registry_with(tmp_path, sweep_interval_s=3600.0, host_ping_timeout_s=0.5) as (url, registry):
        seen = asyncio.run(scenario(url, registry))

    (stopped,) = seen["while_stopped"]["hosts"]
    assert (stopped["host_id"], stopped["answered"], stopped["sessions"]) == (seen["host"]["host_id"], True, 1)
    assert stopped["pid"] == seen["host"]["pid"]
    assert seen["while_stopped"]["age_s"] >= 0
    (silent,) = seen["after_a_silent_pass"]["hosts"]
    assert (silent["host_id"], silent["answered"]) == (seen["host"]["host_id"], False)
    assert "sessions" not in silent
    (resumed,) = seen["resumed"]["hosts"]
    assert (resumed["answered"], resumed["sessions"]) == (True, 1)
