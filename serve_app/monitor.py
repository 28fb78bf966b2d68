"""/ws/monitor: a live feed of attempts for recruiters and admins (`monitor_event` frames).

After `auth_success`, the server streams every attempt started, answer stored and attempt completed, of
one test (`?test_id=ID`) or of all the tests of the monitor's organization, from the moment it connects.
Events come from the registry's activity feed, published by the session hosts after the database committed
them. The monitor sends only `heartbeat` (the idle timeout applies as on every endpoint); anything else gets
an error frame.
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
from serve_app.state import ReplicaState
from wire import protocol

router = APIRouter()
LONG_POLL_S = 20.0


class MonitorConnection(ProtocolConnection):
    endpoint = "monitor"
    relay: asyncio.Task[None] | None = None

    def __init__(self, websocket: WebSocket, state: ReplicaState) -> None:
        super().__init__(websocket, state)
        self.tests_seen: dict[int, bool] = {}  # test id -> whether it is of the monitor's organization

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
                    await catalog.get_test(session, self.test_id, self.user.organization_id)
            except NotFound:  # none, or another organization's
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
            ours = await self.of_our_organization({event["test_id"] for event in events})
            for event in events:
                if event["test_id"] in ours:
                    await self.send(protocol.MonitorEvent.model_validate(event).frame())

    async def of_our_organization(self, test_ids: set[int]) -> set[int]:
        """Those of these tests that belong to the monitor's organization (each test is looked up once)."""
        unknown = test_ids - self.tests_seen.keys()
        if unknown:
            async with self.state.database.transaction() as session:
                owners = await catalog.organizations_of(session, unknown)
            self.tests_seen.update((test_id, owners.get(test_id) == self.user.organization_id) for test_id in unknown)
        return {test_id for test_id in test_ids if self.tests_seen[test_id]}


@router.websocket("/ws/monitor")
async def monitor_socket(websocket: WebSocket) -> None:
    await MonitorConnection(websocket, websocket.app.state.replica).run()
