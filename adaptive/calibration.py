"""Starting IRT parameters for items that have no response data yet, from their written difficulty.

Written difficulty 1..5 (entry .. expert) maps to b = -2, -1, 0, 1, 2 on the logistic metric; bank items
start with a = 1.0 and parametric variants (generated, less reviewed) with a = 0.8; c = 0.2 for four options
(a little under 1/4, as candidates rarely guess uniformly). Live responses can re-estimate these later: the
`items` table keeps irt_a/irt_b/irt_c per item.
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


def starting_parameters(item: Item) -> tuple[float, float, float]:
    a = FAMILY_DISCRIMINATION if item.family else BANK_DISCRIMINATION
    return a, DIFFICULTY_TO_B[item.difficulty], FOUR_OPTION_GUESSING


def parameters_of(items: Sequence[Item]) -> ItemParameters:
    a, b, c = (np.array(column, dtype=np.float64) for column in zip(*map(starting_parameters, items), strict=True))
    return ItemParameters.of(a, b, c)
