"""The adaptive core against catsim on the same inputs: models, estimation, selection and a whole CAT."""

import numpy as np
import pytest
from catsim import irt as catsim_irt
from catsim.estimation import NumericalSearchEstimator
from catsim.initialization import FixedPointInitializer
from catsim.item_bank import ItemBank
from catsim.selection import MaxInfoSelector
from catsim.simulation import Simulator
from catsim.stopping import MinErrorStopper

from adaptive.cat import AdaptiveTest
from adaptive.estimation import MLE
from adaptive.irt import ItemParameters, information, log_likelihood, probability
from adaptive.pool import ItemPool
from adaptive.selection import maximum_information
from adaptive.stopping import StoppingRule
from simulation.fast import SimulationPlan, simulate


def random_items(rng: np.random.Generator, count: int, guessing: bool = True) -> ItemParameters:
    c = rng.uniform(0.0, 0.25, count) if guessing else np.zeros(count)
    return ItemParameters.of(a=rng.lognormal(0.2, 0.25, count), b=rng.normal(0, 1, count), c=c)


def catsim_matrix(items: ItemParameters) -> np.ndarray:
    return np.column_stack([items.a, items.b, items.c, np.ones(len(items))])


def test_models_agree_with_catsim() -> None:
    rng = np.random.default_rng(1)
    items = random_items(rng, 50)
    for theta in (-2.5, -0.3, 0.0, 1.1, 3.0):
        expected_p = [catsim_irt.icc(theta, a, b, c, 1.0) for a, b, c in zip(items.a, items.b, items.c, strict=True)]
        expected_i = [catsim_irt.inf(theta, a, b, c, 1.0) for a, b, c in zip(items.a, items.b, items.c, strict=True)]
        assert probability(theta, items) == pytest.approx(expected_p, rel=1e-9)
        assert information(theta, items) == pytest.approx(expected_i, rel=1e-9)
        responses = rng.random(50) < 0.5
        expected_ll = catsim_irt.log_likelihood(theta, responses.tolist(), catsim_matrix(items))
        assert float(log_likelihood(theta, responses, np.ones(50, bool), items)) == pytest.approx(expected_ll)


def test_mle_agrees_with_catsim_search() -> None:
    rng = np.random.default_rng(2)
    items = random_items(rng, 30, guessing=False)
    bank = ItemBank(catsim_matrix(items))
    estimator = NumericalSearchEstimator()
    for _ in range(40):
        responses = rng.random(30) < probability(rng.normal(), items)
        if responses.all() or not responses.any():
            continue
        expected = estimator.estimate(
            item_bank=bank, administered_items=list(range(30)), response_vector=responses.tolist(), est_theta=0.0
        )
        theta, _ = MLE().estimate(responses, np.ones(30, bool), items)
        assert float(theta) == pytest.approx(expected, abs=0.01)


def test_maximum_information_agrees_with_catsim() -> None:
    rng = np.random.default_rng(3)
    items = random_items(rng, 80)
    bank = ItemBank(catsim_matrix(items))
    selector = MaxInfoSelector()
    for theta in np.linspace(-3, 3, 13):
        administered = sorted(rng.choice(80, size=10, replace=False).tolist())
        expected = selector.select(item_bank=bank, administered_items=administered, est_theta=float(theta))
        eligible = np.ones(80, bool)
        eligible[administered] = False
        assert int(maximum_information(theta, eligible, items)) == expected


def test_a_whole_cat_recovers_abilities_as_well_as_catsim() -> None:
    """2PL, maximum information, fixed start at 0, stop at SE 0.3 or 40 items: same RMSE and length."""
    rng = np.random.default_rng(4)
    items = random_items(rng, 200, guessing=False)
    true_theta = rng.normal(0, 1, 300)
    reference = Simulator(catsim_matrix(items), true_theta, seed=1)
    reference.simulate(
        FixedPointInitializer(0.0), MaxInfoSelector(), NumericalSearchEstimator(), MinErrorStopper(0.3, max_items=40)
    )
    test = AdaptiveTest(ItemPool.of_parameters(items), StoppingRule(max_items=40, se_target=0.3), estimator=MLE())
    ours = simulate(SimulationPlan(test), np.tile(true_theta, 5), np.zeros(1500, np.int8), seed=1)
    rmse = float(np.sqrt(np.mean((ours.estimate - ours.true_theta) ** 2)))
    assert rmse == pytest.approx(reference.rmse, abs=0.03)
    catsim_length = np.mean([len(given) for given in reference.administered_items])
    assert float(ours.length.mean()) == pytest.approx(catsim_length, rel=0.1)
