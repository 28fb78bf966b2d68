"""Revoked tokens reach the open sockets: this replica's sockets by user, closed with 4401 when the
user's tokens are revoked.

A password change, a disable or a logout raises the user's token generation in the database (REST refuses
the old tokens from that commit on, serve_app/tokens.py) and tells the registry, whose revocation feed
every replica long-polls: one pending call per replica, not one per socket. A socket authenticated with a
token of an older generation is closed with 4401, like an expired one, and its client must sign in again.
A replica that misses a notice (it started after it, or the registry restarted) still has every socket
checked against the database when it connects; such a socket lives at most until its token expires.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import BackgroundTasks
from ray.actor import ActorHandle

from persistence.models import User

logger = logging.getLogger(__name__)
POLL_S = 20.0  # how long one poll waits for a notice
RETRY_S = 1.0  # after a failed poll (the registry restarting)


@dataclass(frozen=True)
class OpenSocket:
    generation: int  # of the token it was authenticated with
    revoke: Callable[[], Coroutine[Any, Any, None]]  # close it with 4401


class Revocations:
    def __init__(self) -> None:
        self._open: dict[int, dict[str, OpenSocket]] = {}  # user id -> connection id -> socket
        self._follower: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def opened(self, user_id: int, connection_id: str, socket: OpenSocket) -> None:
        self._open.setdefault(user_id, {})[connection_id] = socket

    def closed(self, user_id: int, connection_id: str) -> None:
        sockets = self._open.get(user_id)
        if sockets is not None:
            sockets.pop(connection_id, None)
            if not sockets:
                del self._open[user_id]

    def revoked(self, user_id: int, generation: int) -> int:
        """Close the user's sockets authenticated before `generation`; how many."""
        stale = [socket for socket in self._open.get(user_id, {}).values() if socket.generation < generation]
        for socket in stale:
            task = asyncio.get_running_loop().create_task(socket.revoke())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return len(stale)

    def follow(self, registry: ActorHandle) -> None:
        """Long-poll the registry's revocation feed for this replica's lifetime."""
        if self._follower is None or self._follower.done():
            self._follower = asyncio.get_running_loop().create_task(self._follow(registry))

    def close(self) -> None:
        if self._follower is not None:
            self._follower.cancel()

    async def _follow(self, registry: ActorHandle) -> None:
        sequence = 0  # notices already applied are harmless: no socket is older than its user's generation
        while True:
            try:
                sequence, notices = await registry.revocations_after.remote(sequence, POLL_S)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("revocation feed unavailable; retrying", exc_info=True)
                await asyncio.sleep(RETRY_S)
                continue
            for notice in notices:
                closed = self.revoked(notice["user_id"], notice["generation"])
                if closed:
                    logger.info(
                        "sockets closed: tokens revoked", extra={"user_id": notice["user_id"], "sockets": closed}
                    )


def announce_after_commit(after_commit: BackgroundTasks, registry: ActorHandle, user: User) -> None:
    """Once the raised generation is stored (after the request's commit), every replica hears of it."""
    after_commit.add_task(registry.revoke_tokens.remote, user.id, user.token_generation)
