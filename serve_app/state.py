"""What one ingress replica owns for its lifetime, built from the settings passed into it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from dataclasses import dataclass, field
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from ray.actor import ActorHandle

from actors.batches import Batches
from actors.connection_directory import REPORT_INTERVAL_S
from actors.registry import RegistryConfig, get_registry
from config.settings import Settings
from generation.endpoint import ModelEndpoint
from graphs.chat import build_chat_graph
from llm.client import ChatModel
from persistence import admissions, attempts
from persistence.admissions import Invitation
from persistence.attempts import OpenedAttempt
from persistence.database import Database
from persistence.models import User
from questions.source import QuestionSource
from serve_app.connection_table import ConnectionTable
from serve_app.host_answers import HostAnswers
from serve_app.host_events import HostEvents
from serve_app.login_throttle import LoginThrottle
from serve_app.mail import Mailer
from serve_app.metrics import ReplicaMetrics
from serve_app.revocations import Revocations
from serve_app.tokens import TokenService

MAX_OPENING_BATCH = 256  # attempts opened or resumed in one transaction
MAX_ADMISSION_BATCH = 500  # sockets whose user or invitation is read in one query


@dataclass
class ReplicaState:
    settings: Settings
    database: Database
    tokens: TokenService
    questions: QuestionSource
    connections: ConnectionTable
    host_events: HostEvents
    metrics: ReplicaMetrics
    registry: ActorHandle
    chat: CompiledStateGraph[Any, Any, Any, Any]
    chat_model: ChatModel | None  # words the chat's answers when a model is configured
    users: Batches[int, User | None]  # the users of the sockets connecting together, one query
    invitations: Batches[tuple[int, int], Invitation | None]  # (test id, user id) connecting together
    openings: Batches[tuple[int, int], OpenedAttempt]  # (test id, user id) started together, one commit
    host_answers: HostAnswers  # answers relayed to each host in batches
    revocations: Revocations  # this replica's sockets by user, closed when their tokens are revoked
    login_throttle: LoginThrottle  # failed logins per account and per client address
    mailer: Mailer  # invitations and password reset links
    _reporter: asyncio.Task[None] | None = field(default=None, init=False)

    @classmethod
    def build(cls, settings: Settings) -> ReplicaState:
        database = Database(settings.database_url)
        endpoint = ModelEndpoint.from_settings(settings)
        chat_model = endpoint.client() if endpoint is not None else None
        connections = ConnectionTable(replica_id=uuid.uuid4().hex[:12])
        return cls(
            settings=settings,
            database=database,
            tokens=TokenService.from_settings(settings),
            questions=QuestionSource(),
            connections=connections,
            host_events=HostEvents(connections.replica_id),
            metrics=ReplicaMetrics(connections.by_endpoint),
            registry=get_registry(RegistryConfig.from_settings(settings)),
            chat=build_chat_graph(database, chat_model, settings.llm_budget_s),
            chat_model=chat_model,
            users=Batches(functools.partial(admissions.users_many, database), MAX_ADMISSION_BATCH),
            invitations=Batches(functools.partial(admissions.invitations_many, database), MAX_ADMISSION_BATCH),
            openings=Batches(functools.partial(attempts.open_many, database), MAX_OPENING_BATCH),
            host_answers=HostAnswers(),
            revocations=Revocations(),
            login_throttle=LoginThrottle.from_settings(settings),
            mailer=Mailer(settings),
        )

    def start_reporting(self) -> None:
        """Check in with the registry's connection directory every few seconds, with this replica's table
        of open connections while someone reads the directory (actors.connection_directory)."""

        async def report_forever() -> None:
            wanted = False
            while True:
                with contextlib.suppress(Exception):  # a registry restarting misses one check-in
                    wanted = await self.report_connections(with_table=wanted)
                await asyncio.sleep(REPORT_INTERVAL_S)

        self._reporter = asyncio.get_running_loop().create_task(report_forever())

    async def report_connections(self, with_table: bool = True) -> bool:
        """Check in (with the table, or without it); if tables are wanted and this one was not sent, send
        it at once. Returns whether tables are wanted."""
        replica_id = self.connections.replica_id
        wanted: bool = await self.registry.report_connections.remote(
            replica_id, self.connections.rows() if with_table else None
        )
        if wanted and not with_table:
            await self.registry.report_connections.remote(replica_id, self.connections.rows())
        return wanted

    async def close(self) -> None:
        self.host_events.close()
        self.revocations.close()
        if self._reporter is not None:
            self._reporter.cancel()
            with contextlib.suppress(Exception):
                await self.registry.report_connections.remote(self.connections.replica_id, [])
        await self.database.dispose()
        if self.chat_model is not None:
            await self.chat_model.aclose()
