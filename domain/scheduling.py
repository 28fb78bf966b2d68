"""Scheduling rules. The server's clock is the only clock: callers pass `now` from the server."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from domain.enums import TestStatus
from domain.errors import AccessRefused


class WindowState(StrEnum):
    NOT_OPEN = "not_open"
    OPEN = "open"
    CLOSED = "closed"


def window_state(starts_at: datetime | None, ends_at: datetime | None, now: datetime) -> WindowState:
    if starts_at is not None and now < starts_at:
        return WindowState.NOT_OPEN
    if ends_at is not None and now >= ends_at:
        return WindowState.CLOSED
    return WindowState.OPEN


def attempt_deadline(started_at: datetime, duration_minutes: int, extra_time_minutes: int) -> datetime:
    return started_at + timedelta(minutes=duration_minutes + extra_time_minutes)


def check_can_start_attempt(
    *,
    status: TestStatus,
    starts_at: datetime | None,
    ends_at: datetime | None,
    is_eligible: bool,
    attempts_used: int,
    max_attempts: int,
    now: datetime,
) -> None:
    """Raise `AccessRefused` with the protocol code when a new attempt may not start now."""
    if not is_eligible:
        raise AccessRefused("not_eligible", "you are not invited to this test")
    if status is not TestStatus.PUBLISHED:
        raise AccessRefused("not_eligible", f"this test is {status.value}, not published")
    state = window_state(starts_at, ends_at, now)
    if state is WindowState.NOT_OPEN:
        assert starts_at is not None
        raise AccessRefused("window_closed", f"this test opens at {starts_at.isoformat()}")
    if state is WindowState.CLOSED:
        assert ends_at is not None
        raise AccessRefused("window_closed", f"this test closed at {ends_at.isoformat()}")
    if attempts_used >= max_attempts:
        raise AccessRefused("attempts_exhausted", f"all {max_attempts} attempts have been used")
