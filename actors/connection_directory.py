"""Every ingress replica's open WebSocket connections, as each last reported them.

A replica reports its whole table every few seconds (and an empty one when it stops); the directory keeps
the latest report per replica and forgets replicas that stopped reporting, so the cluster's connections
can be listed from any replica. Reconnects are the connections a user opened to the same endpoint and test
before the current one, since the registry started.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

# A replica whose last report is older than this is taken to be gone (it reports every REPORT_INTERVAL_S).
REPORT_INTERVAL_S = 2.0
STALE_AFTER_S = 5 * REPORT_INTERVAL_S


class ConnectionDirectory:
    def __init__(self) -> None:
        self._reports: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self._opened: Counter[tuple[str, int, int | None]] = Counter()  # connections per endpoint, user, test

    def opened(self, endpoint: str, user_id: int, test_id: int | None) -> None:
        """Noted as each connection authenticates (short ones included, which a report may never show)."""
        self._opened[endpoint, user_id, test_id] += 1

    def report(self, replica_id: str, connections: list[dict[str, Any]]) -> None:
        if connections:
            self._reports[replica_id] = (time.monotonic(), connections)
        else:
            self._reports.pop(replica_id, None)

    def connections(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        for replica_id in [key for key, (at, _) in self._reports.items() if now - at > STALE_AFTER_S]:
            del self._reports[replica_id]
        return [
            {**row, "reconnects": max(self._opened[row["endpoint"], row["user_id"], row["test_id"]] - 1, 0)}
            for _, rows in self._reports.values()
            for row in rows
        ]
