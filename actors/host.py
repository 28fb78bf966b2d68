"""The session host: a Ray actor that holds up to `capacity` live assessment sessions.

One async Ray actor process compiles the graph once, opens the store and the checkpointer once, and
serves many sessions; `ASSESS_SESSIONS_PER_ACTOR=1` gives each assessment a process of its own. Calls
return ready-to-send protocol frames (JSON text), so the ingress only relays them.

Server-pushed events (a takeover, the deadline passing) reach a connection through `next_event`, a long
poll that each connection keeps pending while it is attached.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import ray

from actors.activity_feed import activity_events
from actors.session import AssessmentSession, SessionContext, SessionExpired
from config.logs import configure_logging
from domain.errors import Refused
from generation.endpoint import ModelEndpoint
from generation.prefetch import Prefetcher
from graphs.assessment import build_assessment_graph
from persistence.checkpoints import open_checkpointer
from persistence.database import Database
from questions.source import QuestionSource
from serve_app import protocol

logger = logging.getLogger(__name__)

TAKEN_OVER = "__taken_over__"
# One pending `next_event` per open socket, plus the messages themselves: far above Ray's default 1,000.
HOST_MAX_CONCURRENCY = 20_000


@dataclass
class Attachment:
    """The connection currently attached to a session, and the events waiting for it."""

    connection_id: str
    events: asyncio.Queue[str] = field(default_factory=asyncio.Queue)


def _frames(messages: list[protocol.ServerMessage]) -> list[str]:
    return [message.frame() for message in messages]


def _error_frames(error: Refused, request_id: str | None) -> list[str]:
    frames = [protocol.Error(code=error.code, message=error.message, request_id=request_id).frame()]
    if isinstance(error, SessionExpired):
        frames.extend(_frames(error.messages))
    return frames


class MessagesInProgress:
    """Counts the messages this host has begun and not yet answered, from the first step of each call, so
    a drain waits for every one that reached the host, including those still opening their session."""

    def __init__(self) -> None:
        self.count = 0
        self._none = asyncio.Event()
        self._none.set()

    @contextmanager
    def handling(self) -> Iterator[None]:
        self.count += 1
        self._none.clear()
        try:
            yield
        finally:
            self.count -= 1
            if self.count == 0:
                self._none.set()

    async def finished(self) -> None:
        await self._none.wait()


class SessionHost:
    def __init__(
        self,
        host_id: str,
        database_url: str,
        capacity: int,
        model: ModelEndpoint | None = None,
        activity: Any = None,  # the registry, where recruiters' monitors read what sessions do
    ) -> None:
        configure_logging()
        self.host_id = host_id
        self._activity = activity
        self._database_url = database_url
        self._model = model
        self.prefetcher: Prefetcher | None = None
        self.capacity = capacity
        self._sessions: dict[int, AssessmentSession] = {}
        self._attachments: dict[int, Attachment] = {}
        self._deadline_timers: dict[int, asyncio.TimerHandle] = {}
        self._context: SessionContext | None = None
        self._opening = asyncio.Lock()
        self._in_progress = MessagesInProgress()
        self._resources = AsyncExitStack()

    async def _session(self, attempt_id: int) -> AssessmentSession:
        async with self._opening:
            if self._context is None:
                database = Database(self._database_url)
                self._resources.push_async_callback(database.dispose)
                checkpointer = await self._resources.enter_async_context(open_checkpointer(self._database_url))
                questions = QuestionSource()
                if self._model is not None:
                    client = self._model.client()
                    self._resources.push_async_callback(client.aclose)
                    self.prefetcher = self._model.prefetcher(client, database, questions)
                graph = build_assessment_graph(database, questions, checkpointer, prefetcher=self.prefetcher)
                self._context = SessionContext(graph=graph, database=database)
        session = self._sessions.get(attempt_id)
        if session is None:
            session = self._sessions[attempt_id] = AssessmentSession(attempt_id, self._context)
        return session

    # -- messages from connections --------------------------------------------------------------------

    async def start(self, attempt_id: int, connection_id: str, request_id: str | None = None) -> list[str]:
        with self._in_progress.handling():
            self._attach(attempt_id, connection_id)
            session = await self._session(attempt_id)
            try:
                messages = await session.start()
            except Refused as error:
                return self._refused(session, error, request_id)
            self._arm_deadline(attempt_id, session)
            self._publish(session, messages)
            return _frames(messages)

    async def submit(
        self,
        attempt_id: int,
        connection_id: str,
        question_id: str,
        selected_option: str,
        request_id: str | None = None,
    ) -> list[str]:
        with self._in_progress.handling():
            attachment = self._attachments.get(attempt_id)
            if attachment is not None and attachment.connection_id != connection_id:
                return [TAKEN_OVER]
            session = await self._session(attempt_id)
            try:
                messages = await session.submit(question_id, selected_option)
            except Refused as error:
                return self._refused(session, error, request_id)
            self._publish(session, messages)
            return _frames(messages)

    async def get_state(self, attempt_id: int) -> str:
        session = await self._session(attempt_id)
        return (await session.state()).frame()

    async def pending_for_simulation(self, attempt_id: int) -> dict[str, Any] | None:
        """For `assess simulate --mode live` only (see AssessmentSession.pending_for_simulation)."""
        return await (await self._session(attempt_id)).pending_for_simulation()

    async def next_event(self, attempt_id: int, connection_id: str) -> str | None:
        """Wait for the next pushed frame for this connection; `TAKEN_OVER` when another took over."""
        attachment = self._attachments.get(attempt_id)
        if attachment is None:  # this host is new to the attempt (its old host died): re-attach
            attachment = self._attachments[attempt_id] = Attachment(connection_id)
        if attachment.connection_id != connection_id:
            return TAKEN_OVER
        return await attachment.events.get()

    def detach(self, attempt_id: int, connection_id: str) -> None:
        attachment = self._attachments.get(attempt_id)
        if attachment is not None and attachment.connection_id == connection_id:
            del self._attachments[attempt_id]
            attachment.events.put_nowait("")  # release a pending long poll

    # -- supervision (called by the registry) -----------------------------------------------------

    async def expire(self, attempt_id: int) -> bool:
        """Finalize an attempt whose deadline passed, pushing the result to a connected candidate."""
        session = await self._session(attempt_id)
        messages = await session.expire()
        self._publish(session, messages)
        for frame in _frames(messages):
            self._push(attempt_id, frame)
        return bool(messages)

    def evict_idle(self, idle_timeout_s: float) -> list[int]:
        """Drop sessions untouched for longer than the timeout and with no connection attached."""
        now = datetime.now(UTC)
        idle = [
            attempt_id
            for attempt_id, session in self._sessions.items()
            if attempt_id not in self._attachments and (now - session.last_activity).total_seconds() > idle_timeout_s
        ]
        for attempt_id in idle:
            self._forget(attempt_id)
        return idle

    async def drain(self) -> int:
        """Before the cluster stops: stop the deadline timers and wait until every message that reached this
        host has been written or refused (a caller that went away does not cancel its call). Returns the
        sessions held."""
        for timer in self._deadline_timers.values():
            timer.cancel()
        self._deadline_timers.clear()
        await self._in_progress.finished()
        await asyncio.gather(*(session.settle() for session in self._sessions.values()))
        logger.info("session host drained", extra={"host_id": self.host_id, "sessions": len(self._sessions)})
        return len(self._sessions)

    def stats(self) -> dict[str, Any]:
        return {
            "host_id": self.host_id,
            "node_id": ray.get_runtime_context().get_node_id(),
            "pid": os.getpid(),
            "sessions": len(self._sessions),
            "attached": len(self._attachments),
            "messages_in_progress": self._in_progress.count,
            "capacity": self.capacity,
            "generation": self.generation_stats(),
        }

    def generation_stats(self) -> dict[str, Any] | None:
        if self.prefetcher is None:
            return None
        counts = self.prefetcher.generator.counts
        return {
            "outcomes": dict(counts.outcomes),
            "rejections": dict(counts.rejections),
            "served": dict(self.prefetcher.served),
            "latency": {"buckets": list(counts.latency_buckets), "sum_s": counts.latency_sum_s},
        }

    async def close(self) -> None:
        """Release the store, the checkpointer and the model client (after `drain`; for in-process use)."""
        await self._resources.aclose()

    def ping(self) -> str:
        return self.host_id

    # -- internals ------------------------------------------------------------------------------------

    def _attach(self, attempt_id: int, connection_id: str) -> None:
        previous = self._attachments.get(attempt_id)
        if previous is not None and previous.connection_id != connection_id:
            previous.events.put_nowait(TAKEN_OVER)
        if previous is None or previous.connection_id != connection_id:
            self._attachments[attempt_id] = Attachment(connection_id)

    def _refused(self, session: AssessmentSession, error: Refused, request_id: str | None) -> list[str]:
        if isinstance(error, SessionExpired):
            self._publish(session, error.messages)
        return _error_frames(error, request_id)

    def _publish(self, session: AssessmentSession, messages: list[protocol.ServerMessage]) -> None:
        """Tell the activity feed what just happened to this attempt (started, answered, completed; all
        committed by now), without waiting: recruiters' monitors never slow a candidate down."""
        events = activity_events(messages) if self._activity is not None else []
        if not events:
            return
        test_id, user_id = session.owner
        self._activity.publish_activity.remote(
            [{**event, "attempt_id": session.attempt_id, "test_id": test_id, "user_id": user_id} for event in events]
        )

    def _push(self, attempt_id: int, frame: str) -> None:
        attachment = self._attachments.get(attempt_id)
        if attachment is not None:
            attachment.events.put_nowait(frame)

    def _arm_deadline(self, attempt_id: int, session: AssessmentSession) -> None:
        """Finalize at the deadline even if the candidate never sends another message."""
        if attempt_id in self._deadline_timers or session.phase.value == "completed":
            return
        loop = asyncio.get_running_loop()
        delay = max(session.remaining_s, 0.0) + 0.05
        self._deadline_timers[attempt_id] = loop.call_later(
            delay, lambda: asyncio.ensure_future(self._expire_quietly(attempt_id))
        )

    async def _expire_quietly(self, attempt_id: int) -> None:
        self._deadline_timers.pop(attempt_id, None)
        try:
            await self.expire(attempt_id)
        except Exception:  # the registry's sweep finalizes it on its next pass
            logger.exception("deadline expiry failed", extra={"attempt_id": attempt_id, "host_id": self.host_id})

    def _forget(self, attempt_id: int) -> None:
        self._sessions.pop(attempt_id, None)
        timer = self._deadline_timers.pop(attempt_id, None)
        if timer is not None:
            timer.cancel()


SessionHostActor = ray.remote(SessionHost)
