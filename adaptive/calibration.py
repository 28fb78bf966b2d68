"""Starting IRT parameters for every bank item and parametric family.

Items have no response data yet, so their parameters start from their written difficulty. Written
difficulty 1..5 (entry .. expert) maps to b = -2, -1, 0, 1, 2 on the logistic metric; bank items start with
a = 1.0 and parametric variants (generated, less reviewed) with a = 0.8; c = 0.2 for four options (a little
under 1/4, as candidates rarely guess uniformly). The `items` table keeps irt_a/irt_b/irt_c per item, so
parameters re-estimated from live responses can replace these later (docs/adaptive.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from adaptive.irt import ItemParameters
from questions.items import Item

DIFFICULTY_TO_B = {1: -2.0, 2: -1.0, 3: 0.0, 4: 1.0, 5: 2.0}
BANK_DISCRIMINATION = 1.0
FAMILY_DISCRIMINATION = 0.8
FOUR_OPTION_GUESSING = 0.2


def parameters_for(difficulty: int, family: bool) -> tuple[float, float, float]:
    a = FAMILY_DISCRIMINATION if family else BANK_DISCRIMINATION
    return a, DIFFICULTY_TO_B[difficulty], FOUR_OPTION_GUESSING


def difficulty_for_b(b: float) -> int:
    """The written difficulty whose starting b is nearest to `b` (what a generated item is asked to be)."""
    return min(DIFFICULTY_TO_B, key=lambda difficulty: abs(DIFFICULTY_TO_B[difficulty] - b))


def starting_parameters(item: Item) -> tuple[float, float, float]:
    return parameters_for(item.difficulty, family=item.family is not None)


def parameters_of(items: Sequence[Item]) -> ItemParameters:
    return as_parameters([starting_parameters(item) for item in items])


def as_parameters(rows: Sequence[tuple[float, float, float]]) -> ItemParameters:
    a, b, c = (np.array(column, dtype=np.float64) for column in zip(*rows, strict=True))
    return ItemParameters.of(a, b, c)
