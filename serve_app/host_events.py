"""Frames the session hosts push to this replica's connections (a takeover, the deadline passing).

One long poll per host that this replica's connections are attached to (`SessionHost.next_events`), not
one per socket: with thousands of sockets on a replica, a handful of pending calls. A poll that fails
because its host died tells each connection that followed it, which re-attaches to the session's new host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import ray
from ray.actor import ActorHandle

logger = logging.getLogger(__name__)
POLL_S = 10.0  # how long one poll waits for a frame (a poll of a host nobody follows any more ends after it)


@dataclass
class Follower:
    host_id: str
    deliver: Callable[[str], Coroutine[Any, Any, None]]  # send one pushed frame to the socket
    host_lost: Callable[[], Coroutine[Any, Any, None]]  # re-attach elsewhere


class HostEvents:
    def __init__(self, replica_id: str) -> None:
        self.replica_id = replica_id
        self._followers: dict[str, Follower] = {}  # connection id -> who to tell
        self._polls: dict[str, asyncio.Task[None]] = {}  # host id -> its long poll
        self._tasks: set[asyncio.Task[None]] = set()  # deliveries under way (kept until done)

    def follow(self, connection_id: str, host_id: str, host: ActorHandle, follower: Follower) -> None:
        self._followers[connection_id] = follower
        poll = self._polls.get(host_id)
        if poll is None or poll.done():
            self._polls[host_id] = asyncio.get_running_loop().create_task(self._poll(host_id, host))

    def unfollow(self, connection_id: str) -> None:
        self._followers.pop(connection_id, None)

    def close(self) -> None:
        for task in [*self._polls.values(), *self._tasks]:
            task.cancel()

    async def _poll(self, host_id: str, host: ActorHandle) -> None:
        while self._following(host_id):
            try:
                pushed: list[tuple[str, str]] = await host.next_events.remote(self.replica_id, POLL_S)
            except ray.exceptions.RayActorError:
                lost = [follower for follower in self._followers.values() if follower.host_id == host_id]
                logger.warning("session host lost; %d connections re-attach", len(lost), extra={"host_id": host_id})
                for follower in lost:
                    self._run(follower.host_lost())
                return
            except Exception:  # anything else (the host is busy starting): ask again shortly
                logger.exception("event poll failed", extra={"host_id": host_id})
                await asyncio.sleep(1.0)
                continue
            for connection_id, frame in pushed:
                follower = self._followers.get(connection_id)
                if follower is not None:
                    self._run(follower.deliver(frame))

    def _following(self, host_id: str) -> bool:
        return any(follower.host_id == host_id for follower in self._followers.values())

    def _run(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(self._quietly(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _quietly(work: Coroutine[Any, Any, None]) -> None:
        with contextlib.suppress(Exception):
            await work
