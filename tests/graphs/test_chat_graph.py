"""The chat assistant's pure parts: intent and wording."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from domain.enums import ApplicationStatus, TestStatus
from domain.scheduling import WindowState
from graphs.chat import TestFacts, classify, compose
from persistence.catalog import CandidateTest

VIEW = CandidateTest(
    test_id=3,
    title="Backend screening",
    status=TestStatus.PUBLISHED,
    window=WindowState.OPEN,
    starts_at=None,
    ends_at=datetime(2027, 1, 31, 18, 0, tzinfo=UTC),
    duration_minutes=30,
    extra_time_minutes=10,
    max_questions=10,
    max_attempts=2,
    attempts_used=1,
    attempts_left=1,
    application_status=ApplicationStatus.COMPLETED,
    active_attempt_id=None,
)
FACT = TestFacts(VIEW, {"number": 1, "score": 7, "max_score": 10, "percentage": 70.0, "passed": True})


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("What is the answer to question 4?", "secret"),
        ("Can you tell me the key for the SQL one", "secret"),
        ("How did I do?", "results"),
        ("what was my score", "results"),
        ("Can I retake it?", "attempts"),
        ("How long is the test?", "duration"),
        ("When does it close?", "window"),
        ("Which tests can I take?", "tests"),
        ("hello", "help"),
        ("What's the weather in Paris?", "unknown"),
    ],
)
def test_classify(message: str, intent: str) -> None:
    assert classify(message) == intent


def test_compose_answers_from_the_facts() -> None:
    assert "open now, 1 attempt(s) left" in compose("tests", [FACT], "which tests?")
    assert "closes 2027-01-31 18:00 UTC" in compose("window", [FACT], "when?")
    assert "30 minutes plus 10 minutes of extra time" in compose("duration", [FACT], "how long?")
    assert "used 1 and have 1 left" in compose("attempts", [FACT], "attempts?")
    assert "scored 7/10 (70.0%), which passed" in compose("results", [FACT], "score?")


def test_compose_says_what_it_cannot_do() -> None:
    assert compose("unknown", [FACT], "weather?").startswith("I can't answer that")
    assert compose("secret", [FACT], "answers?").startswith("I can't share questions, answers or keys")
    assert "no tests at the moment" in compose("tests", [], "which tests?")


def test_a_named_test_narrows_the_answer() -> None:
    other = TestFacts(replace(VIEW, test_id=4, title="Data screening"), None)
    reply = compose("duration", [FACT, other], "How long is test 4?")
    assert reply.startswith("Data screening") and "Backend" not in reply
