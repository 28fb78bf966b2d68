"""A test's exposure control: a randomesque start and Sympson-Hetter parameters, as computed for the test by
simulation (simulation.exposure, `assess simulate --exposure-target`) and stored with it.

Sympson-Hetter gives each item a probability k of being administered when it comes up as the most
informative; an item refused is not considered again for that candidate. The k are set by simulation so that
no item is given to more than `target` (r_max) of candidates. The randomesque start picks the first item at
random among the k most informative at the starting estimate, so that not everyone opens on the same item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from adaptive.pool import ItemPool
from adaptive.selection import SelectionRule

DEFAULT_FIRST_RANDOMESQUE = 5


@dataclass(frozen=True)
class ExposureControl:
    target: float  # r_max: the largest share of candidates an item should reach
    first_randomesque: int
    k: tuple[tuple[str, float], ...]  # (pool entry id, Sympson-Hetter k) for every k under 1

    def selection_for(self, pool: ItemPool) -> SelectionRule:
        values = dict(self.k)
        k = np.array([1.0 if pool.reusable[i] else values.get(entry, 1.0) for i, entry in enumerate(pool.ids)])
        return SelectionRule(first_randomesque=self.first_randomesque, exposure_k=k)

    def as_json(self, **details: Any) -> dict[str, Any]:
        """As stored on the test (with details of how it was computed: candidates, rounds, when)."""
        return {
            "target": self.target,
            "first_randomesque": self.first_randomesque,
            "k": dict(self.k),
            **details,
        }

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> ExposureControl:
        k = stored.get("k") or {}
        return cls(
            target=float(stored["target"]),
            first_randomesque=int(stored.get("first_randomesque", DEFAULT_FIRST_RANDOMESQUE)),
            k=tuple(sorted((str(entry), float(value)) for entry, value in k.items() if float(value) < 1.0)),
        )
