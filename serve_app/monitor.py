"""/ws/monitor: a live feed of attempts for recruiters and admins (`monitor_event` frames).

After `auth_success`, the server streams every attempt started, answer stored and attempt completed, of
one test (`?test_id=ID`) or of all, from the moment the monitor connects. Events come from the registry's
activity feed, published by the session hosts after the database committed them. The monitor sends only
`heartbeat` (the idle timeout applies as on every endpoint); anything else gets an error frame.
"""

from __future__ import annotations

import asyncio

import ray
from fastapi import APIRouter, WebSocket

from domain.enums import Role
from domain.errors import NotFound, Refused
from persistence import catalog
from serve_app.connection import ProtocolConnection
from serve_app.schemas import MAX_RECORD_ID
from wire import protocol

router = APIRouter()
LONG_POLL_S = 20.0


class MonitorConnection(ProtocolConnection):
    endpoint = "monitor"
    relay: asyncio.Task[None] | None = None

    async def on_connect(self) -> None:
        if self.user.role not in (Role.ADMIN, Role.RECRUITER):
            await self.refuse("not_eligible", "the monitor is for admins and recruiters")
        raw = self.websocket.query_params.get("test_id")
        if raw is not None:
            if not raw.isdigit() or len(raw) > 12 or not 1 <= int(raw) <= MAX_RECORD_ID:
                await self.refuse("invalid_message", "test_id must be a test's numeric id")
            self.test_id = int(raw)
            try:
                async with self.state.database.transaction() as session:
                    await catalog.get_test(session, self.test_id)
            except NotFound:
                await self.refuse("not_eligible", f"test {self.test_id} not found")
        cursor = await self.state.registry.watch.remote(self.test_id)
        await self.send_auth_success()
        self.relay = asyncio.create_task(self.relay_events(cursor))

    async def on_message(self, request: protocol.AnyClientMessage) -> None:
        raise Refused("unknown_type", f"the monitor only streams events; {request.type} is not accepted here")

    async def on_disconnect(self) -> None:
        if self.relay is not None:
            self.relay.cancel()

    async def relay_events(self, cursor: int) -> None:
        registry = self.state.registry
        while True:
            try:
                cursor, events = await registry.activity_after.remote(cursor, self.test_id, LONG_POLL_S)
            except ray.exceptions.RayActorError:  # the registry is restarting
                await asyncio.sleep(0.5)
                continue
            for event in events:
                await self.send(protocol.MonitorEvent.model_validate(event).frame())


@router.websocket("/ws/monitor")
async def monitor_socket(websocket: WebSocket) -> None:
    await MonitorConnection(websocket, websocket.app.state.replica).run()
