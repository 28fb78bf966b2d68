"""The live activity of every session (attempt started, answered, completed), for recruiters' monitors.

Hosts publish events after the database has committed them, in batches and only for the tests a monitor
is watching (`Watched`, which the registry keeps from the monitors' leases and hands to every host); the
feed numbers them in arrival order and keeps the most recent in a bounded ring. A monitor long-polls with
the last number it has seen. The feed is a live view, not a record: the database is the record, and a
feed rebuilt after a restart starts numbering again (a monitor whose number is ahead of the feed's starts
over from the feed's beginning). The registry keeps a second feed of the same kind for revoked tokens,
which every ingress replica long-polls (serve_app/revocations.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wire import protocol

FEED_CAPACITY = 10_000
WATCH_LEASE_S = 60.0  # a monitor renews its watch with every long poll (every 20 s at most)


@dataclass(frozen=True)
class Watched:
    """The tests whose activity hosts publish: those named by a monitor, or all while one watches all."""

    everything: bool = False
    tests: frozenset[int] = frozenset()

    def includes(self, test_id: int) -> bool:
        return self.everything or test_id in self.tests


class WatchLeases:
    """Who watches what, by lease: a monitor's watch lapses `WATCH_LEASE_S` after its last renewal."""

    def __init__(self) -> None:
        self._renewed: dict[int | None, float] = {}  # test id (None: every test) -> last renewal

    def renew(self, test_id: int | None, now: float) -> None:
        self._renewed[test_id] = now

    def lapse(self, now: float) -> None:
        for test_id in [test for test, renewed in self._renewed.items() if now - renewed > WATCH_LEASE_S]:
            del self._renewed[test_id]

    def watched(self) -> Watched:
        return Watched(None in self._renewed, frozenset(test for test in self._renewed if test is not None))


class ActivityFeed:
    def __init__(self, capacity: int = FEED_CAPACITY) -> None:
        self._events: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._last = 0
        self._arrived = asyncio.Condition()

    @property
    def last(self) -> int:
        """The number of the latest event (0 before the first)."""
        return self._last

    async def publish(self, events: list[dict[str, Any]]) -> None:
        async with self._arrived:
            for event in events:
                self._last += 1
                self._events.append({**event, "sequence": self._last})
            self._arrived.notify_all()

    async def after(self, sequence: int, test_id: int | None, wait_s: float) -> tuple[int, list[dict[str, Any]]]:
        """The events numbered above `sequence` (of one test, or of all), waiting up to `wait_s` for one to
        arrive; with the number to ask from next time."""
        if sequence > self._last:
            sequence = 0  # the feed restarted behind this monitor
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + wait_s
        while True:
            matching = [
                event
                for event in self._events
                if event["sequence"] > sequence and (test_id is None or event["test_id"] == test_id)
            ]
            sequence = max(sequence, self._last)
            left = give_up_at - loop.time()
            if matching or left <= 0:
                return sequence, matching
            async with self._arrived:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait_for(self._newer_than(sequence)), left)

    def _newer_than(self, sequence: int) -> Callable[[], bool]:
        return lambda: self._last > sequence


def activity_events(messages: list[protocol.ServerMessage]) -> list[dict[str, Any]]:
    """The events in what a session just answered: a new attempt began, an answer was stored (not a
    duplicate), the attempt finished. Without the attempt's identity, which the host adds."""
    at = datetime.now(UTC)
    progress = next((message for message in messages if isinstance(message, protocol.ProgressUpdate)), None)
    events: list[dict[str, Any]] = []
    for message in messages:
        match message:
            case protocol.AssessmentStarted(resumed=False):
                events.append({"event": "attempt_started", "at": at, "answered": 0, "score": 0})
            case protocol.AnswerFeedback(duplicate=False, correct=correct) if progress is not None:
                events.append(
                    {
                        "event": "answered",
                        "at": at,
                        "answered": progress.answered,
                        "score": progress.score,
                        "question_index": progress.answered,
                        "correct": correct,
                    }
                )
            case protocol.AssessmentCompleted():
                events.append(
                    {
                        "event": "attempt_completed",
                        "at": at,
                        "answered": sum(skill.answered for skill in message.skills),
                        "score": message.score,
                        "reason": message.reason,
                        "percentage": message.percentage,
                    }
                )
    return events
