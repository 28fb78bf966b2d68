"""Every response of a test as CSV, safe to open in a spreadsheet.

Formula injection: a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and some also with a
tab or carriage return) as a formula, so a candidate named `=HYPERLINK(...)` could run one on a
recruiter's machine. Every text cell that starts with one of these gets a leading apostrophe, which
spreadsheets show as text and do not display. Numbers, booleans and times are written by this module
and are left alone (a negative theta stays a number).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from persistence.results import ResponseRow

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER = (
    "attempt_id",
    "attempt_number",
    "user_id",
    "email",
    "full_name",
    "question_index",
    "item_id",
    "skill",
    "stem",
    "selected_option",
    "correct_option",
    "is_correct",
    "time_taken_s",
    "presented_at",
    "answered_at",
    "theta_after",
    "se_after",
)


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def responses_csv(rows: Iterable[ResponseRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        response, attempt, user = row.response, row.attempt, row.user
        writer.writerow(
            [
                attempt.id,
                attempt.number,
                user.id,
                neutralise(user.email),
                neutralise(user.full_name),
                response.index,
                neutralise(response.item_id),
                neutralise(response.skill),
                neutralise(response.stem),
                neutralise(response.selected_option),
                neutralise(response.correct_option),
                "true" if response.is_correct else "false",
                _number(response.time_taken_s),
                response.presented_at.isoformat(),
                response.answered_at.isoformat(),
                _number(response.theta_after),
                _number(response.se_after),
            ]
        )
    return out.getvalue()
