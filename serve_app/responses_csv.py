"""Every response of a test as CSV, safe to open in a spreadsheet (serve_app/spreadsheet_cells.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from persistence.results import ResponseRow
from serve_app.spreadsheet_cells import neutralise

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
