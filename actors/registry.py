"""The registry: one named actor per cluster (and database) that supervises the session hosts.

It places sessions on hosts with free capacity (starting hosts as needed), remembers where each lives,
and sweeps on a period: it replaces hosts that died or stopped answering (their sessions are re-placed on
the next `locate` and rebuild from their stored rows), evicts idle sessions, forgets the placements of
finished ones, finalizes attempts whose deadline passed even with no client connected, and retires hosts
left empty. Connections consult it once each, never per message. It keeps the recruiters' live feed: the
monitors' watches (by lease, told to every host) say which tests' activity the hosts send, in batches.

A host is let go only when Ray reports it dead, or when it has gone unheard too long: `host_start_limit_s`
from its creation until its first answer (starting a worker process on a busy node can take tens of
seconds), then `host_silence_limit_s` from its last answer. A ping that merely times out may be a host
still starting or busy, and its sessions are live. A host let go is always killed first, so a session can
never be live on a host the registry no longer knows.

Hosts are spread over the cluster's nodes (each new host goes to the alive node with the fewest), so losing
a node loses only its share of the live sessions, and those are re-placed on the hosts of the other nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import ray
from ray.actor import ActorHandle
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors.activity_feed import ActivityFeed, Watched, WatchLeases
from actors.cluster import head_node_id
from actors.connection_directory import ConnectionDirectory
from actors.host import HOST_MAX_CONCURRENCY, SessionHostActor
from config.logs import configure_logging
from config.settings import Settings
from generation.endpoint import ModelEndpoint
from persistence import attempts
from persistence.database import Database

logger = logging.getLogger(__name__)

NAMESPACE = "assess"
SWEEP_CONCURRENCY = 32
# A node where a host was just lost gets no new hosts for this long while another node can take them: Ray
# may still list a node that has gone as alive for a while, and hosts placed there would fail in turn.
NODE_AVOIDED_AFTER_LOSS_S = 60.0
HOST_CALL_TIMEOUT_S = 5.0  # telling hosts about a watch or a deadline: a hung host must not stall the caller


@dataclass(frozen=True)
class RegistryConfig:
    database_url: str
    sessions_per_actor: int
    sweep_interval_s: float
    idle_timeout_s: float
    model: ModelEndpoint | None = None  # the LLM generator's endpoint; None: bank and families only
    host_ping_timeout_s: float = 5.0  # how long one check waits for a host's answer
    # How long a host may go unheard before it is killed and its sessions re-placed: from its creation to its
    # first answer (starting a host process can take tens of seconds on a busy node), then from its last
    # answer. Kept apart so that a tight silence limit does not kill hosts that are merely starting.
    host_start_limit_s: float = 60.0
    host_silence_limit_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RegistryConfig:
        return cls(
            database_url=settings.database_url,
            sessions_per_actor=settings.sessions_per_actor,
            sweep_interval_s=settings.sweep_interval_s,
            idle_timeout_s=settings.session_idle_s,
            model=ModelEndpoint.from_settings(settings),
        )


@dataclass
class HostRecord:
    handle: ActorHandle
    node_id: str | None  # the node it was placed on (None on a one-node cluster)
    attempts: set[int] = field(default_factory=set)
    empty_sweeps: int = 0
    created: float = field(default_factory=time.monotonic)
    last_heard: float | None = None  # its last answer; None until its first
    # The ping still awaiting the host's answer: a check waits on it rather than sending another, and its
    # answer counts when it comes, however late (a slow answer is not silence).
    ping: asyncio.Task[None] | None = None
    # The host's own figures as its last answer gave them (a ping asks for them), and whether the last
    # check got its answer in time: what /metrics shows, so that a scrape calls no host.
    figures: dict[str, Any] | None = None
    answered_last_check: bool = False


class Health(Enum):
    ANSWERED = "answered"
    SILENT = "silent"  # no answer in time: starting, busy or hung
    DEAD = "dead"  # Ray reports the actor dead or unreachable, or it is no longer ours


def registry_name(database_url: str) -> str:
    # One registry per database: two deployments on one cluster with different stores stay apart.
    return "assess-registry-" + hashlib.sha256(database_url.encode()).hexdigest()[:12]


class Registry:
    def __init__(self, config: RegistryConfig) -> None:
        configure_logging()
        self._config = config
        self._hosts: dict[str, HostRecord] = {}
        self._placements: dict[int, str] = {}
        self._placing = asyncio.Lock()
        self._host_lost_at: dict[str, float] = {}  # node id -> when a host there was last let go
        self._database: Database | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._expiring = asyncio.Semaphore(SWEEP_CONCURRENCY)
        self.last_sweep: dict[str, float] = {}
        self._swept_at: float | None = None  # when the last pass ended (monotonic)
        self._draining = False
        self._activity = ActivityFeed()
        self._revocations = ActivityFeed()  # {user_id, generation}: tokens revoked, for every replica
        self._leases = WatchLeases()
        self._watched = Watched()
        self._connections = ConnectionDirectory()

    async def start(self) -> None:
        """Begin the periodic sweep (the ingress calls this once at start-up)."""
        self._ensure_sweeper()

    async def locate(self, attempt_id: int, failed_host_id: str | None = None) -> tuple[str, ActorHandle]:
        """The host of this attempt's session, placing it if it has none (or its host failed)."""
        self._ensure_sweeper()
        async with self._placing:
            # The ingress saw this host fail a call: unless it answers now, it is replaced.
            if failed_host_id is not None and await self._check(failed_host_id) is not Health.ANSWERED:
                self._let_go(failed_host_id, "failed a call and did not answer")
            host_id = self._placements.get(attempt_id)
            if host_id is None or host_id not in self._hosts:
                host_id = self._host_with_room()
                self._placements[attempt_id] = host_id
                self._hosts[host_id].attempts.add(attempt_id)
            return host_id, self._hosts[host_id].handle

    async def sweep(self) -> dict[str, float]:
        """One supervision pass; runs on the period and can be called directly. Hosts are pinged and
        swept concurrently, and overdue attempts finalized `SWEEP_CONCURRENCY` at a time, so a pass stays
        short with thousands of live sessions; what fails is logged and retried on the next pass. Hosts
        that did not answer are left out of this pass, and replaced once silent past the limit."""
        began = time.perf_counter()
        host_ids = list(self._hosts)
        health = dict(zip(host_ids, await asyncio.gather(*map(self._check, host_ids)), strict=True))
        replaced = 0
        for host_id, found in health.items():
            if found is Health.DEAD:
                replaced += self._let_go(host_id, "Ray reports it dead")
            elif found is Health.SILENT and self._silent_too_long(host_id):
                replaced += self._let_go(host_id, "unheard past its limit")
        kept_silent = sum(found is Health.SILENT and host_id in self._hosts for host_id, found in health.items())
        records = [record for host_id, record in self._hosts.items() if health.get(host_id) is Health.ANSWERED]
        let_go: list[Any] = await asyncio.gather(
            *(record.handle.evict_idle.remote(self._config.idle_timeout_s) for record in records),
            return_exceptions=True,
        )
        gone = [found for found in let_go if isinstance(found, dict)]
        evicted = [attempt_id for found in gone for attempt_id in found["idle"]]
        finished = [attempt_id for found in gone for attempt_id in found["finished"]]
        for attempt_id in [*evicted, *finished]:
            self._unplace(attempt_id)
        self._leases.lapse(time.monotonic())
        await self._share_watched()
        async with self._store().transaction() as session:
            overdue = await attempts.overdue_attempts(session, datetime.now(UTC))
        finalized = await asyncio.gather(*(self._expire(attempt_id) for attempt_id in overdue))
        previous = self.last_sweep
        self.last_sweep = {
            "dead_hosts": replaced,  # let go: reported dead, or silent past the limit
            "silent_hosts": kept_silent,  # kept: not silent for long enough yet
            "evicted": len(evicted),
            "finished": len(finished),  # left their hosts when they finished; their placements go now
            "expired": sum(finalized),
            "retired": self._retire_empty_hosts(),
            "sessions": len(self._placements),
            "seconds": round(time.perf_counter() - began, 3),
            "number": previous.get("number", 0) + 1,
            "evicted_total": previous.get("evicted_total", 0) + len(evicted),
            "expired_total": previous.get("expired_total", 0) + sum(finalized),
        }
        self._swept_at = time.monotonic()
        return dict(self.last_sweep)

    async def drain(self) -> dict[str, int]:
        """Before the cluster stops (after the ingress has gone): stop sweeping and let every host finish
        the writes in progress. Attempts stay in progress and resumable; deadlines that pass meanwhile
        are finalized by the first sweep after the next start."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._draining = True
        held: list[Any] = await asyncio.gather(
            *(record.handle.drain.remote() for record in self._hosts.values()), return_exceptions=True
        )
        return {"hosts": len(held), "sessions": sum(count for count in held if isinstance(count, int))}

    def sweep_report(self) -> dict[str, float]:
        """The figures of the last pass (empty before the first)."""
        return dict(self.last_sweep)

    def placements(self) -> dict[int, str]:
        return dict(self._placements)

    def hosts(self) -> dict[str, int]:
        return {host_id: len(record.attempts) for host_id, record in self._hosts.items()}

    async def host_stats(self) -> list[dict[str, object]]:
        """Every host the registry holds, with the attempts placed on it: its own figures (node, process,
        sessions, connections) when it answers in time, else `answered: false` and the node it was placed on."""
        records = list(self._hosts.items())
        replies: list[Any] = await asyncio.gather(
            *(
                asyncio.wait_for(record.handle.stats.remote(), self._config.host_ping_timeout_s)
                for _, record in records
            ),
            return_exceptions=True,
        )
        return [
            {**reply, "answered": True, "attempts": sorted(record.attempts)}
            if isinstance(reply, dict)
            else {"host_id": host_id, "node_id": record.node_id, "answered": False, "attempts": sorted(record.attempts)}
            for (host_id, record), reply in zip(records, replies, strict=True)
        ]

    def metrics_snapshot(self) -> dict[str, Any]:
        """What /metrics shows of the cluster: each host's figures as the last sweep's ping brought them
        (`answered: false` for a host that did not answer it in time, or has not been swept yet), and the
        sweep's own. Read from memory: a scrape calls no host, however many there are or however often."""
        hosts = [
            {**record.figures, "answered": True}
            if record.answered_last_check and record.figures is not None
            else {"host_id": host_id, "node_id": record.node_id, "answered": False}
            for host_id, record in self._hosts.items()
        ]
        age_s = None if self._swept_at is None else round(time.monotonic() - self._swept_at, 3)
        return {"hosts": hosts, "session_hosts": len(self._hosts), "sweep": dict(self.last_sweep), "age_s": age_s}

    # -- live analytics: the activity feed and the connection directory --------------------------------

    async def publish_activity(self, events: list[dict[str, Any]]) -> None:
        await self._activity.publish(events)

    async def watch(self, test_id: int | None) -> int:
        """A monitor begins watching a test (None: every test). Returns once every host publishes its
        activity: the feed's number to read from."""
        self._leases.renew(test_id, time.monotonic())
        await self._share_watched()
        return self._activity.last

    async def activity_after(self, sequence: int, test_id: int | None, wait_s: float) -> tuple[int, list[Any]]:
        """The events after `sequence`, waiting up to `wait_s`; each call renews the monitor's watch."""
        self._leases.renew(test_id, time.monotonic())
        await self._share_watched()
        return await self._activity.after(sequence, test_id, wait_s)

    # -- revoked tokens (serve_app/revocations.py) -----------------------------------------------------

    async def revoke_tokens(self, user_id: int, generation: int) -> None:
        """The user's tokens older than `generation` were revoked (and stored): every replica closes the
        sockets they opened."""
        await self._revocations.publish([{"user_id": user_id, "generation": generation, "test_id": None}])

    async def revocations_after(self, sequence: int, wait_s: float) -> tuple[int, list[Any]]:
        return await self._revocations.after(sequence, None, wait_s)

    async def set_deadline(self, attempt_id: int, deadline: datetime) -> None:
        """Extra time was granted (and stored): the attempt's live session, if any, moves its deadline."""
        record = self._hosts.get(self._placements.get(attempt_id, ""))
        if record is not None:
            with contextlib.suppress(Exception):  # a host that died rebuilds with the stored deadline
                await asyncio.wait_for(record.handle.set_deadline.remote(attempt_id, deadline), HOST_CALL_TIMEOUT_S)

    def connection_opened(self, endpoint: str, user_id: int, test_id: int | None) -> None:
        self._connections.opened(endpoint, user_id, test_id)

    def report_connections(self, replica_id: str, connections: list[dict[str, Any]] | None) -> bool:
        """A replica's check-in, with its table of open connections or without (None); returns whether
        the tables are wanted (someone read them lately)."""
        return self._connections.report(replica_id, connections)

    async def connections(self) -> list[dict[str, Any]]:
        return await self._connections.connections()

    def host_handle(self, host_id: str) -> ActorHandle | None:
        record = self._hosts.get(host_id)
        return record.handle if record else None

    # -- internals ------------------------------------------------------------------------------------

    async def _share_watched(self) -> None:
        """Tell every host what monitors watch now, when that changed."""
        watched = self._leases.watched()
        if watched == self._watched:
            return
        self._watched = watched
        await asyncio.gather(
            *(
                asyncio.wait_for(record.handle.watch.remote(watched), HOST_CALL_TIMEOUT_S)
                for record in self._hosts.values()
            ),
            return_exceptions=True,
        )

    def _host_with_room(self) -> str:
        for host_id, record in self._hosts.items():
            if len(record.attempts) < self._config.sessions_per_actor:
                return host_id
        host_id, node_id = uuid.uuid4().hex[:12], self._node_with_fewest_hosts()
        # Ray's SPREAD strategy, and a soft affinity, both let a busy raylet pile zero-CPU hosts on one node.
        placement = NodeAffinitySchedulingStrategy(node_id, soft=False) if node_id else "DEFAULT"
        handle: ActorHandle = SessionHostActor.options(  # type: ignore[attr-defined,assignment]
            num_cpus=0,
            max_concurrency=HOST_MAX_CONCURRENCY,
            scheduling_strategy=placement,
            # Ray records every actor call for its state API by default: at a few hundred calls a second
            # that grew the GCS by 210 MiB in a 10-minute soak. Serve's replicas opt out the same way.
            enable_task_events=False,
        ).remote(
            host_id,
            self._config.database_url,
            self._config.sessions_per_actor,
            self._config.model,
            ray.get_runtime_context().current_actor,  # where the host publishes its sessions' activity
            self._watched,
        )
        self._hosts[host_id] = HostRecord(handle, node_id)
        return host_id

    def _node_with_fewest_hosts(self) -> str | None:
        """The alive node holding the fewest of our hosts, preferring nodes that have not just lost one
        (None on a one-node cluster: no choice to make)."""
        alive = [node["NodeID"] for node in ray.nodes() if node["Alive"]]
        if len(alive) < 2:
            return None
        hosts_per_node = Counter(record.node_id for record in self._hosts.values())
        now = time.monotonic()

        def just_lost_one(node_id: str) -> bool:
            return now - self._host_lost_at.get(node_id, -NODE_AVOIDED_AFTER_LOSS_S) < NODE_AVOIDED_AFTER_LOSS_S

        return min(alive, key=lambda node_id: (just_lost_one(node_id), hosts_per_node[node_id]))

    async def _check(self, host_id: str) -> Health:
        record = self._hosts.get(host_id)
        if record is None:
            return Health.DEAD
        if record.ping is None or record.ping.done():
            record.ping = asyncio.get_running_loop().create_task(self._ping(record))
        try:
            await asyncio.wait_for(asyncio.shield(record.ping), self._config.host_ping_timeout_s)
            health = Health.ANSWERED
        except TimeoutError:
            health = Health.SILENT
        except ray.exceptions.RayActorError:
            health = Health.DEAD
        record.answered_last_check = health is Health.ANSWERED
        return health

    @staticmethod
    async def _ping(record: HostRecord) -> None:
        record.figures = await record.handle.stats.remote()
        record.last_heard = time.monotonic()

    def _silent_too_long(self, host_id: str) -> bool:
        record = self._hosts.get(host_id)  # a `locate` may have let it go meanwhile
        if record is None:
            return False
        if record.last_heard is None:
            return time.monotonic() - record.created >= self._config.host_start_limit_s
        return time.monotonic() - record.last_heard >= self._config.host_silence_limit_s

    async def _expire(self, attempt_id: int) -> bool:
        async with self._expiring:
            try:
                _, host = await self.locate(attempt_id)
                # Bounded: a host that hangs must not stall the sweep that would replace it.
                return bool(await asyncio.wait_for(host.expire.remote(attempt_id), self._config.host_silence_limit_s))
            except Exception:
                logger.exception("could not finalize an overdue attempt", extra={"attempt_id": attempt_id})
                return False

    def _let_go(self, host_id: str, reason: str) -> bool:
        """Forget a host and kill it (so none of its sessions can stay live elsewhere than the registry
        knows); its sessions are re-placed on their next `locate` and rebuild from their stored rows. False
        when it was already let go."""
        record = self._hosts.pop(host_id, None)
        if record is None:
            return False
        ray.kill(record.handle, no_restart=True)
        if record.node_id is not None:
            self._host_lost_at[record.node_id] = time.monotonic()
        logger.warning(
            "session host let go (%s); its %d sessions will be re-placed",
            reason,
            len(record.attempts),
            extra={"host_id": host_id},
        )
        for attempt_id in record.attempts:
            self._placements.pop(attempt_id, None)
        return True

    def _unplace(self, attempt_id: int) -> None:
        host_id = self._placements.pop(attempt_id, None)
        if host_id in self._hosts:
            self._hosts[host_id].attempts.discard(attempt_id)

    def _retire_empty_hosts(self) -> int:
        retired = 0
        for host_id, record in list(self._hosts.items()):
            record.empty_sweeps = record.empty_sweeps + 1 if not record.attempts else 0
            if record.empty_sweeps >= 2:
                del self._hosts[host_id]
                ray.kill(record.handle)
                retired += 1
        return retired

    def _store(self) -> Database:
        if self._database is None:
            self._database = Database(self._config.database_url)
        return self._database

    def _ensure_sweeper(self) -> None:
        if not self._draining and (self._sweeper is None or self._sweeper.done()):
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._config.sweep_interval_s)
            try:
                report = await self.sweep()
                if any(report[figure] for figure in ("dead_hosts", "silent_hosts", "evicted", "expired", "retired")):
                    logger.info("registry sweep", extra={"sweep": report})
            except Exception:
                logger.exception("registry sweep failed; retrying on the next period")


RegistryActor = ray.remote(Registry)


def get_registry(config: RegistryConfig) -> ActorHandle:
    """The cluster's registry for this database, created on first use (the one place that creates it).

    It lives on the head node: the hosts it owns share its fate, so on a worker node its loss would take
    every host in the cluster with it; the head's loss ends the cluster anyway. The affinity is hard: a
    soft one let the head's raylet spill the registry to a worker while the head was busy starting workers.
    """
    head = head_node_id()
    placement = NodeAffinitySchedulingStrategy(head, soft=False) if head else "DEFAULT"
    registry: ActorHandle = RegistryActor.options(  # type: ignore[attr-defined,assignment]
        name=registry_name(config.database_url),
        namespace=NAMESPACE,
        get_if_exists=True,
        lifetime="detached",
        num_cpus=0,
        max_concurrency=HOST_MAX_CONCURRENCY,
        max_restarts=-1,
        scheduling_strategy=placement,
        enable_task_events=False,  # as the hosts: no per-call records in the GCS
    ).remote(config)
    return registry
