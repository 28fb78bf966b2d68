"""The registry: one named actor per cluster (and database) that supervises the session hosts.

It places sessions on hosts with free capacity (starting hosts as needed), remembers where each lives,
and sweeps on a period: it drops hosts that died (their sessions are re-placed on the next `locate` and
rebuild from the checkpoint), evicts idle sessions, finalizes attempts whose deadline passed even with no
client connected, and retires hosts left empty. It is consulted once per connection, never per message.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import ray
from ray.actor import ActorHandle

from actors.host import HOST_MAX_CONCURRENCY, SessionHostActor
from config.logs import configure_logging
from config.settings import Settings
from persistence import attempts
from persistence.database import Database

logger = logging.getLogger(__name__)

NAMESPACE = "assess"
PING_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class RegistryConfig:
    database_url: str
    sessions_per_actor: int
    sweep_interval_s: float
    idle_timeout_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RegistryConfig:
        return cls(
            database_url=settings.database_url,
            sessions_per_actor=settings.sessions_per_actor,
            sweep_interval_s=settings.sweep_interval_s,
            idle_timeout_s=settings.session_idle_s,
        )


@dataclass
class HostRecord:
    handle: ActorHandle
    attempts: set[int] = field(default_factory=set)
    empty_sweeps: int = 0


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
        self._database: Database | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.sweeps = 0

    async def start(self) -> None:
        """Begin the periodic sweep (the ingress calls this once at start-up)."""
        self._ensure_sweeper()

    async def locate(self, attempt_id: int, failed_host_id: str | None = None) -> tuple[str, ActorHandle]:
        """The host of this attempt's session, placing it if it has none (or its host failed)."""
        self._ensure_sweeper()
        async with self._placing:
            if failed_host_id is not None and not await self._alive(failed_host_id):
                self._drop_host(failed_host_id)
            host_id = self._placements.get(attempt_id)
            if host_id is None or host_id not in self._hosts:
                host_id = self._host_with_room()
                self._placements[attempt_id] = host_id
                self._hosts[host_id].attempts.add(attempt_id)
            return host_id, self._hosts[host_id].handle

    async def sweep(self) -> dict[str, int]:
        """One supervision pass; runs on the period and can be called directly."""
        dead = [host_id for host_id in list(self._hosts) if not await self._alive(host_id)]
        for host_id in dead:
            self._drop_host(host_id)
        evicted = 0
        for record in list(self._hosts.values()):
            for attempt_id in await record.handle.evict_idle.remote(self._config.idle_timeout_s):
                self._unplace(attempt_id)
                evicted += 1
        expired = 0
        async with self._store().transaction() as session:
            overdue = await attempts.overdue_attempts(session, datetime.now(UTC))
        for attempt_id in overdue:
            _, host = await self.locate(attempt_id)
            expired += int(await host.expire.remote(attempt_id))
        retired = self._retire_empty_hosts()
        self.sweeps += 1
        return {"dead_hosts": len(dead), "evicted": evicted, "expired": expired, "retired": retired}

    def placements(self) -> dict[int, str]:
        return dict(self._placements)

    def hosts(self) -> dict[str, int]:
        return {host_id: len(record.attempts) for host_id, record in self._hosts.items()}

    def host_handle(self, host_id: str) -> ActorHandle | None:
        record = self._hosts.get(host_id)
        return record.handle if record else None

    # -- internals ------------------------------------------------------------------------------------

    def _host_with_room(self) -> str:
        for host_id, record in self._hosts.items():
            if len(record.attempts) < self._config.sessions_per_actor:
                return host_id
        host_id = uuid.uuid4().hex[:12]
        handle: ActorHandle = SessionHostActor.options(  # type: ignore[attr-defined,assignment]
            num_cpus=0, max_concurrency=HOST_MAX_CONCURRENCY
        ).remote(host_id, self._config.database_url, self._config.sessions_per_actor)
        self._hosts[host_id] = HostRecord(handle)
        return host_id

    async def _alive(self, host_id: str) -> bool:
        record = self._hosts.get(host_id)
        if record is None:
            return False
        try:
            await asyncio.wait_for(record.handle.ping.remote(), PING_TIMEOUT_S)
        except (TimeoutError, ray.exceptions.RayActorError):
            return False
        return True

    def _drop_host(self, host_id: str) -> None:
        record = self._hosts.pop(host_id, None)
        if record is None:
            return
        logger.warning(
            "session host is gone; its %d sessions will be re-placed", len(record.attempts), extra={"host_id": host_id}
        )
        for attempt_id in record.attempts:
            self._placements.pop(attempt_id, None)

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
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._config.sweep_interval_s)
            try:
                await self.sweep()
            except Exception:
                logger.exception("registry sweep failed; retrying on the next period")


RegistryActor = ray.remote(Registry)


def get_registry(config: RegistryConfig) -> ActorHandle:
    """The cluster's registry for this database, created on first use (the one place that creates it)."""
    registry: ActorHandle = RegistryActor.options(  # type: ignore[attr-defined,assignment]
        name=registry_name(config.database_url),
        namespace=NAMESPACE,
        get_if_exists=True,
        lifetime="detached",
        num_cpus=0,
        max_concurrency=HOST_MAX_CONCURRENCY,
        max_restarts=-1,
    ).remote(config)
    return registry
