from datetime import UTC, datetime, timedelta

import pytest

from domain.enums import TestStatus
from domain.errors import AccessRefused
from domain.scheduling import WindowState, attempt_deadline, check_can_start_attempt, window_state

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_window_states() -> None:
    assert window_state(None, None, NOW) is WindowState.OPEN
    assert window_state(NOW + HOUR, None, NOW) is WindowState.NOT_OPEN
    assert window_state(NOW - HOUR, NOW, NOW) is WindowState.CLOSED  # the end is exclusive
    assert window_state(NOW, NOW + HOUR, NOW) is WindowState.OPEN  # the start is inclusive


def test_deadline_adds_duration_and_extra_time() -> None:
    assert attempt_deadline(NOW, 30, 15) == NOW + timedelta(minutes=45)


def allowed(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "status": TestStatus.PUBLISHED,
        "starts_at": NOW - HOUR,
        "ends_at": NOW + HOUR,
        "is_eligible": True,
        "attempts_used": 0,
        "max_attempts": 1,
        "now": NOW,
    }
    values.update(overrides)
    return values


def test_an_eligible_candidate_in_the_window_may_start() -> None:
    check_can_start_attempt(**allowed())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"is_eligible": False}, "not_eligible"),
        ({"status": TestStatus.DRAFT}, "not_eligible"),
        ({"status": TestStatus.CLOSED}, "not_eligible"),
        ({"starts_at": NOW + HOUR}, "window_closed"),
        ({"ends_at": NOW}, "window_closed"),
        ({"attempts_used": 1}, "attempts_exhausted"),
    ],
)
def test_refusals_carry_the_protocol_code(overrides: dict[str, object], code: str) -> None:
    with pytest.raises(AccessRefused) as refused:
        check_can_start_attempt(**allowed(**overrides))  # type: ignore[arg-type]
    assert refused.value.code == code
