"""The `fast` simulator: reproducibility, recovery, exposure control, content balance, personas."""

import numpy as np
import pytest

from adaptive.assembly import TestDesign, adaptive_test
from adaptive.cat import AdaptiveTest
from adaptive.selection import SelectionRule
from domain.skill_graph import blueprint, skill_nodes
from questions.source import QuestionSource
from simulation.fast import SimulationPlan, simulate
from simulation.outcome import Outcome, Reason
from simulation.personas import Persona

SKILLS = [
    {"name": "python", "weight": 3.0, "prerequisites": []},
    {"name": "sql", "weight": 2.0, "prerequisites": []},
    {"name": "algorithms", "weight": 1.0, "prerequisites": ["python"]},
]
SOURCE = QuestionSource()


def design(**overrides: object) -> TestDesign:
    return TestDesign.from_definition(
        {"skills": SKILLS, "max_questions": 30, "min_questions": 10, "se_target": 0.5, **overrides}
    )


def careful(count: int) -> np.ndarray:
    return np.zeros(count, dtype=np.int8)


def run(test: AdaptiveTest, true_theta: np.ndarray, seed: int = 5, local: bool = True, **plan: object) -> Outcome:
    personas = careful(true_theta.size)
    return simulate(SimulationPlan(test, **plan), true_theta, personas, seed=seed, chunk_size=500, local=local)  # type: ignore[arg-type]


def test_the_same_seed_gives_the_same_results_in_process_and_on_ray(ray_serve: int) -> None:
    test = adaptive_test(SOURCE, design())
    true_theta = np.random.default_rng(0).normal(size=1200)
    on_ray = run(test, true_theta, local=False)  # three chunks as Ray tasks
    again = run(test, true_theta, local=False)
    assert np.array_equal(on_ray.items, again.items) and np.array_equal(on_ray.estimate, again.estimate)
    in_process = run(test, true_theta)
    assert np.array_equal(on_ray.items, in_process.items) and np.array_equal(on_ray.se, in_process.se)
    other = run(test, true_theta, seed=6)
    assert not np.array_equal(on_ray.items, other.items)


def test_simulated_abilities_are_recovered() -> None:
    test = adaptive_test(SOURCE, design(se_target=None, max_questions=40, min_questions=40))
    true_theta = np.random.default_rng(1).normal(size=6000)
    outcome = run(test, true_theta)
    error = outcome.estimate - outcome.true_theta
    rmse = float(np.sqrt(np.mean(error**2)))
    assert rmse < 0.5 and abs(float(error.mean())) < 0.05
    assert float(np.mean(outcome.se)) == pytest.approx(rmse, rel=0.15)  # the reported SE is honest
    assert np.corrcoef(outcome.estimate, outcome.true_theta)[0, 1] > 0.85


def test_variable_length_tests_stop_at_the_se_target() -> None:
    test = adaptive_test(SOURCE, design(se_target=0.55, max_questions=40, min_questions=5))
    outcome = run(test, np.random.default_rng(2).normal(size=2000))
    precise = outcome.reason == Reason.PRECISION
    assert precise.mean() > 0.5
    assert np.all(outcome.se[precise] <= 0.55) and np.all(outcome.length[precise] >= 5)
    assert np.all(outcome.length[~precise] == 40)


def test_the_r_max_cap_holds_exposure_down() -> None:
    test = adaptive_test(SOURCE, design(se_target=None, max_questions=12, min_questions=12))
    true_theta = np.random.default_rng(3).normal(size=2000)
    fixed = ~test.pool.reusable

    def exposure(outcome: object) -> np.ndarray:
        given = outcome.items[outcome.items >= 0]  # type: ignore[attr-defined]
        return (np.bincount(given, minlength=len(test.pool)) / true_theta.size)[fixed]

    assert exposure(run(test, true_theta)).max() == 1.0  # without control the best first item goes to all
    capped = exposure(run(test, true_theta, r_max=0.4))
    assert capped.max() <= 0.4 + 1e-9
    assert (capped > 0).sum() > (exposure(run(test, true_theta)) > 0).sum()  # more of the bank in use


def test_sympson_hetter_parameters_lower_an_items_exposure() -> None:
    base = adaptive_test(SOURCE, design(se_target=None, max_questions=12, min_questions=12))
    true_theta = np.random.default_rng(4).normal(size=2000)
    free = run(base, true_theta)
    top = int(np.bincount(free.items[:, 0]).argmax())
    k = np.ones(len(base.pool))
    k[top] = 0.3
    controlled = run(AdaptiveTest(base.pool, base.stopping, base.estimator, SelectionRule(exposure_k=k)), true_theta)
    share = float(np.mean((controlled.items == top).any(axis=1)))
    assert share == pytest.approx(0.3, abs=0.05)


def test_content_follows_the_blueprint_weights() -> None:
    test = adaptive_test(SOURCE, design(se_target=None, max_questions=24, min_questions=24))
    outcome = run(test, np.random.default_rng(5).normal(size=500))
    counts = {
        name: (test.pool.skill[outcome.items] == index).sum(axis=1) for index, name in enumerate(test.pool.skills)
    }
    expected = blueprint(skill_nodes(SKILLS), 24)
    assert expected == {"python": 12, "sql": 8, "algorithms": 4}
    for name, per_candidate in counts.items():
        assert np.all(per_candidate == expected[name]), name


def test_items_are_never_repeated_and_families_take_over_when_the_bank_runs_out() -> None:
    single = [{"name": "sql", "weight": 1.0, "prerequisites": []}]
    test = adaptive_test(SOURCE, TestDesign.from_definition({"skills": single, "max_questions": 30}))
    outcome = run(test, np.random.default_rng(6).normal(size=200))
    bank_size = int((~test.pool.reusable).sum())
    for row in outcome.items:
        fixed = row[~test.pool.reusable[row]]
        assert len(set(fixed.tolist())) == fixed.size == bank_size  # the whole bank once, no repeats
        assert np.all(test.pool.reusable[row[bank_size:]])  # then fresh family variants


def test_personas_behave_as_described() -> None:
    test = adaptive_test(SOURCE, design(se_target=None, max_questions=30, min_questions=30))
    true_theta = np.full(3000, 1.0)
    personas = np.repeat(np.array([Persona.CAREFUL, Persona.GUESSER, Persona.SLOW], dtype=np.int8), 1000)
    outcome = simulate(SimulationPlan(test, duration_s=30 * 60), true_theta, personas, seed=9)
    careful_rows, guessers, slow = (outcome.persona == persona for persona in (0, 1, 2))
    assert outcome.estimate[guessers].mean() < outcome.estimate[careful_rows].mean() - 1.0
    assert np.mean(outcome.reason[slow] == Reason.TIME) > 0.95  # 30 x 150 s does not fit in 30 minutes
    assert np.all(outcome.reason[careful_rows] == Reason.LENGTH)
    assert np.all(outcome.seconds[slow] <= 30 * 60)
