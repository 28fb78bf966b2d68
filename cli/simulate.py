"""`assess simulate`: simulated candidates on the adaptive engine, in `fast` or `live` mode.

This module turns the command's options into a run (definition, abilities, personas), runs it with a
progress bar, writes the results, summary and plots, and prints the summary as tables.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from adaptive.assembly import TestDesign, adaptive_test
from adaptive.calibration import CalibratedSet, as_parameters
from adaptive.cat import AdaptiveTest
from adaptive.exposure import ExposureControl
from adaptive.irt import ItemParameters
from config.settings import Settings
from domain.errors import InvalidRequest, NotFound
from questions.source import QuestionSource
from simulation import abilities, files, personas
from simulation.outcome import Outcome
from simulation.summary import Recovery, Summary, summarize

Mode = Literal["fast", "live"]


@dataclass(frozen=True)
class SimulationRequest:
    definition: Mapping[str, Any]
    candidates: int
    abilities: str  # a distribution spec, used when `abilities_file` is None
    abilities_file: Path | None
    persona_mix: str
    seed: int
    mode: Mode
    out: Path
    chunk_size: int
    r_max: float | None
    test_id: int | None = None  # simulate this stored test (its definition and exposure control)
    exposure_target: float | None = None  # compute Sympson-Hetter parameters for the test and store them
    exposure_rounds: int = 12
    store: bool = False  # keep a fast run's responses as a simulated test's attempts, for calibration
    true_parameters: Path | None = None  # item,a,b,c the simulated candidates answer by


def load_definition(path: Path | None) -> dict[str, Any]:
    """A test definition (the POST /api/tests body) from a JSON file, or the demo test."""
    if path is None:
        from cli.demo import DEMO_TEST

        return dict(DEMO_TEST)
    try:
        definition = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read a test definition from {path}: {error}") from None
    if not isinstance(definition, dict):
        raise ValueError(f"{path}: a test definition is a JSON object")
    return definition


def design_for(
    definition: Mapping[str, Any],
    source: QuestionSource,
    parameters: CalibratedSet | None = None,
    exposure: ExposureControl | None = None,
) -> TestDesign:
    missing = [name for name in ("skills", "max_questions") if name not in definition]
    if missing:
        raise ValueError(f"the test definition lacks {', '.join(missing)}")
    try:
        design = TestDesign.from_definition(definition, parameters=parameters, exposure=exposure)
    except (InvalidRequest, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"invalid test definition: {error}") from None
    uncovered = [skill for skill in design.skill_order if not source.covers(skill)]
    if uncovered:
        raise ValueError(f"no items for skills: {', '.join(uncovered)}")
    return design


@dataclass(frozen=True)
class StoredContext:
    """What the database adds to a run: the active parameter set, and a stored test's definition and
    exposure control."""

    definition: Mapping[str, Any]
    parameters: CalibratedSet | None
    exposure: ExposureControl | None


def stored_context(database_url: str, definition: Mapping[str, Any], test_id: int | None) -> StoredContext:
    from persistence import catalog, parameter_sets
    from persistence.database import Database
    from persistence.migrate import upgrade

    upgrade(database_url)

    async def read() -> StoredContext:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                if test_id is None:  # the default organization's active set
                    return StoredContext(definition, await parameter_sets.active_set(session), None)
                try:
                    test = await catalog.get_test(session, test_id)
                except NotFound as error:
                    raise ValueError(str(error)) from None
                active = await parameter_sets.active_set(session, test.organization_id)
                return StoredContext(catalog.definition_of(test), active, catalog.exposure_of(test))
        finally:
            await database.dispose()

    return asyncio.run(read())


def store_exposure(database_url: str, test_id: int, exposure: dict[str, Any]) -> None:
    from persistence import catalog
    from persistence.database import Database

    async def write() -> None:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                test = await catalog.get_test(session, test_id)
                test.exposure = exposure
        finally:
            await database.dispose()

    asyncio.run(write())


def true_parameters_for(path: Path, test: AdaptiveTest) -> ItemParameters:
    """The pool's parameters with those the file gives (item,a,b,c) in their place."""
    from adaptive.mml import MalformedResponses
    from cli.calibrate import read_anchors

    try:
        given = read_anchors(path)
    except MalformedResponses as error:
        raise ValueError(str(error)) from None
    pool = test.pool
    return as_parameters([given.get(entry, pool.parameters_of(index)) for index, entry in enumerate(pool.ids)])


def compute_exposure(
    request: SimulationRequest, test: AdaptiveTest, console: Console, database_url: str
) -> ExposureControl:
    from simulation.exposure import sympson_hetter

    assert request.exposure_target is not None and request.test_id is not None
    with _progress(console) as progress:
        task = progress.add_task("Sympson-Hetter rounds", total=request.exposure_rounds + 1)
        found = sympson_hetter(
            test,
            request.exposure_target,
            candidates=request.candidates,
            rounds=request.exposure_rounds,
            seed=request.seed,
            on_round=lambda number, max_rate: progress.advance(task),
        )
        progress.advance(task)
    stored = found.control.as_json(
        candidates=found.candidates,
        rounds=found.rounds,
        max_rate=round(found.max_rate, 4),
        computed_at=datetime.now(UTC).isoformat(),
    )
    store_exposure(database_url, request.test_id, stored)
    table = Table(title=f"Exposure control stored on test {request.test_id}")
    for column in ("target", "items with k < 1", "smallest k", "max rate (check run)"):
        table.add_column(column, justify="right")
    smallest = min((value for _, value in found.control.k), default=1.0)
    table.add_row(
        f"{request.exposure_target:.3f}", str(len(found.control.k)), f"{smallest:.3f}", f"{found.max_rate:.3f}"
    )
    console.print(table)
    return found.control


def run(request: SimulationRequest, console: Console, settings: Settings, address: str | None) -> Summary:
    if request.exposure_target is not None and request.test_id is None:
        raise ValueError("--exposure-target stores the parameters on a test: give --test-id")
    if request.store and request.mode != "fast":
        raise ValueError("--store keeps a fast run's responses (a live run stores its own)")
    source = QuestionSource()
    context = stored_context(settings.database_url, request.definition, request.test_id)
    design = design_for(context.definition, source, context.parameters, context.exposure)
    test = adaptive_test(source, design)
    if request.exposure_target is not None:
        control = compute_exposure(request, test, console, settings.database_url)
        test = adaptive_test(source, design_for(context.definition, source, context.parameters, control))
    truth = true_parameters_for(request.true_parameters, test) if request.true_parameters else None
    request = replace(request, definition=context.definition)
    rng = np.random.default_rng(request.seed)
    if request.abilities_file is not None:
        true_theta = abilities.read(request.abilities_file)
    else:
        true_theta = abilities.draw(request.abilities, request.candidates, rng)
    mix = personas.parse_mix(request.persona_mix)
    assigned = personas.assign(mix, true_theta.size, rng)

    with _progress(console) as progress:
        task = progress.add_task(f"{request.mode} simulation", total=true_theta.size)

        def advance(done: int) -> None:
            progress.advance(task, done)

        if request.mode == "fast":
            outcome = _run_fast(test, request, true_theta, assigned, advance, address, truth)
        else:
            outcome = _run_live(test, request, true_theta, assigned, advance, settings, address, truth)
    if request.store:
        stored_test = store_run(settings.database_url, request.definition, outcome, test, context.parameters)
        console.print(f"Responses stored as test {stored_test}: calibrate them with --test-id {stored_test}")

    summary = summarize(outcome, test.pool)
    request.out.mkdir(parents=True, exist_ok=True)
    files.write_results(request.out / files.RESULTS, outcome, test.pool)
    files.write_summary(request.out / files.SUMMARY, summary, _described(request, true_theta.size))
    plots = files.write_plots(request.out, outcome, test.pool)
    print_summary(console, summary)
    console.print(f"Results: {request.out / files.RESULTS}; summary: {request.out / files.SUMMARY}")
    console.print("Plots: " + ", ".join(str(path) for path in plots))
    return summary


def _run_fast(
    test: AdaptiveTest,
    request: SimulationRequest,
    true_theta: np.ndarray,
    assigned: np.ndarray,
    advance: Callable[[int], None],
    address: str | None,
    truth: ItemParameters | None,
) -> Outcome:
    from actors.cluster import start_or_join
    from simulation.fast import SimulationPlan, simulate

    start_or_join(address)
    duration = request.definition.get("duration_minutes")
    plan = SimulationPlan(
        test, duration_s=None if duration is None else 60.0 * duration, r_max=request.r_max, true_parameters=truth
    )
    return simulate(plan, true_theta, assigned, request.seed, request.chunk_size, on_progress=advance)


def _run_live(
    test: AdaptiveTest,
    request: SimulationRequest,
    true_theta: np.ndarray,
    assigned: np.ndarray,
    advance: Callable[[int], None],
    settings: Settings,
    address: str | None,
    truth: ItemParameters | None,
) -> Outcome:
    from actors.cluster import start_or_join
    from actors.registry import RegistryConfig, get_registry
    from persistence.database import Database
    from persistence.migrate import upgrade
    from simulation.live import create_simulated_test, simulate_live

    upgrade(settings.database_url)
    start_or_join(address)
    registry = get_registry(RegistryConfig.from_settings(settings))

    async def go() -> Outcome:
        database = Database(settings.database_url)
        try:
            await registry.start.remote()
            test_id, user_ids = await create_simulated_test(
                database, request.definition, true_theta.size, uuid.uuid4().hex[:8]
            )
            return await simulate_live(
                database,
                registry,
                test,
                test_id,
                user_ids,
                true_theta,
                assigned,
                request.seed,
                on_progress=advance,
                truth=truth,
            )
        finally:
            await database.dispose()

    return asyncio.run(go())


def store_run(
    database_url: str,
    definition: Mapping[str, Any],
    outcome: Outcome,
    test: AdaptiveTest,
    parameters: CalibratedSet | None,
) -> int:
    """A simulated test holding the run's responses as finished attempts; its id."""
    from persistence.database import Database
    from simulation.live import create_simulated_test
    from simulation.stored import store_outcome

    async def write() -> int:
        database = Database(database_url)
        try:
            test_id, user_ids = await create_simulated_test(database, definition, outcome.size, uuid.uuid4().hex[:8])
            await store_outcome(database, test_id, user_ids, outcome, test.pool, parameters.id if parameters else None)
            return test_id
        finally:
            await database.dispose()

    return asyncio.run(write())


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("candidates"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _described(request: SimulationRequest, candidates: int) -> dict[str, object]:
    return {
        "mode": request.mode,
        "candidates": candidates,
        "abilities": str(request.abilities_file) if request.abilities_file else request.abilities,
        "personas": request.persona_mix,
        "seed": request.seed,
        "r_max": request.r_max,
        "chunk_size": request.chunk_size,
        "test": {key: request.definition.get(key) for key in ("skills", "max_questions", "min_questions", "se_target")},
    }


def print_summary(console: Console, summary: Summary) -> None:
    for title, rows in (
        ("Recovery", [summary.overall]),
        ("By true ability", summary.by_band),
        ("By persona", summary.by_persona),
    ):
        console.print(_recovery_table(title, rows))
    exposure = summary.exposure
    table = Table(title="Item exposure")
    for column in ("max rate", "mean rate", "unused items", "template uses", "overlap rate"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{exposure.max_rate:.3f}",
        f"{exposure.mean_rate:.3f}",
        f"{exposure.unused_items} of {exposure.fixed_items}",
        str(exposure.template_uses),
        f"{exposure.overlap_rate:.3f}",
    )
    console.print(table)


def _recovery_table(title: str, rows: list[Recovery]) -> Table:
    table = Table(title=title)
    table.add_column("group")
    for column in ("candidates", "bias", "RMSE", "mean length", "mean SE", "reached SE target"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row.group,
            str(row.candidates),
            f"{row.bias:+.3f}",
            f"{row.rmse:.3f}",
            f"{row.mean_length:.1f}",
            f"{row.mean_se:.3f}",
            f"{row.reached_se_target:.1%}",
        )
    return table
