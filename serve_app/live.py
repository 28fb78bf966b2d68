"""/ws/assessment: the live protocol's ingress (DESIGN.md section 4).

The ingress is stateless: it authenticates, opens or resumes the attempt in the database, asks the
registry once where the session lives, and then relays messages to that host. Close codes are settled in
one place (`LiveConnection.run`). Writes that must finish are done by the host actor, which the socket's
cancellation (a client that disconnects) does not reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import ray
from fastapi import APIRouter, WebSocket
from ray.actor import ActorHandle
from starlette.websockets import WebSocketDisconnect, WebSocketState

from actors.host import TAKEN_OVER
from domain.enums import Role
from domain.errors import AuthenticationFailed, Refused
from persistence import attempts
from persistence.models import User
from serve_app import protocol
from serve_app.rate_limit import TokenBucket
from serve_app.state import ReplicaState

logger = logging.getLogger(__name__)
router = APIRouter()


class CloseConnection(Exception):
    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def bearer_from_subprotocols(websocket: WebSocket) -> str | None:
    """The token from `Sec-WebSocket-Protocol: bearer, <JWT>`, the header-free way for browsers."""
    offered = [part.strip() for part in websocket.headers.get("sec-websocket-protocol", "").split(",")]
    if len(offered) >= 2 and offered[0].lower() == "bearer":
        return offered[1]
    return None


class LiveConnection:
    def __init__(self, websocket: WebSocket, state: ReplicaState) -> None:
        self.websocket = websocket
        self.state = state
        self.connection_id = uuid.uuid4().hex
        self.bucket = TokenBucket(state.settings.rate_limit_per_s, state.settings.rate_limit_burst)
        self.user: User | None = None
        self.test_id: int | None = None
        self.attempt_id: int | None = None
        self.host_id: str | None = None
        self.host: ActorHandle | None = None
        self.watcher: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    # -- the connection's life ------------------------------------------------------------------------

    async def run(self) -> None:
        close_code, reason = 1000, ""
        try:
            await self.open()
            await self.receive_loop()
        except CloseConnection as close:
            close_code, reason = close.code, close.reason
        except WebSocketDisconnect:
            return
        finally:
            await self.release()
        await self.close(close_code, reason)

    async def open(self) -> None:
        websocket = self.websocket
        subprotocol_token = bearer_from_subprotocols(websocket)
        await websocket.accept(subprotocol="bearer" if subprotocol_token else None)
        origin = websocket.headers.get("origin")
        if origin is not None and origin.rstrip("/") not in self.state.settings.allowed_origins:
            raise CloseConnection(protocol.CLOSE_FORBIDDEN, "origin not allowed")
        token = websocket.query_params.get("token") or subprotocol_token
        try:
            claims = self.state.tokens.verify(token or "")
            async with self.state.database.transaction() as session:
                user = await session.get(User, claims.user_id)
        except AuthenticationFailed:
            raise CloseConnection(protocol.CLOSE_UNAUTHORIZED, "authentication failed") from None
        if user is None or not user.is_active:
            raise CloseConnection(protocol.CLOSE_UNAUTHORIZED, "authentication failed")
        self.user = user
        self.test_id = await self.eligible_test()
        async with self.state.database.transaction() as session:
            application = await attempts.find_application(session, self.test_id, user.id)
            active = await attempts.attempt_in_progress(session, application.id) if application else None
        await self.send(
            protocol.AuthSuccess(
                user_id=user.id,
                test_id=self.test_id,
                connection_id=self.connection_id,
                server_time=datetime.now(UTC),
                active_attempt_id=active.id if active else None,
            ).frame()
        )

    async def eligible_test(self) -> int:
        assert self.user is not None
        raw = self.websocket.query_params.get("test_id", "")
        if not raw.isdigit() or len(raw) > 12:
            await self.refuse("invalid_message", "test_id must be a test's numeric id")
        test_id = int(raw)
        async with self.state.database.transaction() as session:
            application = await attempts.find_application(session, test_id, self.user.id)
        if application is None or self.user.role is not Role.CANDIDATE:
            await self.refuse("not_eligible", "you are not invited to this test")
        return test_id

    async def refuse(self, code: str, message: str) -> None:
        await self.send(protocol.Error(code=code, message=message).frame())
        raise CloseConnection(protocol.CLOSE_FORBIDDEN, code)

    async def receive_loop(self) -> None:
        idle = self.state.settings.idle_timeout_s
        while True:
            try:
                message = await asyncio.wait_for(self.websocket.receive(), timeout=idle)
            except TimeoutError:
                raise CloseConnection(protocol.CLOSE_GOING_AWAY, "idle timeout") from None
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            text = message.get("text")
            if text is None:
                size = len(message.get("bytes") or b"")
                if size > protocol.MAX_FRAME_BYTES:
                    raise CloseConnection(protocol.CLOSE_MESSAGE_TOO_LARGE, "frame too large")
                await self.send_error(Refused("invalid_message", "binary frames are not supported; send JSON text"))
                continue
            if len(text) > protocol.MAX_FRAME_BYTES or len(text.encode("utf-8", "replace")) > protocol.MAX_FRAME_BYTES:
                raise CloseConnection(protocol.CLOSE_MESSAGE_TOO_LARGE, "frame too large")
            if not self.bucket.take():
                await self.send_error(Refused("rate_limited", "too many messages; slow down"))
                continue
            try:
                request = protocol.parse_client_message(text)
            except Refused as error:
                await self.send_error(error, protocol.request_id_of(error))
                continue
            try:
                await self.dispatch(request)
            except Refused as error:
                await self.send_error(error, request.request_id)
            except (CloseConnection, WebSocketDisconnect, asyncio.CancelledError):
                raise
            except Exception:
                logger.exception("connection %s: message failed", self.connection_id)
                await self.send_error(
                    Refused("internal", "the server could not handle that message; try again"),
                    request.request_id,
                )

    async def dispatch(self, message: protocol.AnyClientMessage) -> None:
        match message:
            case protocol.Heartbeat():
                await self.send(protocol.HeartbeatAck(server_time=datetime.now(UTC)).frame())
            case protocol.StartAssessment(request_id=request_id):
                await self.start(request_id)
            case protocol.SubmitAnswer(question_id=question_id, selected_option=option, request_id=request_id):
                if self.attempt_id is None:
                    raise Refused("not_started", "send start_assessment first")
                frames = await self.call_host(
                    lambda host: host.submit.remote(
                        self.attempt_id, self.connection_id, question_id, option, request_id
                    )
                )
                await self.send_all(frames)
            case protocol.GetState():
                await self.send(await self.current_state())
            case protocol.ChatMessage():
                raise Refused("unknown_type", "chat_message belongs on /ws/chat")

    async def start(self, request_id: str | None) -> None:
        assert self.user is not None and self.test_id is not None
        opened = await attempts.start_or_resume(self.state.database, self.test_id, self.user.id, datetime.now(UTC))
        self.attempt_id = opened.attempt.id
        frames = await self.call_host(lambda host: host.start.remote(self.attempt_id, self.connection_id, request_id))
        await self.send_all(frames)
        if self.watcher is None:
            self.watcher = asyncio.create_task(self.watch_events())

    async def current_state(self) -> str:
        if self.attempt_id is None:
            assert self.user is not None and self.test_id is not None
            async with self.state.database.transaction() as session:
                application = await attempts.find_application(session, self.test_id, self.user.id)
                active = await attempts.attempt_in_progress(session, application.id) if application else None
            if active is None:
                return protocol.AssessmentState(
                    attempt_id=None,
                    status="not_started",
                    answered=0,
                    pending_question_id=None,
                    remaining_s=None,
                ).frame()
            attempt_id = active.id
        else:
            attempt_id = self.attempt_id
        return str(await self.call_host(lambda host: host.get_state.remote(attempt_id), attempt_id))

    # -- the session host -----------------------------------------------------------------------------

    async def call_host(self, call: Callable[[ActorHandle], Awaitable[Any]], attempt_id: int | None = None) -> Any:
        """Call the session's host; if it died, ask the registry for a new one and call again once."""
        attempt_id = attempt_id if attempt_id is not None else self.attempt_id
        assert attempt_id is not None
        if self.host is None or attempt_id != self.attempt_id:
            host_id, host = await self.state.registry.locate.remote(attempt_id)
            if attempt_id == self.attempt_id:
                self.host_id, self.host = host_id, host
        else:
            host_id, host = self.host_id, self.host
        try:
            return await call(host)
        except ray.exceptions.RayActorError:
            host_id, host = await self.state.registry.locate.remote(attempt_id, host_id)
            if attempt_id == self.attempt_id:
                self.host_id, self.host = host_id, host
            return await call(host)

    async def watch_events(self) -> None:
        """Relay frames the host pushes (the deadline passing) and close on a takeover."""
        while True:
            try:
                frame = await self.call_host(lambda host: host.next_event.remote(self.attempt_id, self.connection_id))
            except ray.exceptions.RayActorError:
                continue
            if frame == TAKEN_OVER:
                await self.close(protocol.CLOSE_TAKEN_OVER, "another connection took over this attempt")
                return
            if frame:
                await self.send(frame)

    async def release(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
        if self.host is not None and self.attempt_id is not None:
            self.host.detach.remote(self.attempt_id, self.connection_id)

    # -- sending ----------------------------------------------------------------------------------------

    async def send(self, frame: str) -> None:
        if self.websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError):  # the client went away mid-send
                await self.websocket.send_text(frame)

    async def send_all(self, frames: list[str]) -> None:
        for frame in frames:
            if frame == TAKEN_OVER:
                raise CloseConnection(protocol.CLOSE_TAKEN_OVER, "another connection took over this attempt")
            await self.send(frame)

    async def send_error(self, error: Refused, request_id: str | None = None) -> None:
        await self.send(protocol.Error(code=error.code, message=error.message, request_id=request_id).frame())

    async def close(self, code: int, reason: str = "") -> None:
        if self.websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError):
                await self.websocket.close(code=code, reason=reason)


@router.websocket("/ws/assessment")
async def assessment_socket(websocket: WebSocket) -> None:
    await LiveConnection(websocket, websocket.app.state.replica).run()
