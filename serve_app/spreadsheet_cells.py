"""Text cells of our CSV exports made safe to open in a spreadsheet.

Formula injection: a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and some also with a
tab or carriage return) as a formula, so a candidate named `=HYPERLINK(...)` could run one on a
recruiter's machine. Every text cell that starts with one of these gets a leading apostrophe, which
spreadsheets show as text and do not display. Numbers, booleans and times are written by the exports
themselves and are left alone (a negative theta stays a number).
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text
