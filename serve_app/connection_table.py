"""This replica's open WebSocket connections and their figures, for analytics and metrics.

Each connection keeps its own counters (`ConnectionFigures`); the table lists the open ones. A replica
reports its table to the registry's connection directory every few seconds, so any replica can answer
for the whole cluster.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

RATE_WINDOW_S = 60.0


@dataclass
class ConnectionFigures:
    connection_id: str
    endpoint: str
    user_id: int
    role: str
    test_id: int | None = None
    attempt_id: int | None = None
    opened_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    messages: int = 0
    _opened: float = field(default_factory=time.monotonic)
    _last_message: float | None = None
    _recent: deque[float] = field(default_factory=deque)

    def message_received(self) -> None:
        now = time.monotonic()
        self.messages += 1
        self._last_message = now
        self._recent.append(now)
        self._forget_before(now - RATE_WINDOW_S)

    def row(self, replica_id: str) -> dict[str, Any]:
        now = time.monotonic()
        self._forget_before(now - RATE_WINDOW_S)
        # over the last minute, or over the connection's life when it is younger than a minute
        per_minute = len(self._recent) * 60.0 / max(min(now - self._opened, RATE_WINDOW_S), 1.0)
        return {
            "connection_id": self.connection_id,
            "replica_id": replica_id,
            "endpoint": self.endpoint,
            "user_id": self.user_id,
            "role": self.role,
            "test_id": self.test_id,
            "attempt_id": self.attempt_id,
            "opened_at": self.opened_at.isoformat(),
            "age_s": round(now - self._opened, 3),
            "messages": self.messages,
            "messages_per_minute": round(per_minute, 3),
            "idle_s": round(now - (self._last_message if self._last_message is not None else self._opened), 3),
        }

    def _forget_before(self, moment: float) -> None:
        while self._recent and self._recent[0] < moment:
            self._recent.popleft()


class ConnectionTable:
    def __init__(self, replica_id: str) -> None:
        self.replica_id = replica_id
        self._open: dict[str, ConnectionFigures] = {}

    def opened(self, figures: ConnectionFigures) -> None:
        self._open[figures.connection_id] = figures

    def closed(self, connection_id: str) -> None:
        self._open.pop(connection_id, None)

    def rows(self) -> list[dict[str, Any]]:
        return [figures.row(self.replica_id) for figures in list(self._open.values())]

    def by_endpoint(self) -> dict[str, int]:
        return dict(Counter(figures.endpoint for figures in self._open.values()))
