"""The item-writing rules and the near-duplicate index, on hand-made items and on the shipped bank."""

from __future__ import annotations

import pytest

from llm.checks import Draft, flaw_problems, schema_problems
from llm.duplicates import StemIndex
from questions.source import QuestionSource

GOOD = {
    "stem": "Which HTTP status code tells a client that the requested resource does not exist on the server?",
    "options": ["200", "301", "404", "500"],
    "key": "c",
    "explanation": "404 Not Found means the server has no resource at that URL.",
}


def draft(**changes: object) -> Draft:
    parsed, problems = schema_problems({**GOOD, **changes})
    assert parsed is not None, problems
    return parsed


def test_a_well_written_item_passes() -> None:
    assert flaw_problems(draft()) == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"options": ["200", "301", "404"]}, "exactly four options"),
        ({"options": ["200", "301", "404", 5]}, "exactly four options"),
        ({"options": ["200", "301", "404", " 404 "]}, "distinct"),
        ({"options": ["200", "301", "404", ""]}, "1 to 500 characters"),
        ({"key": "e"}, "one of a, b, c, d"),
        ({"key": None}, "one of a, b, c, d"),
        ({"stem": "Status?"}, "the stem must be text"),
        ({"stem": "x" * 5000}, "the stem must be text"),
        ({"explanation": ""}, "explanation"),
    ],
)
def test_schema_problems_are_named(changes: dict[str, object], problem: str) -> None:
    parsed, problems = schema_problems({**GOOD, **changes})
    assert parsed is None and any(problem in found for found in problems), problems


def test_a_reply_missing_everything_lists_every_problem() -> None:
    parsed, problems = schema_problems({"surprise": True})
    assert parsed is None and len(problems) == 4


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"options": ["200", "301", "404", "All of the above"]}, "all/none of the above"),
        ({"options": ["200", "None of these", "404", "500"]}, "all/none of the above"),
        (
            {"options": ["200", "301", "404 Not Found, because no resource exists at that path at all", "500"]},
            "stands out by its length",
        ),
        (
            {
                "stem": "Which status code means the requested resource does not exist on the server?",
                "options": ["200", "301", "The requested resource does not exist", "500"],
            },
            "copies the stem's words",
        ),
        ({"stem": "Which of the following is not a client error status code?"}, "negative question"),
        ({"stem": "Every one of these is a status code except:"}, "negative question"),
        ({"stem": "Which statement about HTTP status codes is false?"}, "negative question"),
        ({"stem": "HTTP status codes and what they mean."}, "does not ask a question"),
        ({"stem": "About HTTP: which of the following is true?"}, "cannot be answered without the options"),
    ],
)
def test_each_item_writing_flaw_is_caught(changes: dict[str, object], problem: str) -> None:
    problems = flaw_problems(draft(**changes))
    assert any(problem in found for found in problems), problems


@pytest.mark.parametrize(
    "stem",
    [
        "Which of the following is NOT a client error status code?",
        "Which of the following is **not** a client error status code?",
        "Which statement about HTTP status codes is FALSE?",
        "Which HTTP method is safe, meaning the client does not ask for any change of state?",
        "Fill in the status code a server sends for a missing resource:",
    ],
)
def test_emphasized_or_positive_stems_pass(stem: str) -> None:
    assert flaw_problems(draft(stem=stem)) == []


def test_the_shipped_bank_and_its_families_pass_the_rules() -> None:
    """The rules are calibrated on the reviewed bank: none of its 220 items, nor 50 variants of each family,
    is flagged."""
    source = QuestionSource()
    variants = [family.generate(seed) for family in source.families for seed in range(50)]
    for item in [*source.items, *variants]:
        problems = flaw_problems(
            Draft(item.stem, tuple(option.text for option in item.options), item.key, item.explanation)
        )
        assert problems == [], (item.id, problems)


def test_near_duplicates_are_found_and_different_questions_are_not() -> None:
    bank = QuestionSource()
    index = StemIndex(item.stem for item in bank.items)
    original = bank.get("http-011").stem
    assert index.duplicate_problem(original) is not None  # verbatim
    reworded = original.replace("What should the server respond?", "What should the server reply?")
    assert index.duplicate_problem(reworded) is not None
    assert index.duplicate_problem("In Python, what does `print(3 * 4 + 5)` print?") is None
    assert index.duplicate_problem(
        "Which port does HTTPS use by default?", also=["Which port does HTTPS use by default?"]
    )
    # two questions on one topic with different numbers are different questions
    assert (
        StemIndex(["In Python, what does `print(3 * 4 + 5)` print?"]).duplicate_problem(
            "In Python, what does `print(6 * 2 + 11)` print?"
        )
        is None
    )
