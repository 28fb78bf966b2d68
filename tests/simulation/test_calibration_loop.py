"""The whole calibration loop on a real database (both backends): candidates answer items whose true
parameters differ from the starting values; their stored responses are calibrated into a parameter set; the
set is activated; the next cohort reaches the SE target in fewer items and with a smaller error."""

import asyncio
import uuid
from datetime import UTC, datetime

import numpy as np
import pytest
from conftest import make_database_url

from adaptive.assembly import TestDesign, adaptive_test
from adaptive.calibration import as_parameters
from adaptive.irt import ItemParameters
from persistence import parameter_sets
from persistence.database import Database
from persistence.migrate import upgrade
from questions.source import QuestionSource
from simulation.fast import SimulationPlan, simulate
from simulation.live import create_simulated_test
from simulation.outcome import Outcome
from simulation.stored import store_outcome

DEFINITION = {
    "skills": [
        {"name": "python", "weight": 2.0, "prerequisites": []},
        {"name": "sql", "weight": 1.0, "prerequisites": []},
        {"name": "http", "weight": 1.0, "prerequisites": []},
    ],
    "max_questions": 30,
    "min_questions": 5,
    "se_target": 0.4,
}
COHORT = 2000


def true_parameters(pool_parameters: ItemParameters, seed: int) -> ItemParameters:
    """Sharper and differently placed than the starting values: a ~ 1.35 x lognormal, b moved by N(0, 0.7)."""
    rng = np.random.default_rng(seed)
    size = len(pool_parameters)
    a = np.exp(rng.normal(0.3, 0.2, size))
    b = pool_parameters.b + rng.normal(0.0, 0.7, size)
    return as_parameters(list(zip(a, b, pool_parameters.c, strict=True)))


def cohort(test, truth: ItemParameters, seed: int) -> tuple[np.ndarray, Outcome]:  # type: ignore[no-untyped-def]
    theta = np.random.default_rng(seed).normal(size=COHORT)
    plan = SimulationPlan(test, true_parameters=truth)
    return theta, simulate(plan, theta, np.zeros(COHORT, np.int8), seed=seed, local=True)


@pytest.fixture
def scratch_database(backend: str, tmp_path) -> str:  # type: ignore[no-untyped-def]
    url, scratch = make_database_url(backend, tmp_path)
    upgrade(url)
    yield url
    if scratch is not None:
        scratch.drop()


def test_calibrating_stored_responses_shortens_tests_and_sharpens_scores(scratch_database: str) -> None:
    source = QuestionSource()
    starting = adaptive_test(source, TestDesign.from_definition(DEFINITION))
    truth = true_parameters(starting.pool.parameters, seed=5)

    async def calibrate_first_cohort() -> int:
        _, first = cohort(starting, truth, seed=1)
        database = Database(scratch_database)
        try:
            test_id, user_ids = await create_simulated_test(database, DEFINITION, COHORT, uuid.uuid4().hex[:8])
            await store_outcome(database, test_id, user_ids, first, starting.pool, None)
            async with database.transaction() as session:
                stored, calibration = await parameter_sets.calibrate_tests(session, [test_id], "3pl", False, None)
                assert calibration.converged
                assert stored.source["responses"] == int(first.length.sum())
                assert stored.source["persons"] == COHORT
                await parameter_sets.activate(session, stored.id, None, datetime.now(UTC))
            async with database.transaction() as session:
                active = await parameter_sets.active_set(session)
                assert active is not None and active.id == stored.id
                return stored.id
        finally:
            await database.dispose()

    set_id = asyncio.run(calibrate_first_cohort())

    async def active_values():  # type: ignore[no-untyped-def]
        database = Database(scratch_database)
        try:
            async with database.transaction() as session:
                return (await parameter_sets.calibrated_sets(session, [set_id]))[set_id]
        finally:
            await database.dispose()

    calibrated = adaptive_test(source, TestDesign.from_definition(DEFINITION, parameters=asyncio.run(active_values())))
    assert not np.allclose(calibrated.pool.parameters.b, starting.pool.parameters.b)

    theta, before = cohort(starting, truth, seed=2)
    _, after = cohort(calibrated, truth, seed=2)

    def rmse(outcome: Outcome) -> float:
        return float(np.sqrt(np.mean((outcome.estimate - theta) ** 2)))

    assert after.length.mean() < before.length.mean()
    assert rmse(after) < rmse(before)
    # The calibrated b of well-used items lie near the truth; the starting ones do not.
    used = np.bincount(before.items[before.items >= 0], minlength=len(starting.pool)) >= 200
    error_after = np.abs(calibrated.pool.parameters.b[used] - truth.b[used]).mean()
    error_before = np.abs(starting.pool.parameters.b[used] - truth.b[used]).mean()
    assert error_after < 0.5 * error_before
