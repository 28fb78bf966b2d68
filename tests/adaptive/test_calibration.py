import numpy as np

from adaptive.calibration import DIFFICULTY_TO_B, parameters_of, starting_parameters
from adaptive.irt import probability
from questions.bank import load_bank
from questions.source import QuestionSource


def test_written_difficulty_orders_the_items() -> None:
    bank = load_bank()
    parameters = parameters_of(bank)
    assert len(parameters) == len(bank)
    p_average = probability(0.0, parameters)
    by_level = {level: p_average[[item.difficulty == level for item in bank]].mean() for level in range(1, 6)}
    assert all(by_level[level] > by_level[level + 1] for level in range(1, 5))  # harder, less often right
    assert DIFFICULTY_TO_B[3] == 0.0


def test_families_start_less_discriminating_than_reviewed_items() -> None:
    variant = QuestionSource().families[0].generate(5)
    item = load_bank()[0]
    assert starting_parameters(variant)[0] < starting_parameters(item)[0]
    assert np.all(parameters_of([variant, item]).c == 0.2)
