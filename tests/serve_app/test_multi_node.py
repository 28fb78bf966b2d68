"""A three-node Ray cluster on this machine, built with the README's recipe ("Deploy on a multi-node Ray
cluster with PostgreSQL"): `assess db upgrade`, `ray start --head --port P` (never 6379), `ray start
--address` for two workers, `assess serve --address`. Twenty candidates take a test; their sessions are
spread over the nodes; the worker node holding the most sessions is removed (SIGKILL of its raylet and
every process on it) mid-assessment; its candidates resume on the other nodes and nothing is lost.

Only what one machine forces differs from the recipe: every port is a free one, and each node gets one CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import secrets
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    POSTGRES_URL,
    ScratchPostgres,
    Server,
    free_port,
    invite_cohort,
    make_settings,
)
from fleet import FleetCandidate, attempt_rows, attempt_statuses, check_nothing_lost, stored_answers
from live_client import ws_url
from server_process import ASSESS, ServerProcess

from actors.cluster import ingress_environment
from persistence.models import Attempt

RAY = str(Path(ASSESS).with_name("ray"))
SECRET = "multi-node-test-secret-key-that-is-long-enough-0123456789"
CANDIDATES = 20
QUESTIONS = 12
SESSIONS_PER_HOST = 4  # 20 candidates -> 5 hosts, for the SPREAD strategy to place over 3 nodes


@dataclass(frozen=True)
class Node:
    node_id: str
    raylet_pid: int


@dataclass
class LocalCluster:
    """Ray nodes started with `ray start`, each a raylet of its own, all under one temp dir."""

    env: dict[str, str]
    ray_dir: str
    port: int = field(default_factory=free_port)
    nodes: list[Node] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start_head(self) -> Node:
        return self._start(
            "--head",
            f"--port={self.port}",
            f"--dashboard-port={free_port()}",
            f"--ray-client-server-port={free_port()}",
            "--disable-usage-stats",
        )

    def join(self) -> Node:
        return self._start(f"--address={self.address}")

    def remove(self, node: Node) -> None:
        """A node lost at once: SIGKILL to its raylet and to every process it started."""
        children = subprocess.run(["pgrep", "-P", str(node.raylet_pid)], capture_output=True, text=True).stdout
        for pid in [*map(int, children.split()), node.raylet_pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def tear_down(self) -> None:
        subprocess.run(["pkill", "-9", "-f", self.ray_dir], check=False)

    def _start(self, *arguments: str) -> Node:
        known = {node.raylet_pid for node in self.nodes}
        subprocess.run([RAY, "start", "--num-cpus=1", *arguments], env=self.env, check=True, capture_output=True)
        found = subprocess.run(["pgrep", "-f", f"raylet/raylet .*{self.ray_dir}"], capture_output=True, text=True)
        (pid,) = {int(pid) for pid in found.stdout.split()} - known
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        (node_id,) = [part.split(b"=", 1)[1].decode() for part in command if part.startswith(b"--node_id=")]
        node = Node(node_id, pid)
        self.nodes.append(node)
        return node


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[LocalCluster, ServerProcess, Server]]:
    scratch = ScratchPostgres.create(POSTGRES_URL)
    ray_dir = f"/tmp/rn{secrets.token_hex(3)}"
    env = {
        **os.environ,
        **ingress_environment("proxy"),
        "RAY_TMPDIR": ray_dir,
        "ASSESS_DATABASE_URL": scratch.url,
        "SECRET_KEY": SECRET,
        "ASSESS_ENVIRONMENT": "development",
        "ASSESS_ADMIN_EMAIL": ADMIN_EMAIL,
        "ASSESS_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ASSESS_PORT": str(free_port()),
        "ASSESS_SESSIONS_PER_ACTOR": str(SESSIONS_PER_HOST),
        # No sweep during the test: it would forget the placements of finished sessions, which the test
        # reads at the end to see where the removed node's sessions went (hosts that die are let go
        # when the ingress reports them, not by the sweep).
        "ASSESS_SWEEP_INTERVAL_S": "3600",
        # The README's step 4: a head turns token authentication on by itself, a joining worker does not.
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
    }
    local = LocalCluster(env, ray_dir)
    server_process = ServerProcess(env, ray_dir, ("--address", local.address))
    try:
        subprocess.run([ASSESS, "db", "upgrade"], env=env, check=True, capture_output=True)
        local.start_head()
        local.join()
        local.join()
        server_process.start()
        settings = make_settings(scratch.url, ASSESS_ENVIRONMENT="development", SECRET_KEY=SECRET)
        yield local, server_process, Server(f"http://127.0.0.1:{env['ASSESS_PORT']}", settings, "multi-node")
    finally:
        server_process.kill_everything()
        local.tear_down()
        server_process.log.unlink(missing_ok=True)
        scratch.drop()


def session_hosts(local: LocalCluster) -> list[dict[str, object]]:
    """`assess hosts --json`: the registry's hosts with their node and the attempts placed on them."""
    listed = subprocess.run(
        [ASSESS, "hosts", "--address", local.address, "--json"], env=local.env, check=True, capture_output=True
    )
    return list(json.loads(listed.stdout))


def attempts_by_node(hosts: list[dict[str, object]]) -> dict[str, set[int]]:
    placed: dict[str, set[int]] = {}
    for host in hosts:
        placed.setdefault(str(host["node_id"]), set()).update(host["attempts"])  # type: ignore[arg-type]
    return placed


def test_a_node_removed_mid_assessment_loses_nothing(cluster: tuple[LocalCluster, ServerProcess, Server]) -> None:
    local, _, server = cluster
    head = local.nodes[0]
    test_id, tokens = invite_cohort(
        server, CANDIDATES, max_questions=QUESTIONS, min_questions=QUESTIONS, max_attempts=1
    )
    fault_injected = asyncio.Event()
    fleet = [
        FleetCandidate(
            ws_url(server.base_url, "/ws/assessment", token=token, test_id=test_id),
            pace_s=0.5,
            hold=fault_injected,
            hold_after=2,
        )
        for token in tokens
    ]
    placed_before: dict[str, set[int]] = {}
    removed: Node | None = None
    removed_at = datetime.now(UTC)

    async def scenario() -> None:
        nonlocal placed_before, removed, removed_at
        runs = [asyncio.create_task(candidate.run(random.Random(seed))) for seed, candidate in enumerate(fleet)]
        while any(len(candidate.acknowledged) < 2 for candidate in fleet):
            if any(run.done() for run in runs):
                await asyncio.gather(*runs)  # a candidate failed before the fault: raise it
            await asyncio.sleep(0.05)
        placed_before = attempts_by_node(await asyncio.to_thread(session_hosts, local))
        workers = [node for node in local.nodes if node != head]
        removed = max(workers, key=lambda node: len(placed_before.get(node.node_id, ())))
        assert all(candidate.completed is None for candidate in fleet), "the fault must hit candidates mid-test"
        await asyncio.to_thread(local.remove, removed)
        removed_at = datetime.now(UTC)
        fault_injected.set()
        await asyncio.gather(*runs)

    asyncio.run(scenario())
    assert removed is not None
    attempts = [candidate.attempt_id for candidate in fleet]
    assert sorted(set().union(*placed_before.values())) == sorted(attempts), "every session was placed"
    assert len(placed_before) >= 2, f"sessions were not spread over the nodes: {placed_before}"
    moved = placed_before[removed.node_id]
    assert moved, "the removed node held sessions"
    check_nothing_lost(fleet, asyncio.run(stored_answers(server.settings.database_url, attempts)), QUESTIONS)  # type: ignore[arg-type]
    statuses = asyncio.run(attempt_statuses(server.settings.database_url, attempts))  # type: ignore[arg-type]
    assert set(statuses.values()) == {("completed", "completed")}, statuses
    placed_after = attempts_by_node(session_hosts(local))
    assert removed.node_id not in placed_after, "a host is still placed on the removed node"
    # Every candidate was held mid-test until the node had gone: each of its sessions finished elsewhere.
    finished = asyncio.run(attempt_rows(server.settings.database_url, sorted(moved), Attempt.finished_at))
    went_on = {attempt_id for attempt_id, (finished_at,) in finished.items() if finished_at > removed_at}
    assert went_on == moved, f"sessions of the removed node finished before it went: {finished}"
    assert went_on <= set().union(*placed_after.values()), "the removed node's sessions went on elsewhere"
    for node_id, kept in placed_before.items():  # the other nodes' sessions stayed where they were
        if node_id != removed.node_id:
            assert kept <= placed_after[node_id], (node_id, kept, placed_after)
