"""/ws/assessment: the live protocol's assessment endpoint (DESIGN.md section 4).

The ingress is stateless: it authenticates and checks the invitation (with the other sockets that connect
together, in one query: persistence.admissions), opens or resumes the attempt in the database (with the other
starts that arrive together, in one transaction), asks the registry once where the session lives, and then
relays messages to that host (answers with the others arriving for that host: serve_app.host_answers).
Writes that must finish are done by the host actor, which the socket's cancellation (a client that
disconnects) does not reach.
Frames the host pushes arrive through the replica's one poll per host (serve_app.host_events).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import ray
from fastapi import APIRouter, WebSocket
from ray.actor import ActorHandle

from actors.host import TAKEN_OVER
from domain.enums import GeneratorKind, Role
from domain.errors import Refused
from serve_app.connection import CloseConnection, ProtocolConnection
from serve_app.host_answers import RelayedAnswer
from serve_app.host_events import Follower
from serve_app.rate_limit import TokenBucket
from serve_app.schemas import MAX_RECORD_ID
from serve_app.state import ReplicaState
from wire import protocol

logger = logging.getLogger(__name__)
HOST_CALL_RETRIES = 3  # a host that died is replaced by the registry; a few tries ride out a burst of deaths
# Integrity events a connection may report: 30 a minute on average, 10 at once (a page that loses focus and
# is hidden together sends two); beyond, `rate_limited` and nothing stored.
INTEGRITY_EVENTS_PER_S = 0.5
INTEGRITY_EVENTS_BURST = 10
INTEGRITY_PER_MINUTE = round(60 * INTEGRITY_EVENTS_PER_S)
REGISTRY_RESTART_PATIENCE_S = 30.0

router = APIRouter()


class AssessmentConnection(ProtocolConnection):
    endpoint = "assessment"

    def __init__(self, websocket: WebSocket, state: ReplicaState) -> None:
        super().__init__(websocket, state)
        self.test_id: int = 0
        self.attempt_id: int | None = None
        self.host_id: str | None = None
        self.host: ActorHandle | None = None
        self.batched_answers = True  # False for a test whose items an LLM writes (see `relay`)
        self.integrity_events = TokenBucket(INTEGRITY_EVENTS_PER_S, INTEGRITY_EVENTS_BURST)

    async def on_connect(self) -> None:
        raw = self.websocket.query_params.get("test_id", "")
        if not raw.isdigit() or len(raw) > 12 or not 1 <= int(raw) <= MAX_RECORD_ID:
            await self.refuse("invalid_message", "test_id must be a test's numeric id")
        self.test_id = int(raw)
        if self.user.role is not Role.CANDIDATE:
            await self.refuse("not_eligible", "you are not invited to this test")
        invitation = await self.state.invitations.submit((self.test_id, self.user.id))  # with the others now
        if invitation is None:
            await self.refuse("not_eligible", "you are not invited to this test")
        await self.send_auth_success(invitation.active_attempt_id)

    async def on_message(self, request: protocol.AnyClientMessage) -> None:
        match request:
            case protocol.StartAssessment(request_id=request_id):
                await self.start(request_id)
            case protocol.SubmitAnswer(question_id=question_id, selected_option=option, request_id=request_id):
                if self.attempt_id is None:
                    raise Refused("not_started", "send start_assessment first")
                received = time.perf_counter()
                answer = RelayedAnswer(self.attempt_id, self.connection_id, question_id, option, request_id)
                frames = await self.call_host(self.relay(answer))
                # DEBUG: at INFO, a JSON line per answer was 9% of the replica's CPU under load (py-spy).
                logger.debug("answer handled", extra=self.log_context())
                await self.send_all(frames)
                self.state.metrics.answer_round_trip.observe(time.perf_counter() - received)
            case protocol.IntegrityEvent(kind=kind, occurred_at=occurred_at, detail=detail, request_id=request_id):
                if self.attempt_id is None:
                    raise Refused("not_started", "send start_assessment first")
                if not self.integrity_events.take():
                    raise Refused(
                        "rate_limited", f"too many integrity events; the limit is {INTEGRITY_PER_MINUTE} a minute"
                    )
                await self.send_all(
                    await self.call_host(
                        lambda _, host: host.integrity_event.remote(
                            self.attempt_id, self.connection_id, kind, occurred_at, detail, request_id
                        )
                    )
                )
            case protocol.GetState():
                await self.send(await self.current_state())
            case protocol.ChatMessage():
                raise Refused("unknown_type", "chat_message belongs on /ws/chat")

    async def on_disconnect(self) -> None:
        self.state.host_events.unfollow(self.connection_id)
        if self.host is not None and self.attempt_id is not None:
            self.host.detach.remote(self.attempt_id, self.connection_id)

    def log_context(self) -> dict[str, object]:
        return {**super().log_context(), "test_id": self.test_id, "attempt_id": self.attempt_id}

    async def start(self, request_id: str | None) -> None:
        opened = await self.state.openings.submit((self.test_id, self.user.id))
        self.attempt_id = opened.attempt.id
        if self.figures is not None:
            self.figures.attempt_id = self.attempt_id
        logger.info("attempt %s", "resumed" if opened.resumed else "started", extra=self.log_context())
        replica_id = self.state.host_events.replica_id
        self.batched_answers = opened.test.generator is not GeneratorKind.LLM
        frames = await self.call_host(
            lambda _, host: host.start.remote(self.attempt_id, self.connection_id, replica_id, request_id)
        )
        await self.send_all(frames)
        self.follow_host_events()

    async def current_state(self) -> str:
        attempt_id = self.attempt_id
        if attempt_id is None:
            invitation = await self.state.invitations.submit((self.test_id, self.user.id))
            attempt_id = invitation.active_attempt_id if invitation else None
            if attempt_id is None:
                return protocol.AssessmentState(
                    attempt_id=None, status="not_started", answered=0, pending_question_id=None, remaining_s=None
                ).frame()
        return str(await self.call_host(lambda _, host: host.get_state.remote(attempt_id), attempt_id))

    def relay(self, answer: RelayedAnswer) -> Callable[[str, ActorHandle], Awaitable[list[str]]]:
        """How an answer reaches the host: with the others arriving for it (serve_app.host_answers), or, for
        a test whose items an LLM writes, in a call of its own."""
        if self.batched_answers:
            return lambda host_id, host: self.state.host_answers.submit(host_id, host, answer)
        return lambda _, host: host.submit.remote(*answer.arguments())

    async def send_all(self, frames: list[str]) -> None:
        for frame in frames:
            if frame == TAKEN_OVER:
                raise CloseConnection(protocol.CLOSE_TAKEN_OVER, "another connection took over this attempt")
            await self.send(frame)

    # -- the session host -----------------------------------------------------------------------------

    async def call_host(self, call: Callable[[str, ActorHandle], Awaitable[Any]], attempt_id: int | None = None) -> Any:
        """Call the session's host; if it died, ask the registry for a new one and call again.

        A retried call is safe: every host method is idempotent (a replayed answer is a duplicate)."""
        attempt_id = attempt_id if attempt_id is not None else self.attempt_id
        assert attempt_id is not None
        own = attempt_id == self.attempt_id
        if own and self.host_id is not None and self.host is not None:
            host_id, host = self.host_id, self.host
        else:
            host_id, host = await self.locate(attempt_id)
        for retry in range(HOST_CALL_RETRIES + 1):
            try:
                result = await call(host_id, host)
                break
            except ray.exceptions.RayActorError:
                self.state.host_answers.forget(host_id)
                if retry == HOST_CALL_RETRIES:
                    raise
                host_id, host = await self.locate(attempt_id, host_id)
                if own and self.host is not None:  # attached before: the new host takes over the pushes
                    await host.attach.remote(attempt_id, self.connection_id, self.state.host_events.replica_id)
        if own:
            moved = host_id != self.host_id and self.host is not None
            self.host_id, self.host = host_id, host
            if moved:
                self.follow_host_events()
        return result

    async def locate(self, attempt_id: int, failed_host_id: str | None = None) -> tuple[str, ActorHandle]:
        """Where the attempt's session lives, waiting out a registry restart (its state is rebuilt on
        demand, so a restarted registry answers as soon as it is up)."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + REGISTRY_RESTART_PATIENCE_S
        while True:
            try:
                located: tuple[str, ActorHandle] = await self.state.registry.locate.remote(attempt_id, failed_host_id)
                return located
            except ray.exceptions.RayActorError:
                if loop.time() >= give_up_at:
                    raise
                await asyncio.sleep(0.2)

    def follow_host_events(self) -> None:
        assert self.host_id is not None and self.host is not None
        follower = Follower(self.host_id, self.pushed, self.reattach)
        self.state.host_events.follow(self.connection_id, self.host_id, self.host, follower)

    async def pushed(self, frame: str) -> None:
        """A frame the host pushed: the deadline's result, or word that another connection took over."""
        if frame == TAKEN_OVER:
            await self.close(protocol.CLOSE_TAKEN_OVER, "another connection took over this attempt")
        else:
            await self.send(frame)

    async def reattach(self) -> None:
        """The host died: attach to the session's new host, so its pushes and deadline follow."""
        assert self.attempt_id is not None
        self.host_id, self.host = await self.locate(self.attempt_id, self.host_id)
        await self.host.attach.remote(self.attempt_id, self.connection_id, self.state.host_events.replica_id)
        self.follow_host_events()


@router.websocket("/ws/assessment")
async def assessment_socket(websocket: WebSocket) -> None:
    await AssessmentConnection(websocket, websocket.app.state.replica).run()
