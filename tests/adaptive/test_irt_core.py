"""The adaptive core against hand-computed values, and vectorized results against one-at-a-time ones."""

import math

import numpy as np
import pytest

from adaptive.estimation import EAP, MLE
from adaptive.irt import ItemParameters, information, log_likelihood, probability
from adaptive.selection import maximum_information, most_behind_skill, randomesque
from adaptive.stopping import StoppingRule


def test_probability_and_information_by_hand() -> None:
    two_pl = ItemParameters.of(a=[1.0], b=[0.0])
    assert probability(0.0, two_pl)[0] == pytest.approx(0.5)
    assert information(0.0, two_pl)[0] == pytest.approx(0.25)  # a^2 P Q
    assert probability(1.0, two_pl)[0] == pytest.approx(1 / (1 + math.exp(-1)))

    three_pl = ItemParameters.of(a=[1.7], b=[0.0], c=[0.25])
    assert probability(0.0, three_pl)[0] == pytest.approx(0.625)
    # a^2 (P - c)^2 / (1 - c)^2 * (1 - P) / P = 2.89 * 0.25 * 0.6
    assert information(0.0, three_pl)[0] == pytest.approx(0.4335)

    rasch = ItemParameters.rasch([-1.0, 0.0, 1.0])
    assert probability(0.0, rasch) == pytest.approx([1 / (1 + math.exp(-1)), 0.5, 1 / (1 + math.exp(1))])


def test_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="discrimination"):
        ItemParameters.of(a=[0.0], b=[0.0])
    with pytest.raises(ValueError, match="guessing"):
        ItemParameters.of(a=[1.0], b=[0.0], c=[1.0])


def test_log_likelihood_by_hand() -> None:
    items = ItemParameters.rasch([0.0, 0.0, 5.0])
    value = log_likelihood(0.0, [1, 0, 1], [True, True, False], items)
    assert value == pytest.approx(2 * math.log(0.5))  # the third item was not administered


def test_eap_with_no_answers_is_the_prior() -> None:
    items = ItemParameters.rasch([0.0])
    theta, se = EAP().estimate([0], [False], items)
    assert float(theta) == pytest.approx(0.0, abs=1e-9)
    assert float(se) == pytest.approx(1.0, abs=0.01)
    shifted, _ = EAP(prior_mean=0.5, prior_sd=0.8).estimate([0], [False], items)
    assert float(shifted) == pytest.approx(0.5, abs=1e-3)


def test_eap_is_symmetric_and_shrinks_its_error() -> None:
    items = ItemParameters.of(a=1.2, b=np.zeros(10))
    right, right_se = EAP().estimate(np.ones(10), np.ones(10, bool), items)
    wrong, _ = EAP().estimate(np.zeros(10), np.ones(10, bool), items)
    assert float(right) == pytest.approx(-float(wrong))
    few_se = EAP().estimate(np.ones(2), np.ones(2, bool), ItemParameters.of(a=1.2, b=np.zeros(2)))[1]
    assert float(right_se) < float(few_se) < 1.0


def test_mle_by_hand_and_its_fallback() -> None:
    items = ItemParameters.rasch([-1.0, 1.0])
    theta, se = MLE().estimate([1, 0], [True, True], items)
    assert float(theta) == pytest.approx(0.0, abs=0.01)  # symmetric pattern: the maximum is at 0
    expected_info = 2 * (1 / (1 + math.e)) * (math.e / (1 + math.e))
    assert float(se) == pytest.approx(1 / math.sqrt(expected_info), rel=1e-3)
    all_right, _ = MLE().estimate([1, 1], [True, True], items)
    eap_right, _ = EAP().estimate([1, 1], [True, True], items)
    assert float(all_right) == pytest.approx(float(eap_right))  # finite, from the fallback


def test_vectorized_estimates_match_one_at_a_time() -> None:
    rng = np.random.default_rng(7)
    items = ItemParameters.of(a=rng.uniform(0.6, 2.0, 30), b=rng.normal(0, 1, 30), c=rng.uniform(0, 0.25, 30))
    responses = rng.integers(0, 2, (25, 30))
    administered = rng.random((25, 30)) < 0.6
    for estimator in (EAP(), MLE()):
        thetas, ses = estimator.estimate(responses, administered, items)
        for row in range(25):
            theta, se = estimator.estimate(responses[row], administered[row], items)
            assert float(theta) == pytest.approx(thetas[row])
            assert float(se) == pytest.approx(ses[row])


def test_eap_recovers_true_abilities() -> None:
    rng = np.random.default_rng(11)
    items = ItemParameters.of(a=rng.uniform(0.8, 2.0, 60), b=rng.normal(0, 1.2, 60))
    true_theta = rng.normal(0, 1, 2000)
    responses = (rng.random((2000, 60)) < probability(true_theta, items)).astype(int)
    estimate, se = EAP().estimate(responses, np.ones_like(responses, bool), items)
    rmse = float(np.sqrt(np.mean((estimate - true_theta) ** 2)))
    assert rmse < 0.35 and abs(float(np.mean(estimate - true_theta))) < 0.05
    assert float(np.mean(se)) == pytest.approx(rmse, rel=0.25)  # the reported SE is honest


def test_maximum_information_and_randomesque() -> None:
    items = ItemParameters.rasch([-2.0, 0.0, 0.1, 2.0])
    assert int(maximum_information(0.0, [True] * 4, items)) == 1
    assert int(maximum_information(0.0, [True, False, True, True], items)) == 2
    assert int(maximum_information(0.0, [False] * 4, items)) == -1
    chosen = maximum_information(np.array([-2.0, 2.0]), np.ones((2, 4), bool), items)
    assert chosen.tolist() == [0, 3]
    picks = {int(randomesque(0.0, [True] * 4, items, k=2, rng=np.random.default_rng(seed))) for seed in range(40)}
    assert picks == {1, 2}
    again = randomesque(np.zeros(5), np.ones((5, 4), bool), items, k=2, rng=np.random.default_rng(3))
    assert (
        again.tolist() == randomesque(np.zeros(5), np.ones((5, 4), bool), items, 2, np.random.default_rng(3)).tolist()
    )


def test_content_balance_picks_the_skill_furthest_behind() -> None:
    assert int(most_behind_skill([3, 1, 2], [6, 4, 2])) == 1  # 0.5, 0.25, 1.0


def test_stopping_rules() -> None:
    rule = StoppingRule(max_items=20, min_items=5, se_target=0.3)
    assert rule.should_stop([4, 5, 20, 10], [0.2, 0.29, 0.5, 0.31]).tolist() == [False, True, True, False]
    assert rule.should_stop(3, 0.9, deadline_passed=True)
    assert rule.reason(5, 0.29) == "precision_reached"
    assert rule.reason(20, 0.5) == "completed"
    assert rule.reason(7, 0.5) is None
    assert rule.reason(7, 0.5, deadline_passed=True) == "time_expired"
    for off in (None, 0.0):  # no precision stop: only the length or the deadline ends the test
        fixed = StoppingRule(max_items=20, min_items=5, se_target=off)
        assert fixed.should_stop([5, 19, 20], [0.0, 0.0, 0.9]).tolist() == [False, False, True]
        assert fixed.reason(19, 0.0) is None and fixed.reason(20, 0.0) == "completed"
