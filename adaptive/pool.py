"""The item pool of a test: what the adaptive engine may choose from, and what is eligible next.

A pool entry is either a fixed item (given at most once per candidate) or a reusable template (a
parametric family: every use yields a fresh variant). Templates of a skill become eligible only once
that skill's fixed items are used up. Skills are indexed in the test's skill order (prerequisites first),
which is also how content-balancing ties are broken.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from adaptive.irt import ItemParameters
from adaptive.selection import most_behind_skill

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class ItemPool:
    ids: tuple[str, ...]
    parameters: ItemParameters
    skill: IntArray  # skill index of each entry
    reusable: BoolArray
    skills: tuple[str, ...]
    targets: NDArray[np.float64]  # blueprint questions per skill (content-balancing weights)

    @classmethod
    def of_parameters(cls, parameters: ItemParameters) -> ItemPool:
        """A pool of fixed items with no content constraint (one skill): for research on raw parameters."""
        count = len(parameters)
        return cls(
            ids=tuple(str(index) for index in range(count)),
            parameters=parameters,
            skill=np.zeros(count, dtype=np.intp),
            reusable=np.zeros(count, dtype=bool),
            skills=("all",),
            targets=np.ones(1),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, entry_id: str) -> int:
        return self.ids.index(entry_id)

    def stored_entry(self, pool_entry: int | None, item_id: str, family: str | None) -> int | None:
        """The entry a stored response came from: its recorded pool entry, or (rows stored before revision
        0002) the entry named by its item id or its family; None for an item this pool does not hold."""
        if pool_entry is not None and 0 <= pool_entry < len(self.ids):
            return pool_entry
        for name in (item_id, family):
            if name in self.ids:
                return self.ids.index(name)
        return None

    def skill_of(self, entry: int) -> str:
        return self.skills[int(self.skill[entry])]

    def parameters_of(self, entry: int) -> tuple[float, float, float]:
        return float(self.parameters.a[entry]), float(self.parameters.b[entry]), float(self.parameters.c[entry])

    def next_skill(self, given_per_skill: ArrayLike) -> IntArray:
        """The skill furthest behind its blueprint share, per candidate."""
        return most_behind_skill(given_per_skill, self.targets)  # type: ignore[return-value]

    def eligible(self, used: ArrayLike, skill: ArrayLike) -> BoolArray:
        """(candidates, entries): fixed items of `skill` not used yet, or the skill's templates once those
        run out; where the skill has neither, anything still available."""
        used_mask = np.atleast_2d(np.asarray(used, dtype=bool))
        in_skill = self.skill[None, :] == np.atleast_1d(np.asarray(skill))[:, None]
        eligible = in_skill & ~used_mask & ~self.reusable
        short = ~eligible.any(axis=1)
        if short.any():  # the common case (fixed items left in the skill) stops here
            templates = in_skill[short] & self.reusable
            fresh = ~used_mask[short] & ~self.reusable
            anywhere = np.where(fresh.any(axis=1, keepdims=True), fresh, self.reusable[None, :])
            eligible[short] = np.where(templates.any(axis=1, keepdims=True), templates, anywhere)
        return eligible
