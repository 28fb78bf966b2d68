"""A spreadsheet's list of people to invite: CSV with a header row naming an `email` column and a
`full_name` (or `name`) column, in any order, other columns ignored.

Read with the standard `csv` module from UTF-8 (a byte-order mark, as spreadsheets write, is dropped).
Every problem is reported by line number in one refusal, so a file is fixed in one pass: a missing column,
a row without an email or a name, an email that is not one, the same email twice, more than
`MAX_PEOPLE` rows. A blank line is skipped.
"""

from __future__ import annotations

import csv
import io

from pydantic import ValidationError

from domain.errors import InvalidRequest
from serve_app.schemas import InvitationsCreate, InvitedPerson

MAX_PEOPLE = 1000
MAX_PROBLEMS_SHOWN = 20
NAME_COLUMNS = ("full_name", "name")


def read_people(raw: bytes, extra_time_minutes: int) -> InvitationsCreate:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequest("the file is not UTF-8 text: save it as CSV UTF-8") from None
    if "\x00" in text:
        raise InvalidRequest("the file holds NUL characters: it is not a CSV file")
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)  # a stray quote is an error, not text
    columns = {(column or "").strip().lower(): column for column in reader.fieldnames or ()}
    name_column = next((columns[name] for name in NAME_COLUMNS if name in columns), None)
    if "email" not in columns or name_column is None:
        raise InvalidRequest("the first line must name the columns, among them email and full_name (or name)")
    people: list[InvitedPerson] = []
    problems: list[str] = []
    try:
        for row in reader:
            if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
                continue
            if len(people) + len(problems) >= MAX_PEOPLE:
                raise InvalidRequest(f"more than {MAX_PEOPLE} people: invite them in several files")
            try:
                people.append(
                    InvitedPerson(email=(row[columns["email"]] or "").strip(), full_name=row[name_column] or "")
                )
            except ValidationError as error:
                fields = ", ".join(str(problem["loc"][0]) for problem in error.errors())
                problems.append(f"line {reader.line_num}: {fields} missing or not valid")
    except csv.Error as error:
        raise InvalidRequest(f"line {reader.line_num}: {error}") from None
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = f" (and {len(problems) - MAX_PROBLEMS_SHOWN} more)" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        raise InvalidRequest(f"{shown}{more}")
    if not people:
        raise InvalidRequest("the file lists nobody")
    try:
        return InvitationsCreate(candidates=people, extra_time_minutes=extra_time_minutes)
    except ValidationError as error:
        raise InvalidRequest(
            "; ".join(problem["msg"].removeprefix("Value error, ") for problem in error.errors())
        ) from None
