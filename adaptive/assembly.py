"""The adaptive test of a test definition: its item pool (bank items and families of its skills, with their
calibrated parameters), its stopping rule, estimator and selection rule.

The live graph and both simulator modes get their `AdaptiveTest` here, so for the same answers they choose
the same items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from adaptive.calibration import as_parameters, parameters_for, starting_parameters
from adaptive.cat import AdaptiveTest
from adaptive.estimation import EAP
from adaptive.pool import ItemPool
from adaptive.stopping import StoppingRule
from domain.skill_graph import blueprint, check_skill_graph, skill_nodes
from questions.source import QuestionSource


@dataclass(frozen=True)
class TestDesign:
    """What fixes an attempt's adaptive rules (hashable, so assembled tests are cached by it)."""

    __test__ = False  # not a pytest class

    skill_order: tuple[str, ...]
    blueprint: tuple[tuple[str, int], ...]
    max_items: int
    min_items: int = 1
    se_target: float | None = None

    @classmethod
    def of(
        cls,
        skill_order: Sequence[str],
        counts: Mapping[str, int],
        max_items: int,
        min_items: int,
        se_target: float | None,
    ) -> TestDesign:
        return cls(
            tuple(skill_order), tuple((skill, counts[skill]) for skill in skill_order), max_items, min_items, se_target
        )

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> TestDesign:
        """From a test as stored or posted: skills (graph), max_questions, min_questions, se_target."""
        nodes = skill_nodes(definition["skills"])
        max_items = int(definition["max_questions"])
        counts = blueprint(nodes, max_items)
        return cls.of(
            check_skill_graph(nodes),
            counts,
            max_items,
            int(definition.get("min_questions", 1)),
            definition.get("se_target"),
        )


def pool_for_test(source: QuestionSource, design: TestDesign) -> ItemPool:
    """Every bank item and family of the test's skills, in skill order (then id order), with its parameters."""
    ids: list[str] = []
    parameters: list[tuple[float, float, float]] = []
    skill_index: list[int] = []
    reusable: list[bool] = []
    for index, skill in enumerate(design.skill_order):
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
        parameters=as_parameters(parameters),
        skill=np.array(skill_index, dtype=np.intp),
        reusable=np.array(reusable, dtype=bool),
        skills=design.skill_order,
        targets=np.array([count for _, count in design.blueprint], dtype=np.float64),
    )


@lru_cache(maxsize=128)
def adaptive_test(source: QuestionSource, design: TestDesign) -> AdaptiveTest:
    """EAP with a standard normal prior, maximum information within the blueprint, the design's stopping."""
    return AdaptiveTest(
        pool=pool_for_test(source, design),
        stopping=StoppingRule(max_items=design.max_items, min_items=design.min_items, se_target=design.se_target),
        estimator=EAP(),
    )
