"""Faults with 20 candidates in flight, on both databases: a session host killed, the registry killed, an
ingress replica killed. Afterwards every acknowledged answer is stored exactly once, every candidate
resumed at the right question with the right remaining time (tests/fleet.py checks each resume), and all
finish their assessments.

The kill of the whole server (SIGKILL of every process) is in test_live_crash.py.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest
import ray
from conftest import Server, invite_cohort
from fleet import FleetCandidate, check_nothing_lost, stored_answers
from live_client import ws_url

from actors.registry import NAMESPACE, registry_name

pytestmark = pytest.mark.websocket

CANDIDATES = 20
QUESTIONS = 6


def registry_of(server: Server) -> ray.actor.ActorHandle:
    return ray.get_actor(registry_name(server.settings.database_url), namespace=NAMESPACE)


def kill_the_busiest_host(server: Server) -> None:
    registry = registry_of(server)
    placements = ray.get(registry.placements.remote())
    busiest = max(set(placements.values()), key=list(placements.values()).count)
    ray.kill(ray.get(registry.host_handle.remote(busiest)))


def kill_the_registry(server: Server) -> None:
    """The registry restarts (max_restarts=-1) with no placements; its hosts die with it (it owns them)."""
    ray.kill(registry_of(server), no_restart=False)


def kill_an_ingress_replica(server: Server) -> None:
    """Serve's controller notices and starts a replacement; every socket on the replica drops."""
    replicas = [
        actor
        for actor in ray.util.list_named_actors(all_namespaces=True)
        if actor["name"].startswith("SERVE_REPLICA::") and f"::{server.backend}#" in actor["name"]
    ]
    assert replicas, "the application has a replica"
    ray.kill(ray.get_actor(replicas[0]["name"], namespace=replicas[0]["namespace"]), no_restart=True)


FAULTS: dict[str, Callable[[Server], None]] = {
    "session host": kill_the_busiest_host,
    "registry": kill_the_registry,
    "ingress replica": kill_an_ingress_replica,
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_with_twenty_candidates_in_flight_loses_nothing(server: Server, fault: str) -> None:
    test_id, tokens = invite_cohort(server, CANDIDATES, max_questions=QUESTIONS, min_questions=QUESTIONS)
    fleet = [
        FleetCandidate(ws_url(server.base_url, "/ws/assessment", token=token, test_id=test_id), pace_s=0.3)
        for token in tokens
    ]

    async def scenario() -> None:
        runs = [asyncio.create_task(candidate.run(random.Random(seed))) for seed, candidate in enumerate(fleet)]
        while sum(len(candidate.acknowledged) for candidate in fleet) < CANDIDATES:
            if any(run.done() for run in runs):
                await asyncio.gather(*runs)  # a candidate failed before the fault: raise it
            await asyncio.sleep(0.05)
        assert all(candidate.completed is None for candidate in fleet), "the fault must hit candidates mid-test"
        await asyncio.to_thread(FAULTS[fault], server)
        await asyncio.gather(*runs)

    asyncio.run(scenario())
    attempts = [candidate.attempt_id for candidate in fleet]
    assert None not in attempts and len(set(attempts)) == CANDIDATES
    check_nothing_lost(fleet, asyncio.run(stored_answers(server.settings.database_url, attempts)), QUESTIONS)  # type: ignore[arg-type]
    assert all(candidate.completed and candidate.completed["reason"] == "completed" for candidate in fleet)
    if fault == "ingress replica":
        assert sum(candidate.reconnects for candidate in fleet) > 0  # the sockets on it really dropped
    sweep = ray.get(registry_of(server).sweep.remote())  # supervision carries on after the fault
    assert set(sweep) >= {"dead_hosts", "evicted", "expired", "retired"}
