"""`live` mode on the real session actors and graph (both databases), and its agreement with `fast`."""

import asyncio
import uuid

import numpy as np
from sqlalchemy import select

from actors.registry import RegistryConfig, get_registry
from adaptive.assembly import TestDesign, adaptive_test
from adaptive.exposure import ExposureControl
from persistence.database import Database
from persistence.models import Attempt
from questions.source import QuestionSource
from simulation.exposure import sympson_hetter
from simulation.fast import SimulationPlan, simulate
from simulation.live import create_simulated_test, simulate_live
from simulation.outcome import Outcome, Reason
from simulation.personas import Persona

DEFINITION = {
    "skills": [
        {"name": "python", "weight": 2.0, "prerequisites": []},
        {"name": "http", "weight": 1.0, "prerequisites": []},
        {"name": "algorithms", "weight": 1.0, "prerequisites": ["python"]},
    ],
    "max_questions": 10,
    "min_questions": 4,
    "se_target": 0.3,
    "duration_minutes": 30,
}


def run_live(
    server, true_theta: np.ndarray, personas: np.ndarray, scripted=None, definition=DEFINITION
) -> tuple[Outcome, list[int]]:  # type: ignore[no-untyped-def]
    test = adaptive_test(QuestionSource(), TestDesign.from_definition(definition))

    async def go() -> tuple[Outcome, list[int]]:
        database = Database(server.settings.database_url)
        try:
            registry = get_registry(RegistryConfig.from_settings(server.settings))
            test_id, user_ids = await create_simulated_test(
                database, definition, true_theta.size, uuid.uuid4().hex[:12]
            )
            outcome = await simulate_live(
                database, registry, test, test_id, user_ids, true_theta, personas, seed=1, scripted=scripted
            )
            return outcome, user_ids
        finally:
            await database.dispose()

    return asyncio.run(go())


def test_live_and_fast_choose_the_same_items_for_the_same_answers(server) -> None:  # type: ignore[no-untyped-def]
    """Scripted answer patterns (right, wrong, alternating, mixed): the live graph's item sequence equals
    the fast simulator's, and so do the final estimates."""
    patterns = np.array(
        [
            [True] * 10,
            [False] * 10,
            [True, False] * 5,
            [True, True, False, True, False, False, True, True, True, False],
        ]
    )
    true_theta = np.zeros(len(patterns))
    careful = np.zeros(len(patterns), dtype=np.int8)
    live, _ = run_live(server, true_theta, careful, scripted=patterns)
    test = adaptive_test(QuestionSource(), TestDesign.from_definition(DEFINITION))
    fast = simulate(SimulationPlan(test), true_theta, careful, seed=1, scripted=patterns, local=True)
    assert np.array_equal(live.items, fast.items)
    assert np.array_equal(live.length, fast.length) and np.all(live.length == 10)
    assert np.allclose(live.estimate, fast.estimate, atol=1e-4)
    assert np.allclose(live.se, fast.se, atol=1e-4)
    assert live.estimate[0] > live.estimate[3] > live.estimate[1]


def test_live_mode_runs_personas_through_the_actors_and_stores_estimates(server) -> None:  # type: ignore[no-untyped-def]
    personas = np.repeat(np.array([Persona.CAREFUL, Persona.GUESSER, Persona.DISCONNECTING], dtype=np.int8), 8)
    true_theta = np.full(personas.size, 1.5)
    outcome, _ = run_live(server, true_theta, personas)
    assert np.all(outcome.reason == Reason.LENGTH) and np.all(outcome.length == 10)
    assert outcome.reconnects[personas == Persona.DISCONNECTING].sum() > 0
    assert outcome.estimate[personas == Persona.GUESSER].mean() < outcome.estimate[personas == Persona.CAREFUL].mean()
    answered = np.arange(10)[None, :] < outcome.length[:, None]
    assert np.all(np.isfinite(outcome.se_history[answered]))  # every response stored its estimate
    assert np.allclose(outcome.se_history[:, 9], outcome.se, atol=1e-4)


def test_live_and_fast_choose_the_same_items_under_exposure_control(server) -> None:  # type: ignore[no-untyped-def]
    """With a randomesque start and Sympson-Hetter parameters on the test, the live sessions (keyed by their
    attempt ids) and the fast simulator given the same keys and answers still give the same items."""
    base = adaptive_test(QuestionSource(), TestDesign.from_definition(DEFINITION))
    fixed = [entry for index, entry in enumerate(base.pool.ids) if not base.pool.reusable[index]]
    exposure = {"target": 0.3, "first_randomesque": 4, "k": {entry: 0.5 for entry in fixed}}
    definition = {**DEFINITION, "se_target": None, "min_questions": 10, "exposure": exposure}
    patterns = np.random.default_rng(11).random((12, 10)) < 0.6
    true_theta = np.zeros(len(patterns))
    careful = np.zeros(len(patterns), dtype=np.int8)
    live, user_ids = run_live(server, true_theta, careful, scripted=patterns, definition=definition)
    attempt_ids = asyncio.run(attempts_of(server, user_ids))
    test = adaptive_test(
        QuestionSource(), TestDesign.from_definition(definition, exposure=ExposureControl.from_json(exposure))
    )
    keys = np.array(attempt_ids, dtype=np.uint64)
    fast = simulate(SimulationPlan(test), true_theta, careful, seed=1, scripted=patterns, local=True, keys=keys)
    assert np.array_equal(live.items, fast.items)
    assert len(set(live.items[:, 0].tolist())) > 1  # the randomesque start: not everyone opens on one item
    plain = simulate(SimulationPlan(base), true_theta, careful, seed=1, scripted=patterns, local=True)
    assert not np.array_equal(plain.items, fast.items)  # the control changed the choices


async def attempts_of(server, user_ids: list[int]) -> list[int]:  # type: ignore[no-untyped-def]
    database = Database(server.settings.database_url)
    try:
        async with database.transaction() as session:
            rows = await session.execute(select(Attempt.user_id, Attempt.id).where(Attempt.user_id.in_(user_ids)))
            by_user = {user_id: attempt_id for user_id, attempt_id in rows.all()}
        return [by_user[user_id] for user_id in user_ids]
    finally:
        await database.dispose()


def test_exposure_caps_hold_in_live_tests_and_the_item_analysis_shows_them(server, admin) -> None:  # type: ignore[no-untyped-def]
    """Sympson-Hetter parameters computed by simulation for a test hold its items near the target (checked on
    1,000 simulated candidates), and real sessions give exactly the items the simulator gives for the same
    keys and answers, so the cap holds live; without them every candidate opens on the same item. The item
    analysis reports each item's exposure against the target."""
    fixed_length = {**DEFINITION, "se_target": None, "min_questions": 10}
    plain = adaptive_test(QuestionSource(), TestDesign.from_definition(fixed_length))
    found = sympson_hetter(plain, target=0.4, candidates=1000, rounds=6)
    definition = {**fixed_length, "exposure": found.control.as_json(computed_at="2026-12-07T00:00:00+00:00")}
    true_theta = np.random.default_rng(21).normal(size=80)
    careful = np.zeros(true_theta.size, dtype=np.int8)
    live, user_ids = run_live(server, true_theta, careful, definition=definition)
    assert found.max_rate <= 0.4 + 0.06  # the pool's smallest skill keeps a few items a little above
    controlled = adaptive_test(QuestionSource(), TestDesign.from_definition(fixed_length, exposure=found.control))
    keys = np.array(asyncio.run(attempts_of(server, user_ids)), dtype=np.uint64)
    replayed = simulate(
        SimulationPlan(controlled), true_theta, careful, seed=1, scripted=live.correct, local=True, keys=keys
    )
    assert np.array_equal(live.items, replayed.items)
    rates = np.bincount(live.items[live.items >= 0], minlength=len(plain.pool)) / true_theta.size
    uncontrolled = simulate(SimulationPlan(plain), true_theta, careful, seed=1, local=True)
    assert np.all(uncontrolled.items[:, 0] == uncontrolled.items[0, 0])  # everyone opens on one item
    assert rates[~plain.pool.reusable].max() < 0.7 and len(set(live.items[:, 0].tolist())) > 1

    test_id = asyncio.run(owning_test(server, user_ids[0]))
    analysis = admin.get(f"/api/tests/{test_id}/item-analysis").json()
    assert analysis["exposure_target"] == 0.4
    by_item = {item["item_id"]: item for item in analysis["items"]}
    for entry, k in found.control.k:
        if entry in by_item:
            assert by_item[entry]["exposure_k"] == k
    assert all(item["over_exposure_target"] == (item["exposure"] > 0.4) for item in analysis["items"])


async def owning_test(server, user_id: int) -> int:  # type: ignore[no-untyped-def]
    database = Database(server.settings.database_url)
    try:
        async with database.transaction() as session:
            return int(await session.scalar(select(Attempt.test_id).where(Attempt.user_id == user_id)))
    finally:
        await database.dispose()
