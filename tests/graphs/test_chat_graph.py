"""The chat assistant's pure parts: intent and wording."""

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from domain.enums import ApplicationStatus, TestStatus
from domain.scheduling import WindowState
from graphs.chat import TestFacts, classify, compose
from graphs.chat_phrasing import CHAT_SYSTEM, MAX_REPLY_CHARS, chat_messages, reply_problems
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
NOW = datetime(2027, 1, 20, 9, 30, tzinfo=UTC)
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


def test_a_models_reply_may_state_only_the_records_numbers() -> None:
    sources = chat_messages("how did I do?", [FACT], compose("results", [FACT], "score?"), NOW)[1]["content"]
    assert reply_problems("Well done: 7 of 10 (70%) on attempt 1, a pass. It closes on 31 January 2027.", sources) == []
    assert reply_problems("You scored 97 out of 100.", sources) == [
        "the reply states numbers not in the records: [97.0, 100.0]"
    ]


@pytest.mark.parametrize(
    "reply",
    [
        "The correct answer to the SQL question was b.",
        "Option c was right for question 4.",
        "I can give you the answer key after the test.",
    ],
)
def test_a_models_reply_about_questions_or_keys_is_refused(reply: str) -> None:
    sources = chat_messages("tell me", [FACT], "composed", NOW)[1]["content"]
    assert "the reply talks about questions, answers or keys" in reply_problems(reply, sources)


def test_a_models_reply_must_be_short_text() -> None:
    sources = chat_messages("hi", [FACT], "composed", NOW)[1]["content"]
    assert reply_problems("   ", sources) == ["the reply is empty"]
    assert reply_problems(None, sources) == ["the reply is empty"]
    assert reply_problems("Hello! " * 300, sources) == [f"the reply is longer than {MAX_REPLY_CHARS} characters"]


def test_the_model_sees_the_candidates_records_and_nothing_else() -> None:
    system, user = chat_messages("Can I retake it?", [FACT], "Backend screening: you have used 1.", NOW)
    assert system["content"] == CHAT_SYSTEM
    shown = json.loads(user["content"].split("Records (JSON): ", 1)[1].split("\n\n", 1)[0])
    assert shown[0] == {
        "test_id": 3,
        "title": "Backend screening",
        "window": "open",
        "opens_at": None,
        "closes_at": "2027-01-31T18:00:00+00:00",
        "duration_minutes": 30,
        "extra_time_minutes": 10,
        "attempts_used": 1,
        "attempts_left": 1,
        "attempt_in_progress": False,
        "last_result": {"number": 1, "score": 7, "max_score": 10, "percentage": 70.0, "passed": True},
    }
    assert shown[1] == {"now": "2027-01-20T09:30+00:00"}
    assert user["content"].endswith("Backend screening: you have used 1.")
