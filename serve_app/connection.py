"""The WebSocket connection of the live protocol: one receive loop, close codes settled in one place.

After Starlette's `WebSocketEndpoint`: `ProtocolConnection.run` owns accept, authentication, the Origin
check, the frame size limit, the rate limit, the idle timeout, decoding and error frames; endpoints fill
in `on_connect`, `on_message` and `on_disconnect`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import NoReturn

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from domain.errors import AuthenticationFailed, Refused
from persistence.models import User
from serve_app.connection_table import ConnectionFigures
from serve_app.rate_limit import TokenBucket
from serve_app.revocations import OpenSocket
from serve_app.state import ReplicaState
from wire import protocol

logger = logging.getLogger(__name__)


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


class ProtocolConnection(ABC):
    endpoint: str  # the endpoint's name in analytics and metrics: assessment, chat, monitor

    def __init__(self, websocket: WebSocket, state: ReplicaState) -> None:
        self.websocket = websocket
        self.state = state
        self.connection_id = uuid.uuid4().hex
        self.bucket = TokenBucket(state.settings.rate_limit_per_s, state.settings.rate_limit_burst)
        self._user: User | None = None
        self._token_expires_at: datetime | None = None
        self.figures: ConnectionFigures | None = None  # listed in the replica's table once authenticated
        self.test_id: int | None = None  # the test this connection is about, where it is about one

    @property
    def user(self) -> User:
        assert self._user is not None, "authenticated in open()"
        return self._user

    # -- what endpoints fill in ---------------------------------------------------------------------------

    @abstractmethod
    async def on_connect(self) -> None:
        """Send `auth_success` (and refuse the connection if the user may not use this endpoint)."""

    @abstractmethod
    async def on_message(self, request: protocol.AnyClientMessage) -> None:
        """Handle one decoded message other than `heartbeat`; raise `Refused` for an error frame."""

    async def on_disconnect(self) -> None:
        return None

    # -- the connection's life ------------------------------------------------------------------------

    def log_context(self) -> dict[str, object]:
        """The ids every log line of this connection carries (never the token)."""
        return {"connection_id": self.connection_id, "user_id": self._user.id if self._user else None}

    async def run(self) -> None:
        close_code, reason = 1000, ""
        try:
            await self.open()
            await self.receive_loop()
        except CloseConnection as close:
            close_code, reason = close.code, close.reason
        except WebSocketDisconnect as disconnect:
            close_code, reason = disconnect.code, "closed by the client"
            return
        finally:
            self.state.connections.closed(self.connection_id)
            if self._user is not None:
                self.state.revocations.closed(self._user.id, self.connection_id)
            await self.on_disconnect()
            logger.info("connection closed: %s", reason or "normal", extra={**self.log_context(), "code": close_code})
        await self.close(close_code, reason)

    async def open(self) -> None:
        """Accept, then check the Origin and the token before anything else is sent."""
        websocket = self.websocket
        subprotocol_token = bearer_from_subprotocols(websocket)
        await websocket.accept(subprotocol="bearer" if subprotocol_token else None)
        origin = websocket.headers.get("origin")
        if origin is not None and origin.rstrip("/") not in self.state.settings.allowed_origins:
            raise CloseConnection(protocol.CLOSE_FORBIDDEN, "origin not allowed")
        token = websocket.query_params.get("token") or subprotocol_token
        try:
            claims = self.state.tokens.verify(token or "")
        except AuthenticationFailed:
            raise CloseConnection(protocol.CLOSE_UNAUTHORIZED, "authentication failed") from None
        user = await self.state.users.submit(claims.user_id)  # with the other sockets connecting now
        if not claims.still_valid_for(user):
            raise CloseConnection(protocol.CLOSE_UNAUTHORIZED, "authentication failed")
        self._user = user
        self._token_expires_at = claims.expires_at
        self.state.revocations.opened(user.id, self.connection_id, OpenSocket(claims.generation, self._revoke))
        logger.info("connection opened: %s", self.websocket.url.path, extra=self.log_context())
        await self.on_connect()
        self.figures = ConnectionFigures(self.connection_id, self.endpoint, user.id, user.role.value, self.test_id)
        self.state.connections.opened(self.figures)
        self.state.registry.connection_opened.remote(self.endpoint, user.id, self.test_id)

    def received(self, kind: str) -> None:
        self.state.metrics.message_received(self.endpoint, kind)
        if self.figures is not None:
            self.figures.message_received()

    async def send_auth_success(self, active_attempt_id: int | None = None) -> None:
        await self.send(
            protocol.AuthSuccess(
                user_id=self.user.id,
                test_id=self.test_id,
                connection_id=self.connection_id,
                server_time=datetime.now(UTC),
                active_attempt_id=active_attempt_id,
            ).frame()
        )

    async def refuse(self, code: str, message: str) -> NoReturn:
        """An `error` frame, then close with 4403."""
        await self.send(protocol.Error(code=code, message=message).frame())
        raise CloseConnection(protocol.CLOSE_FORBIDDEN, code)

    async def too_large(self) -> None:
        """`message_too_large`, then close with 1009."""
        await self.send_error(Refused("message_too_large", f"frames are limited to {protocol.MAX_FRAME_BYTES} bytes"))
        raise CloseConnection(protocol.CLOSE_MESSAGE_TOO_LARGE, "frame too large")

    async def receive_loop(self) -> None:
        idle = self.state.settings.idle_timeout_s
        while True:
            token_left = self._token_seconds_left()
            if token_left <= 0:
                raise CloseConnection(protocol.CLOSE_UNAUTHORIZED, "token expired")
            token_ends_first = token_left <= idle
            try:
                async with asyncio.timeout(min(idle, token_left)):  # a timer, not a task per frame (wait_for)
                    message = await self.websocket.receive()
            except TimeoutError:
                # Decided by which wait ran out, not by reading the wall clock again: the event loop's
                # monotonic timer and the wall clock can disagree by a few milliseconds at `exp`.
                if token_ends_first:
                    raise CloseConnection(protocol.CLOSE_UNAUTHORIZED, "token expired") from None
                raise CloseConnection(protocol.CLOSE_GOING_AWAY, "idle timeout") from None
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            text = message.get("text")
            if text is None:
                self.received("binary")
                if len(message.get("bytes") or b"") > protocol.MAX_FRAME_BYTES:
                    await self.too_large()
                await self.send_error(Refused("invalid_message", "binary frames are not supported; send JSON text"))
                continue
            if len(text) > protocol.MAX_FRAME_BYTES or len(text.encode("utf-8", "replace")) > protocol.MAX_FRAME_BYTES:
                self.received("oversized")
                await self.too_large()
            if not self.bucket.take():
                self.received("rate_limited")
                await self.send_error(Refused("rate_limited", "too many messages; slow down"))
                continue
            try:
                request = protocol.parse_client_message(text)
            except Refused as error:
                self.received("invalid" if error.code == "invalid_message" else "unknown_type")
                await self.send_error(error, protocol.request_id_of(error))
                continue
            self.received(request.type)
            try:
                if isinstance(request, protocol.Heartbeat):
                    await self.send(protocol.HeartbeatAck(server_time=datetime.now(UTC)).frame())
                else:
                    await self.on_message(request)
            except Refused as error:
                await self.send_error(error, request.request_id)
            except (CloseConnection, WebSocketDisconnect, asyncio.CancelledError):
                raise
            except Exception:
                logger.exception("message failed", extra=self.log_context())
                await self.send_error(
                    Refused("internal", "the server could not handle that message; try again"), request.request_id
                )

    async def _revoke(self) -> None:
        """The user's tokens were revoked: closed like an expired token's socket."""
        logger.info("connection closed: token revoked", extra=self.log_context())
        await self.close(protocol.CLOSE_UNAUTHORIZED, "token revoked")

    def _token_seconds_left(self) -> float:
        """A connection lives no longer than its token: at `exp` it closes with 4401 and the client
        reconnects with a fresh token (its attempt resumes where it was)."""
        assert self._token_expires_at is not None, "authenticated in open()"
        return (self._token_expires_at - datetime.now(UTC)).total_seconds()

    # -- sending ----------------------------------------------------------------------------------------

    async def send(self, frame: str) -> None:
        self.state.metrics.frame_sent(frame)
        if self.websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError):  # the client went away mid-send
                await self.websocket.send_text(frame)

    async def send_error(self, error: Refused, request_id: str | None = None) -> None:
        await self.send(protocol.Error(code=error.code, message=error.message, request_id=request_id).frame())

    async def close(self, code: int, reason: str = "") -> None:
        if self.websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError):
                await self.websocket.close(code=code, reason=reason)
