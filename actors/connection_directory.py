"""Every ingress replica's open WebSocket connections, as each last reported them, while someone reads them.

A replica checks in every few seconds. Its whole table (a row per open socket: 5,000 rows on a loaded
replica) travels only while the directory is read: a read marks the directory wanted for `WANTED_FOR_S`,
each check-in's answer tells the replica whether to send its table, and a read waits (up to one report
interval and a half) for the tables of the replicas that checked in without one. Unread, a check-in is a
few bytes: at 5,000 connections, rebuilding and shipping the table every 2 s was a tenth of the replica's
CPU and most of the registry's (py-spy during bench/soak.py).

The directory keeps the latest report per replica and forgets replicas that stopped checking in.
Reconnects are the connections a user opened to the same endpoint and test before the current one, since
the registry started (bounded: the oldest keys go first beyond `OPENED_KEYS`).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

# A replica whose last check-in is older than this is taken to be gone (it checks in every REPORT_INTERVAL_S).
REPORT_INTERVAL_S = 2.0
STALE_AFTER_S = 5 * REPORT_INTERVAL_S
WANTED_FOR_S = 60.0  # after a read, replicas send their tables for this long
READ_PATIENCE_S = 1.5 * REPORT_INTERVAL_S  # a read waits at most this for tables not yet sent
OPENED_KEYS = 100_000  # (endpoint, user, test) keys counted for reconnects


@dataclass
class Report:
    at: float  # when the replica last checked in
    rows: list[dict[str, Any]] | None  # its table, as of `rows_at`; None if it has not sent one while wanted
    rows_at: float


class ConnectionDirectory:
    def __init__(self) -> None:
        self._reports: dict[str, Report] = {}
        self._opened: OrderedDict[tuple[str, int, int | None], int] = OrderedDict()
        self._wanted_until = float("-inf")
        self._reported = asyncio.Event()

    def opened(self, endpoint: str, user_id: int, test_id: int | None) -> None:
        """Noted as each connection authenticates (short ones included, which a report may never show)."""
        key = (endpoint, user_id, test_id)
        self._opened[key] = self._opened.pop(key, 0) + 1
        while len(self._opened) > OPENED_KEYS:
            self._opened.popitem(last=False)

    def report(self, replica_id: str, connections: list[dict[str, Any]] | None) -> bool:
        """A replica checks in with its table, or without one (None). An empty table drops the replica (it
        has nothing to list, or it stopped). Returns whether tables are wanted now."""
        now = time.monotonic()
        if connections == []:
            self._reports.pop(replica_id, None)
        elif connections is not None:
            self._reports[replica_id] = Report(now, connections, now)
        elif (previous := self._reports.get(replica_id)) is not None:
            previous.at = now
            if not self.wanted:
                previous.rows = None  # nobody reads it: not kept either
        else:
            self._reports[replica_id] = Report(now, None, now)
        self._reported.set()
        return self.wanted

    @property
    def wanted(self) -> bool:
        return time.monotonic() < self._wanted_until

    async def connections(self) -> list[dict[str, Any]]:
        """Every live replica's table; replicas that were not sending theirs are asked and waited for."""
        asked_at = time.monotonic()
        self._wanted_until = asked_at + WANTED_FOR_S
        give_up_at = asked_at + READ_PATIENCE_S
        while self._missing(asked_at) and time.monotonic() < give_up_at:
            self._reported.clear()
            try:
                await asyncio.wait_for(self._reported.wait(), give_up_at - time.monotonic())
            except TimeoutError:
                break
        return [
            {**row, "reconnects": max(self._opened.get((row["endpoint"], row["user_id"], row["test_id"]), 0) - 1, 0)}
            for report in self._live().values()
            for row in report.rows or []
        ]

    def _live(self) -> dict[str, Report]:
        now = time.monotonic()
        for replica_id in [key for key, report in self._reports.items() if now - report.at > STALE_AFTER_S]:
            del self._reports[replica_id]
        return self._reports

    def _missing(self, asked_at: float) -> bool:
        """Some live replica's table is older than the interval before the read (or was never sent)."""
        return any(
            report.rows is None or report.rows_at < asked_at - REPORT_INTERVAL_S for report in self._live().values()
        )
