"""Many sockets at once: Serve counts each open WebSocket as an ongoing request."""

from __future__ import annotations

import asyncio

import pytest
from conftest import Server
from live_client import LiveClient, ws_url

pytestmark = pytest.mark.websocket

SOCKETS = 300


def test_300_concurrent_authenticated_sockets(server: Server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()
    url = ws_url(server.base_url, "/ws/assessment", token=live.candidate.token, test_id=live.test_id)

    async def scenario() -> tuple[int, int, int]:
        clients = await asyncio.gather(*(LiveClient.connect(url) for _ in range(SOCKETS)))
        hellos = await asyncio.gather(*(client.expect("auth_success") for client in clients))
        # All of them are open at this point; each still answers.
        for client in clients:
            await client.send("heartbeat")
        acks = await asyncio.gather(*(client.expect("heartbeat_ack") for client in clients))
        await asyncio.gather(*(client.close() for client in clients))
        return len(hellos), len({hello["connection_id"] for hello in hellos}), len(acks)

    assert asyncio.run(scenario()) == (SOCKETS, SOCKETS, SOCKETS)
