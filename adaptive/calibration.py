"""IRT parameters for every bank item and parametric family: a calibrated set where staff activated one,
starting parameters for the rest.

Until responses are calibrated (adaptive.mml, `assess calibrate`), parameters start from written difficulty. Written
difficulty 1..5 (entry .. expert) maps to b = -2, -1, 0, 1, 2 on the logistic metric; bank items start with
a = 1.0 and parametric variants (generated, less reviewed) with a = 0.8; c = 0.2 for four options (a little
under 1/4, as candidates rarely guess uniformly). A calibrated set (`CalibratedSet`, one version of the
database's parameter sets) replaces them item by item; items it does not cover keep their starting values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class CalibratedSet:
    """One stored parameter set: item or family id -> (a, b, c). A set never changes once stored, so two are
    the same when their ids are (and a test assembled with one is cached by its id alone)."""

    id: int
    values: Mapping[str, tuple[float, float, float]] = field(compare=False, hash=False, repr=False)

    def get(self, entry_id: str, default: tuple[float, float, float]) -> tuple[float, float, float]:
        return self.values.get(entry_id, default)


def parameters_of(items: Sequence[Item]) -> ItemParameters:
    return as_parameters([starting_parameters(item) for item in items])


def as_parameters(rows: Sequence[tuple[float, float, float]]) -> ItemParameters:
    a, b, c = (np.array(column, dtype=np.float64) for column in zip(*rows, strict=True))
    return ItemParameters.of(a, b, c)
