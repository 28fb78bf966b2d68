"""The adaptive test of a test definition: its item pool (bank items and families of its skills, with the
active calibrated parameters or their starting values), its stopping rule (with the pass mark on theta),
estimator and selection rule (with the exposure control computed for the test).

The live graph and both simulator modes get their `AdaptiveTest` here, so for the same answers they choose
the same items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from adaptive.calibration import CalibratedSet, as_parameters, parameters_for, starting_parameters
from adaptive.cat import AdaptiveTest
from adaptive.decision import cut_from_percent
from adaptive.estimation import EAP
from adaptive.exposure import ExposureControl
from adaptive.pool import ItemPool
from adaptive.selection import SelectionRule
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
    passing_score: float = 60.0  # percent correct: gives the cut when `theta_cut` is None
    theta_cut: float | None = None
    classify: bool = False
    parameters: CalibratedSet | None = None  # None: starting parameters throughout
    exposure: ExposureControl | None = None

    @classmethod
    def of(cls, skill_order: Sequence[str], counts: Mapping[str, int], max_items: int, **rules: Any) -> TestDesign:
        """`rules`: min_items, se_target, passing_score, theta_cut, classify, parameters, exposure."""
        return cls(tuple(skill_order), tuple((skill, counts[skill]) for skill in skill_order), max_items, **rules)

    @classmethod
    def from_definition(
        cls,
        definition: Mapping[str, Any],
        parameters: CalibratedSet | None = None,
        exposure: ExposureControl | None = None,
    ) -> TestDesign:
        """From a test as stored or posted: skills (graph), max_questions, min_questions, se_target,
        passing_score, theta_cut, classification_stop."""
        nodes = skill_nodes(definition["skills"])
        max_items = int(definition["max_questions"])
        counts = blueprint(nodes, max_items)
        return cls.of(
            check_skill_graph(nodes),
            counts,
            max_items,
            min_items=int(definition.get("min_questions", 1)),
            se_target=definition.get("se_target"),
            passing_score=float(definition.get("passing_score", 60.0)),
            theta_cut=definition.get("theta_cut"),
            classify=bool(definition.get("classification_stop", False)),
            parameters=parameters,
            exposure=exposure,
        )


def pool_for_test(source: QuestionSource, design: TestDesign) -> ItemPool:
    """Every bank item and family of the test's skills, in skill order (then id order), with its parameters:
    the calibrated set's where it has them, the starting ones otherwise."""
    calibrated = design.parameters
    ids: list[str] = []
    parameters: list[tuple[float, float, float]] = []
    skill_index: list[int] = []
    reusable: list[bool] = []
    for index, skill in enumerate(design.skill_order):
        for item in sorted((item for item in source.items if item.skill == skill), key=lambda item: item.id):
            ids.append(item.id)
            starting = starting_parameters(item)
            parameters.append(calibrated.get(item.id, starting) if calibrated else starting)
            skill_index.append(index)
            reusable.append(False)
        for family in sorted((family for family in source.families if family.skill == skill), key=lambda f: f.name):
            ids.append(family.name)
            starting = parameters_for(family.difficulty, family=True)
            parameters.append(calibrated.get(family.name, starting) if calibrated else starting)
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


def cut_of(pool: ItemPool, design: TestDesign) -> float:
    """The pass mark on theta: set directly, or the passing score carried through the pool's TCC."""
    return design.theta_cut if design.theta_cut is not None else cut_from_percent(pool, design.passing_score)


@lru_cache(maxsize=128)
def adaptive_test(source: QuestionSource, design: TestDesign) -> AdaptiveTest:
    """EAP with a standard normal prior, maximum information within the blueprint (under the test's exposure
    control), the design's stopping rule with its cut on theta."""
    pool = pool_for_test(source, design)
    stopping = StoppingRule(
        max_items=design.max_items,
        min_items=design.min_items,
        se_target=design.se_target,
        cut=cut_of(pool, design),
        classify=design.classify,
    )
    selection = design.exposure.selection_for(pool) if design.exposure else SelectionRule()
    return AdaptiveTest(pool=pool, stopping=stopping, estimator=EAP(), selection=selection)
