"""The session host: a Ray actor that holds up to `capacity` live assessment sessions.

One async Ray actor process compiles the graph once, opens the store once, and serves thousands of
sessions; `ASSESS_SESSIONS_PER_ACTOR=1` gives each assessment a process of its own. Calls return
ready-to-send protocol frames (JSON text), so the ingress only relays them. A session that finishes
leaves the host with the message that finished it.

Server-pushed frames (a takeover, the deadline passing) wait in one outbox per ingress replica, which
that replica long-polls with `next_events` (one pending call per replica and host, not per socket).
Activity for recruiters' monitors is buffered and published to the registry in batches, and only for
the tests someone is watching (`watch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections import deque
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import ray

from actors.activity_feed import Watched, activity_events
from actors.batches import Batches
from actors.item_timings import ItemTimings
from actors.session import AssessmentSession, SessionContext, SessionExpired
from actors.step_batches import StepBatches
from config.heap import settle_after_startup
from config.logs import configure_logging
from domain.answer_timing import is_fast
from domain.errors import Refused
from generation.endpoint import ModelEndpoint
from generation.prefetch import Prefetcher
from graphs.assessment import build_assessment_graph
from persistence import progress
from persistence.database import Database
from questions.source import QuestionSource
from wire import protocol

logger = logging.getLogger(__name__)

TAKEN_OVER = "__taken_over__"
# Messages in flight at once (thousands of sessions per host): far above Ray's default 1,000.
HOST_MAX_CONCURRENCY = 20_000
ACTIVITY_FLUSH_S = 0.25  # how often buffered activity goes to the registry
ACTIVITY_BUFFER = 10_000  # events kept while the registry is away (the oldest are dropped beyond)
OUTBOX_CAPACITY = 10_000  # pushed frames kept for one replica between its polls
OUTBOX_ABANDONED_S = 300.0  # an outbox its replica has not polled for this long is dropped
MAX_LOAD_BATCH = 256  # sessions rebuilt from one set of queries


@dataclass
class Attachment:
    """The connection currently attached to a session, and the ingress replica that holds it."""

    connection_id: str
    replica_id: str


@dataclass
class Outbox:
    """Frames pushed to one ingress replica's connections, waiting for its next poll."""

    frames: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=OUTBOX_CAPACITY))
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    polled_at: float = field(default_factory=time.monotonic)

    def push(self, connection_id: str, frame: str) -> None:
        self.frames.append((connection_id, frame))
        self.arrived.set()

    async def take(self, wait_s: float) -> list[tuple[str, str]]:
        self.polled_at = time.monotonic()
        if not self.frames:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), wait_s)
        self.arrived.clear()
        taken = list(self.frames)
        self.frames.clear()
        self.polled_at = time.monotonic()
        return taken


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
        watched: Watched | None = None,  # the tests monitors watch now (`watch` moves it)
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
        self._outboxes: dict[str, Outbox] = {}
        self._deadline_timers: dict[int, asyncio.TimerHandle] = {}
        # Attempts finished and forgotten since the registry's last sweep (bounded should sweeps stop).
        self._finished: deque[int] = deque(maxlen=OUTBOX_CAPACITY)
        self._watched = watched or Watched()
        self._activity_buffer: deque[dict[str, Any]] = deque(maxlen=ACTIVITY_BUFFER)
        self._activity_flusher: asyncio.Task[None] | None = None
        self._item_timings = ItemTimings()
        self._context: SessionContext | None = None
        self._opening = asyncio.Lock()
        self._in_progress = MessagesInProgress()
        self._resources = AsyncExitStack()

    async def _session(self, attempt_id: int) -> AssessmentSession:
        session = self._sessions.get(attempt_id)
        if session is not None:
            return session
        async with self._opening:
            if self._context is None:
                database = Database(self._database_url)
                self._resources.push_async_callback(database.dispose)
                questions = QuestionSource()
                if self._model is not None:
                    client = self._model.client()
                    self._resources.push_async_callback(client.aclose)
                    self.prefetcher = self._model.prefetcher(client, database, questions)
                graph = build_assessment_graph(database, questions, supply=self.prefetcher)
                self._context = SessionContext(
                    steps=StepBatches(graph),
                    loads=Batches(functools.partial(progress.load_many, database), MAX_LOAD_BATCH),
                    database=database,
                    questions=questions,
                )
                settle_after_startup()
        session = self._sessions.get(attempt_id)
        if session is None:
            session = self._sessions[attempt_id] = AssessmentSession(attempt_id, self._context)
        return session

    # -- messages from connections --------------------------------------------------------------------

    async def start(
        self, attempt_id: int, connection_id: str, replica_id: str, request_id: str | None = None
    ) -> list[str]:
        with self._in_progress.handling():
            self._attach(attempt_id, connection_id, replica_id)
            session = await self._session(attempt_id)
            try:
                messages = await session.start()
            except Refused as error:
                return self._refused(session, error, request_id)
            self._arm_deadline(attempt_id, session)
            return self._answered(session, messages)

    async def attach(self, attempt_id: int, connection_id: str, replica_id: str) -> None:
        """A connection whose host died re-attaches here (without a message): its pushes and deadline
        follow it."""
        self._attach(attempt_id, connection_id, replica_id)
        session = await self._session(attempt_id)
        await session.settle()
        with contextlib.suppress(Refused):
            await session.state()  # builds it, so the deadline is known
        self._arm_deadline(attempt_id, session)

    async def submit(
        self,
        attempt_id: int,
        connection_id: str,
        question_id: str,
        selected_option: str,
        request_id: str | None = None,
    ) -> list[str]:
        with self._in_progress.handling():
            if self._taken_over(attempt_id, connection_id):
                return [TAKEN_OVER]
            session = await self._session(attempt_id)
            try:
                messages = await session.submit(question_id, selected_option)
            except Refused as error:
                return self._refused(session, error, request_id)
            return self._answered(session, messages)

    async def submit_many(self, calls: list[tuple[int, str, str, str, str | None]]) -> list[list[str] | BaseException]:
        """`submit` for the answers an ingress replica relays together (serve_app.host_answers): they run
        concurrently, so they share the steps' batches; each gets its own frames or its own error."""
        return await asyncio.gather(*(self.submit(*call) for call in calls), return_exceptions=True)

    async def integrity_event(
        self,
        attempt_id: int,
        connection_id: str,
        kind: str,
        occurred_at: datetime | None,
        detail: str | None,
        request_id: str | None = None,
    ) -> list[str]:
        """Store a signal from the candidate's client (nothing is sent back unless it is refused) and show it
        on the monitors watching the test."""
        with self._in_progress.handling():
            if self._taken_over(attempt_id, connection_id):
                return [TAKEN_OVER]
            session = await self._session(attempt_id)
            try:
                noted = await session.note_integrity(kind, occurred_at, detail)
            except Refused as error:
                return self._refused(session, error, request_id)
            if self._watching(session):
                event = {"event": "integrity_event", "at": datetime.now(UTC), "integrity_kind": kind, **noted}
                self._buffer_activity(session, [event])
            return []

    async def get_state(self, attempt_id: int) -> str:
        session = await self._session(attempt_id)
        frame = (await session.state()).frame()
        self._forget_if_finished(session)
        return frame

    async def pending_for_simulation(self, attempt_id: int) -> dict[str, Any] | None:
        """For `assess simulate --mode live` only (see AssessmentSession.pending_for_simulation)."""
        return await (await self._session(attempt_id)).pending_for_simulation()

    async def next_events(self, replica_id: str, wait_s: float) -> list[tuple[str, str]]:
        """(connection id, frame) pushed to this replica's connections, waiting up to `wait_s` for one;
        a frame `TAKEN_OVER` means another connection took that one's attempt."""
        outbox = self._outboxes.setdefault(replica_id, Outbox())
        return await outbox.take(wait_s)

    def detach(self, attempt_id: int, connection_id: str) -> None:
        attachment = self._attachments.get(attempt_id)
        if attachment is not None and attachment.connection_id == connection_id:
            del self._attachments[attempt_id]

    def set_deadline(self, attempt_id: int, deadline: datetime) -> None:
        """Extra time was granted: the session (if held here) and its timer move to the new deadline."""
        session = self._sessions.get(attempt_id)
        if session is None:
            return
        session.set_deadline(deadline)
        timer = self._deadline_timers.pop(attempt_id, None)
        if timer is not None:
            timer.cancel()
        self._arm_deadline(attempt_id, session)

    def watch(self, watched: Watched) -> None:
        """The tests recruiters' monitors are watching now (the registry tells every host)."""
        self._watched = watched

    # -- supervision (called by the registry) -----------------------------------------------------

    async def expire(self, attempt_id: int) -> bool:
        """Finalize an attempt whose deadline passed, pushing the result to a connected candidate."""
        session = await self._session(attempt_id)
        messages = await session.expire()
        self._publish(session, messages)
        for frame in _frames(messages):
            self._push(attempt_id, frame)
        self._forget_if_finished(session)
        return bool(messages)

    def evict_idle(self, idle_timeout_s: float) -> dict[str, list[int]]:
        """Drop sessions untouched for longer than the timeout and with no connection attached, and the
        outboxes of replicas that stopped polling. Returns those and the attempts that finished (and
        left) since the last call, so the registry can forget their placements."""
        now = datetime.now(UTC)
        idle = [
            attempt_id
            for attempt_id, session in self._sessions.items()
            if attempt_id not in self._attachments and (now - session.last_activity).total_seconds() > idle_timeout_s
        ]
        for attempt_id in idle:
            self._forget(attempt_id)
        abandoned = time.monotonic() - OUTBOX_ABANDONED_S
        for replica_id in [replica for replica, outbox in self._outboxes.items() if outbox.polled_at < abandoned]:
            del self._outboxes[replica_id]
        finished = list(self._finished)
        self._finished.clear()
        return {"idle": idle, "finished": finished}

    async def drain(self) -> int:
        """Before the cluster stops: stop the deadline timers and wait until every message that reached this
        host has been written or refused (a caller that went away does not cancel its call). Returns the
        sessions held."""
        for timer in self._deadline_timers.values():
            timer.cancel()
        self._deadline_timers.clear()
        await self._in_progress.finished()
        await asyncio.gather(*(session.settle() for session in self._sessions.values()))
        await self._flush_activity()
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
        """Release the store and the model client (after `drain`; for in-process use)."""
        if self._activity_flusher is not None:
            self._activity_flusher.cancel()
        await self._resources.aclose()

    # -- internals ------------------------------------------------------------------------------------

    def _taken_over(self, attempt_id: int, connection_id: str) -> bool:
        """Another connection attached to the attempt after this one: this one's messages are refused."""
        attachment = self._attachments.get(attempt_id)
        return attachment is not None and attachment.connection_id != connection_id

    def _attach(self, attempt_id: int, connection_id: str, replica_id: str) -> None:
        previous = self._attachments.get(attempt_id)
        if previous is not None and previous.connection_id != connection_id:
            self._outbox(previous.replica_id).push(previous.connection_id, TAKEN_OVER)
        self._attachments[attempt_id] = Attachment(connection_id, replica_id)

    def _answered(self, session: AssessmentSession, messages: list[protocol.ServerMessage]) -> list[str]:
        self._publish(session, messages)
        self._forget_if_finished(session)
        return _frames(session.shown(messages))

    def _refused(self, session: AssessmentSession, error: Refused, request_id: str | None) -> list[str]:
        if isinstance(error, SessionExpired):
            self._publish(session, error.messages)
        self._forget_if_finished(session)
        return _error_frames(error, request_id)

    def _publish(self, session: AssessmentSession, messages: list[protocol.ServerMessage]) -> None:
        """Buffer what just happened to this attempt (started, answered, completed; all committed by now)
        for the activity feed, if someone watches its test: a batch leaves every `ACTIVITY_FLUSH_S`, so
        recruiters' monitors never slow a candidate down."""
        if not self._watching(session):
            return
        events = activity_events(messages)
        for event in events:
            if event["event"] == "answered" and session.answer_timing is not None:
                event["item_id"], event["time_taken_s"] = session.answer_timing  # judged against the item's median
        self._buffer_activity(session, events)

    def _watching(self, session: AssessmentSession) -> bool:
        """Whether a monitor watches this session's test (nothing is built for the feed otherwise)."""
        return self._activity is not None and self._watched.includes(session.owner[0])

    def _buffer_activity(self, session: AssessmentSession, events: list[dict[str, Any]]) -> None:
        test_id, user_id = session.owner
        for event in events:
            self._activity_buffer.append(
                {**event, "attempt_id": session.attempt_id, "test_id": test_id, "user_id": user_id}
            )
        if self._activity_flusher is None or self._activity_flusher.done():
            self._activity_flusher = asyncio.get_running_loop().create_task(self._flush_activity_soon())

    async def _flush_activity_soon(self) -> None:
        await asyncio.sleep(ACTIVITY_FLUSH_S)
        await self._flush_activity()

    async def _flush_activity(self) -> None:
        if not self._activity_buffer or self._activity is None:
            return
        batch = list(self._activity_buffer)
        self._activity_buffer.clear()
        await self._judge_answer_times(batch)
        try:
            await self._activity.publish_activity.remote(batch)
        except ray.exceptions.RayActorError:  # the registry is restarting: a live view, not a record
            logger.warning("activity batch dropped: the registry did not answer", extra={"events": len(batch)})

    async def _judge_answer_times(self, batch: list[dict[str, Any]]) -> None:
        """Mark each answer in the batch that came far faster than its item's median (the item id, which a
        monitor has no use for, leaves the event here)."""
        answers = [event for event in batch if "item_id" in event]
        timings = {}
        if answers and self._context is not None:
            timings = await self._item_timings.of(self._context.database, (event["item_id"] for event in answers))
        for event in answers:
            event["fast_answer"] = is_fast(event["time_taken_s"], timings.get(event.pop("item_id")))

    def _outbox(self, replica_id: str) -> Outbox:
        return self._outboxes.setdefault(replica_id, Outbox())

    def _push(self, attempt_id: int, frame: str) -> None:
        attachment = self._attachments.get(attempt_id)
        if attachment is not None:
            self._outbox(attachment.replica_id).push(attachment.connection_id, frame)

    def _arm_deadline(self, attempt_id: int, session: AssessmentSession) -> None:
        """Finalize at the deadline even if the candidate never sends another message."""
        if attempt_id in self._deadline_timers or session.finished or attempt_id not in self._sessions:
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
            return
        session = self._sessions.get(attempt_id)
        if session is not None:  # not yet due (extra time was granted): wait for the new deadline
            self._arm_deadline(attempt_id, session)

    def _forget_if_finished(self, session: AssessmentSession) -> None:
        if session.finished and self._sessions.get(session.attempt_id) is session:
            self._forget(session.attempt_id)
            self._finished.append(session.attempt_id)

    def _forget(self, attempt_id: int) -> None:
        self._sessions.pop(attempt_id, None)
        timer = self._deadline_timers.pop(attempt_id, None)
        if timer is not None:
            timer.cancel()


SessionHostActor = ray.remote(SessionHost)
