"""Marginal maximum likelihood calibration (adaptive.mml): parameter recovery on simulated data, agreement
with girth's estimator on the same data, sparse adaptive data, fixed-parameter calibration, item fit."""

from __future__ import annotations

import numpy as np
import pytest
from girth import INVALID_RESPONSE, twopl_mml

from adaptive.mml import MalformedResponses, Responses, calibrate


def simulate(
    persons: int,
    items: int,
    seed: int,
    guessing: bool = False,
    ability_mean: float = 0.0,
    ability_sd: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """True a, b, c and an items x persons matrix of right (True) and wrong answers."""
    rng = np.random.default_rng(seed)
    a = rng.lognormal(0.0, 0.25, items)
    b = rng.normal(0.0, 1.0, items)
    c = rng.uniform(0.1, 0.3, items) if guessing else np.zeros(items)
    theta = rng.normal(ability_mean, ability_sd, persons)
    p = c[:, None] + (1 - c[:, None]) / (1 + np.exp(-a[:, None] * (theta[None, :] - b[:, None])))
    return a, b, c, rng.random((items, persons)) < p


def long_format(answers: np.ndarray, answered: np.ndarray | None = None) -> Responses:
    items, persons = answers.shape
    return Responses.of(
        (f"p{j}", f"i{i}", bool(answers[i, j]))
        for i in range(items)
        for j in range(persons)
        if answered is None or answered[i, j]
    )


def in_true_order(values: np.ndarray, item_ids: list[str]) -> np.ndarray:
    ordered = np.empty_like(values)
    ordered[[int(item_id[1:]) for item_id in item_ids]] = values
    return ordered


def rmse(estimate: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((estimate - truth) ** 2)))


def test_2pl_recovers_the_parameters_with_honest_standard_errors() -> None:
    a, b, _, answers = simulate(3000, 40, seed=1)
    calibration = calibrate(long_format(answers), "2pl")
    estimated_a = in_true_order(calibration.a, calibration.item_ids)
    estimated_b = in_true_order(calibration.b, calibration.item_ids)
    assert calibration.converged
    assert rmse(estimated_a, a) < 0.1 and rmse(estimated_b, b) < 0.1
    # The standard errors describe the actual error: their mean is near the RMSE, not far off either way.
    assert 0.6 < np.mean(calibration.se_a) / rmse(estimated_a, a) < 1.6
    assert 0.6 < np.mean(calibration.se_b) / rmse(estimated_b, b) < 1.6
    assert np.isnan(calibration.se_c).all() and (calibration.c == 0).all()
    assert (calibration.n == 3000).all() and (calibration.rmsd < 0.05).all()


def test_2pl_agrees_with_girth_on_the_same_data() -> None:
    _, _, _, answers = simulate(1000, 30, seed=2)
    ours = calibrate(long_format(answers), "2pl")
    theirs = twopl_mml(answers.astype(int))
    assert rmse(in_true_order(ours.a, ours.item_ids), theirs["Discrimination"]) < 0.03
    assert rmse(in_true_order(ours.b, ours.item_ids), theirs["Difficulty"]) < 0.03


def test_sparse_adaptive_data_agrees_with_girth_and_recovers_the_parameters() -> None:
    """Each person answers 15 of 60 items, as in an adaptive test's data."""
    a, b, _, answers = simulate(6000, 60, seed=3)
    rng = np.random.default_rng(4)
    answered = np.zeros(answers.shape, dtype=bool)
    for person in range(answers.shape[1]):
        answered[rng.choice(60, 15, replace=False), person] = True
    ours = calibrate(long_format(answers, answered), "2pl")
    assert (ours.n < 6000).all() and ours.n.sum() == 6000 * 15
    girth_data = np.where(answered, answers.astype(int), INVALID_RESPONSE)
    theirs = twopl_mml(girth_data)
    assert rmse(in_true_order(ours.b, ours.item_ids), theirs["Difficulty"]) < 0.03
    assert rmse(in_true_order(ours.a, ours.item_ids), a) < 0.12
    assert rmse(in_true_order(ours.b, ours.item_ids), b) < 0.12


def test_1pl_estimates_one_common_discrimination() -> None:
    rng = np.random.default_rng(5)
    b = rng.normal(0, 1, 30)
    theta = rng.normal(0, 1, 3000)
    answers = rng.random((30, 3000)) < 1 / (1 + np.exp(-1.4 * (theta[None, :] - b[:, None])))
    calibration = calibrate(long_format(answers), "1pl")
    assert np.ptp(calibration.a) == 0 and abs(calibration.a[0] - 1.4) < 0.08
    assert rmse(in_true_order(calibration.b, calibration.item_ids), b) < 0.1


def test_3pl_recovers_guessing_on_a_large_sample() -> None:
    a, b, c, answers = simulate(8000, 30, seed=6, guessing=True)
    calibration = calibrate(long_format(answers), "3pl")
    assert rmse(in_true_order(calibration.b, calibration.item_ids), b) < 0.2
    assert rmse(in_true_order(calibration.a, calibration.item_ids), a) < 0.15
    assert rmse(in_true_order(calibration.c, calibration.item_ids), c) < 0.06
    assert not np.isnan(calibration.se_c).any()


def test_fixed_parameter_calibration_keeps_anchors_and_puts_new_items_on_their_scale() -> None:
    """Anchored items keep their parameters exactly; the new items land on the anchors' scale even though
    the sample's abilities are not standard normal (a free calibration would shift them)."""
    a, b, _, answers = simulate(5000, 50, seed=7, ability_mean=0.7, ability_sd=1.3)
    responses = long_format(answers)
    anchors = {f"i{i}": (float(a[i]), float(b[i]), 0.0) for i in range(40)}
    fixed = calibrate(responses, "2pl", anchors=anchors)
    new = np.array([int(item_id[1:]) >= 40 for item_id in fixed.item_ids])
    order = [int(item_id[1:]) for item_id in fixed.item_ids]
    assert np.array_equal(fixed.a[~new], a[order][~new]) and np.array_equal(fixed.b[~new], b[order][~new])
    assert np.isnan(fixed.se_b[~new]).all() and fixed.anchored[~new].all()
    assert abs(fixed.ability_mean - 0.7) < 0.1 and abs(fixed.ability_sd - 1.3) < 0.1
    assert rmse(fixed.b[new], b[order][new]) < 0.12
    free = calibrate(responses, "2pl")
    assert rmse(free.b[new], b[order][new]) > 0.3  # on the sample's own N(0, 1) scale


def test_item_fit_flags_an_item_that_follows_another_curve() -> None:
    _, _, _, answers = simulate(4000, 20, seed=8)
    rng = np.random.default_rng(9)
    answers[7] = rng.random(4000) < 0.5  # item 7 ignores ability: guessed by everyone
    total = answers.sum(axis=0)
    answers[8] = total < np.median(total)  # item 8 is right for exactly the weaker half
    calibration = calibrate(long_format(answers), "2pl")
    rmsd = in_true_order(calibration.rmsd, calibration.item_ids)
    assert rmsd[8] > 0.12
    assert np.delete(rmsd, [7, 8]).max() < 0.05


def test_malformed_responses_are_refused() -> None:
    with pytest.raises(MalformedResponses, match="no responses"):
        Responses.of([])
    with pytest.raises(MalformedResponses, match="answered i1 twice"):
        Responses.of([("p1", "i1", True), ("p1", "i1", False)])
    with pytest.raises(MalformedResponses, match="unknown model"):
        calibrate(Responses.of([("p1", "i1", True)]), "4pl")  # type: ignore[arg-type]
