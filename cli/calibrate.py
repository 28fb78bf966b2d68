"""`assess calibrate`: item parameters estimated from long-format responses or from the stored responses of
tests, written as `items.csv` (and, from stored responses, kept as a draft parameter set in the database).

The responses file is the long format other IRT tools read: a header `person,item,correct` and one row per
response, `correct` being 1/0 (or true/false). An anchors file (`item,a,b,c`, for example an earlier
`items.csv`) fixes those items' parameters and puts the others on their scale. Anything malformed is a
`MalformedResponses` naming the file and the line.
"""

from __future__ import annotations

import asyncio
import csv
import getpass
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from adaptive.mml import Calibration, MalformedResponses, Model, Responses, calibrate

RESPONSE_COLUMNS = ("person", "item", "correct")
ANCHOR_COLUMNS = ("item", "a", "b", "c")
ITEM_COLUMNS = ("item", "a", "b", "c", "se_a", "se_b", "se_c", "n", "rmsd", "anchored")
CORRECT_VALUES = {"1": True, "0": False, "true": True, "false": False}
MAX_FIELD = 200  # characters in a person or item id


def read_responses(path: Path) -> Responses:
    return Responses.of(_response_rows(path))


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            header = [name.strip().lower() for name in reader.fieldnames or []]
            missing = [column for column in columns if column not in header]
            if missing:
                raise MalformedResponses(
                    f"{path}: the header must name {', '.join(columns)} (missing {', '.join(missing)})"
                )
            reader.fieldnames = header
            for row in reader:
                if None in row or any(row.get(column) is None for column in columns):
                    raise MalformedResponses(f"{path}, line {reader.line_num}: expected {len(header)} fields")
                yield reader.line_num, {column: row[column].strip() for column in columns}
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise MalformedResponses(f"{path}: {error}") from None


def _response_rows(path: Path) -> Iterator[tuple[str, str, bool]]:
    for line, row in _rows(path, RESPONSE_COLUMNS):
        person, item, correct = row["person"], row["item"], row["correct"].lower()
        if not person or not item or len(person) > MAX_FIELD or len(item) > MAX_FIELD:
            raise MalformedResponses(f"{path}, line {line}: person and item must be 1-{MAX_FIELD} characters")
        if correct not in CORRECT_VALUES:
            raise MalformedResponses(f"{path}, line {line}: correct must be 1 or 0, not {row['correct']!r}")
        yield person, item, CORRECT_VALUES[correct]


def read_anchors(path: Path) -> dict[str, tuple[float, float, float]]:
    anchors: dict[str, tuple[float, float, float]] = {}
    for line, row in _rows(path, ANCHOR_COLUMNS):
        try:
            a, b, c = (float(row[name] or "0") for name in ("a", "b", "c"))
        except ValueError:
            raise MalformedResponses(f"{path}, line {line}: a, b and c must be numbers") from None
        if not all(math.isfinite(value) for value in (a, b, c)) or a <= 0 or not 0 <= c < 1:
            raise MalformedResponses(f"{path}, line {line}: need a > 0 and 0 <= c < 1")
        anchors[row["item"]] = (a, b, c)
    return anchors


def write_items(calibration: Calibration, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "items.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=ITEM_COLUMNS)
        writer.writeheader()
        for row in calibration.rows():
            writer.writerow({name: _cell(value) for name, value in row.items()})
    return path


def _cell(value: object) -> object:
    """Numbers to 4 decimals; a parameter that was not estimated has an empty standard error."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return value


def run(responses_file: Path, model: Model, out: Path, anchors_file: Path | None, console: Console) -> Path:
    responses = read_responses(responses_file)
    anchors = read_anchors(anchors_file) if anchors_file else {}
    with console.status(f"calibrating {responses.items} items from {len(responses.person):,} responses"):
        calibration = calibrate(responses, model, anchors=anchors)
    path = write_items(calibration, out)
    print_summary(console, calibration, path)
    return path


def run_stored(
    database_url: str,
    test_ids: list[int],
    model: Model,
    out: Path,
    anchored_to_active: bool,
    activate: bool,
    note: str,
    console: Console,
) -> int:
    """Calibrate the tests' stored responses into a new draft set (activated with `activate`); its id."""
    from domain.enums import AuditAction
    from persistence import audit, parameter_sets
    from persistence.database import Database
    from persistence.migrate import upgrade

    upgrade(database_url)

    async def go() -> tuple[int, Calibration]:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                operator = audit.operator(getpass.getuser())
                stored, calibration = await parameter_sets.calibrate_tests(
                    session, test_ids, model, anchored_to_active, None, note, f"assess calibrate ({getpass.getuser()})"
                )
                created = AuditAction.PARAMETER_SET_CREATED
                owner = stored.organization_id
                audit.record(
                    session, operator, created, "parameter_set", stored.id, in_organization=owner, test_ids=test_ids
                )
                if activate:
                    await parameter_sets.activate(session, stored.id, None, datetime.now(UTC))
                    activated = AuditAction.PARAMETER_SET_ACTIVATED
                    audit.record(session, operator, activated, "parameter_set", stored.id, in_organization=owner)
                return stored.id, calibration
        finally:
            await database.dispose()

    with console.status(f"calibrating the stored responses of tests {', '.join(map(str, test_ids))}"):
        set_id, calibration = asyncio.run(go())
    print_summary(console, calibration, write_items(calibration, out))
    console.print(f"Parameter set {set_id} stored ({'active' if activate else 'draft: review and activate it'}).")
    return set_id


def print_summary(console: Console, calibration: Calibration, path: Path) -> None:
    table = Table(title=f"{calibration.model.upper()} calibration: {len(calibration.item_ids)} items")
    for column in ("figure", "value"):
        table.add_column(column)
    table.add_row("EM cycles", f"{calibration.cycles} ({'converged' if calibration.converged else 'NOT converged'})")
    table.add_row("log-likelihood", f"{calibration.log_likelihood:,.1f}")
    table.add_row("anchored items", str(int(calibration.anchored.sum())))
    table.add_row("ability mean / SD", f"{calibration.ability_mean:.2f} / {calibration.ability_sd:.2f}")
    misfit = [item for item, rmsd in zip(calibration.item_ids, calibration.rmsd, strict=True) if rmsd > 0.12]
    table.add_row("items with RMSD > 0.12", ", ".join(misfit[:10]) + (" ..." if len(misfit) > 10 else "") or "none")
    table.add_row("written", str(path))
    console.print(table)
