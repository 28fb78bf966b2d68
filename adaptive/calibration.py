"""Calibrated item pools: IRT parameters for every bank item and parametric family, and the pool of a test.

Items have no response data yet, so their parameters start from their written difficulty. Written
difficulty 1..5 (entry .. expert) maps to b = -2, -1, 0, 1, 2 on the logistic metric; bank items start with
a = 1.0 and parametric variants (generated, less reviewed) with a = 0.8; c = 0.2 for four options (a little
under 1/4, as candidates rarely guess uniformly). The `items` table keeps irt_a/irt_b/irt_c per item, so
parameters re-estimated from live responses can replace these later (docs/adaptive.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from adaptive.irt import ItemParameters
from adaptive.pool import ItemPool
from questions.items import Item
from questions.source import QuestionSource

DIFFICULTY_TO_B = {1: -2.0, 2: -1.0, 3: 0.0, 4: 1.0, 5: 2.0}
BANK_DISCRIMINATION = 1.0
FAMILY_DISCRIMINATION = 0.8
FOUR_OPTION_GUESSING = 0.2


def parameters_for(difficulty: int, family: bool) -> tuple[float, float, float]:
    a = FAMILY_DISCRIMINATION if family else BANK_DISCRIMINATION
    return a, DIFFICULTY_TO_B[difficulty], FOUR_OPTION_GUESSING


def starting_parameters(item: Item) -> tuple[float, float, float]:
    return parameters_for(item.difficulty, family=item.family is not None)


def parameters_of(items: Sequence[Item]) -> ItemParameters:
    return _as_parameters([starting_parameters(item) for item in items])


def pool_for_test(source: QuestionSource, skill_order: Sequence[str], blueprint: Mapping[str, int]) -> ItemPool:
    """Every bank item and family of the test's skills, in skill order (then id order), with its parameters.

    The live graph and the simulator both build their pool here, so they choose from the same entries."""
    ids: list[str] = []
    parameters: list[tuple[float, float, float]] = []
    skill_index: list[int] = []
    reusable: list[bool] = []
    for index, skill in enumerate(skill_order):
        for item in sorted((item for item in source.items if item.skill == skill), key=lambda item: item.id):
            ids.append(item.id)
            parameters.append(starting_parameters(item))
            skill_index.append(index)
            reusable.append(False)
        for family in sorted((family for family in source.families if family.skill == skill), key=lambda f: f.name):
            ids.append(family.name)
            parameters.append(parameters_for(family.difficulty, family=True))
            skill_index.append(index)
            reusable.append(True)
    return ItemPool(
        ids=tuple(ids),
        parameters=_as_parameters(parameters),
        skill=np.array(skill_index, dtype=np.intp),
        reusable=np.array(reusable, dtype=bool),
        skills=tuple(skill_order),
        targets=np.array([blueprint[skill] for skill in skill_order], dtype=np.float64),
    )


def _as_parameters(rows: Sequence[tuple[float, float, float]]) -> ItemParameters:
    a, b, c = (np.array(column, dtype=np.float64) for column in zip(*rows, strict=True))
    return ItemParameters.of(a, b, c)
