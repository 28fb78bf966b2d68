import pytest

from domain.ability import estimate_ability, rasch_difficulty


def test_the_prior_alone_is_standard_normal() -> None:
    theta, se = estimate_ability([])
    assert theta == pytest.approx(0.0, abs=1e-3)
    assert se == pytest.approx(1.0, abs=0.01)


def test_correct_answers_raise_and_wrong_answers_lower_the_estimate() -> None:
    up, up_se = estimate_ability([(3, True)] * 5)
    down, _ = estimate_ability([(3, False)] * 5)
    assert up > 0.5 and down < -0.5
    assert up == pytest.approx(-down, abs=1e-3)  # symmetric around an average item
    assert up_se < 1.0


def test_harder_items_answered_correctly_say_more() -> None:
    easy, _ = estimate_ability([(1, True)] * 3)
    hard, _ = estimate_ability([(5, True)] * 3)
    assert hard > easy
    assert rasch_difficulty(3) == 0.0


def test_more_answers_shrink_the_standard_error() -> None:
    _, few = estimate_ability([(3, True), (3, False)])
    _, many = estimate_ability([(3, True), (3, False)] * 10)
    assert many < few
