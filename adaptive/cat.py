"""An adaptive test as a step function over a batch of candidates: choose, record, stop.

The live graph runs it for one candidate (a batch of one, kept by the session and replayed from the stored
answers only when a session is rebuilt), the `fast` simulator for thousands at once; both go through
`choose` and `record`, so for the same answers they give the same items.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from adaptive.decision import ScoredResponse, SkillEstimate, skill_estimates
from adaptive.estimation import EAP, GridEstimator
from adaptive.irt import Array, GridTables
from adaptive.pool import ItemPool
from adaptive.selection import IndexArray, SelectionRule, cap_exposure
from adaptive.stopping import StoppingRule


@dataclass
class CatState:
    """Where each candidate of a batch stands; arrays have one row per candidate."""

    log_likelihood: Array  # (candidates, grid)
    given: NDArray[np.int32]  # (candidates, max items): pool entry given at each step, -1 beyond
    right: NDArray[np.bool_]  # (candidates, max items): whether each step's answer was correct
    used: NDArray[np.bool_]  # (candidates, pool entries)
    refused: NDArray[np.bool_]  # (candidates, pool entries): came up and lost the Sympson-Hetter lottery
    given_per_skill: NDArray[np.int32]  # (candidates, skills)
    answered: NDArray[np.int32]
    correct: NDArray[np.int32]
    theta: Array
    se: Array

    def __len__(self) -> int:
        return int(self.answered.shape[0])

    def copy(self) -> CatState:
        """An independent copy (a live step records on a copy, kept only once the step is stored)."""
        return CatState(**{part.name: getattr(self, part.name).copy() for part in fields(self)})


@dataclass(frozen=True)
class AdaptiveTest:
    pool: ItemPool
    stopping: StoppingRule
    estimator: GridEstimator = field(default_factory=EAP)
    selection: SelectionRule = field(default_factory=SelectionRule)
    information_grid: Array = field(default_factory=lambda: np.linspace(-4.0, 4.0, 801))

    @cached_property
    def _likelihood_tables(self) -> GridTables:
        return GridTables.of(self.pool.parameters, self.estimator.grid)

    @cached_property
    def _information_tables(self) -> GridTables:
        return GridTables.of(self.pool.parameters, self.information_grid)

    def information(self, theta: ArrayLike) -> Array:
        """Information of every pool entry at each theta (candidates, entries), from the table."""
        tables = self._information_tables
        return tables.information[tables.nearest(theta)]

    def begin(self, candidates: int) -> CatState:
        """Everyone starts at the estimate from no answers (the prior mean: a fixed start)."""
        skills = len(self.pool.skills)
        state = CatState(
            log_likelihood=np.zeros((candidates, self.estimator.grid.size)),
            given=np.full((candidates, self.stopping.max_items), -1, dtype=np.int32),
            right=np.zeros((candidates, self.stopping.max_items), dtype=bool),
            used=np.zeros((candidates, len(self.pool)), dtype=bool),
            refused=np.zeros((candidates, len(self.pool)), dtype=bool),
            given_per_skill=np.zeros((candidates, skills), dtype=np.int32),
            answered=np.zeros(candidates, dtype=np.int32),
            correct=np.zeros(candidates, dtype=np.int32),
            theta=np.zeros(candidates),
            se=np.zeros(candidates),
        )
        self._estimate(state, np.arange(candidates))
        return state

    def replay(self, given: list[int], correct: list[bool], key: int = 0) -> CatState:
        """One candidate's state after the answers so far (a live session rebuilt from its stored rows). Under
        Sympson-Hetter each step's choice is drawn again, for the items it refused (`key` as it was live)."""
        state = self.begin(1)
        for entry, was_correct in zip(given, correct, strict=True):
            if self.selection.lottery:
                self.choose(state, np.array([0]), keys=np.array([key]))
            self.record(state, np.array([0]), np.array([entry]), np.array([was_correct]))
        return state

    def choose(
        self,
        state: CatState,
        rows: IndexArray,
        keys: ArrayLike | None = None,
        capacity: ArrayLike | None = None,
    ) -> IndexArray:
        """The next pool entry for each candidate in `rows`: the most informative eligible one for the
        current estimate (under the selection rule), within the skill furthest behind the blueprint.
        `keys` (one per row: the attempt id live, a per-candidate key in the simulator) seed the selection
        rule's draws with the step. `capacity` (per entry) applies an r_max exposure cap across this batch."""
        skill = self.pool.next_skill(state.given_per_skill[rows])
        eligible = self.pool.eligible(state.used[rows], skill)
        open_items = eligible & ~state.refused[rows]
        eligible = np.where(open_items.any(axis=1, keepdims=True), open_items, eligible)
        info = self.information(state.theta[rows])
        chosen, refused = self.selection.choose(info, eligible, keys, state.answered[rows])
        if self.selection.lottery:
            state.refused[rows] |= refused
        if capacity is not None:
            chosen = cap_exposure(info, eligible, chosen, capacity)
        return chosen

    def record(self, state: CatState, rows: IndexArray, chosen: IndexArray, correct: ArrayLike) -> None:
        """Add one answer per candidate in `rows` and re-estimate their ability."""
        right = np.asarray(correct, dtype=bool)
        state.log_likelihood[rows] += self._likelihood_tables.log_likelihood[right.astype(np.intp), chosen]
        state.given[rows, state.answered[rows]] = chosen
        state.right[rows, state.answered[rows]] = right
        state.used[rows, chosen] = True
        state.given_per_skill[rows, self.pool.skill[chosen]] += 1
        state.answered[rows] += 1
        state.correct[rows] += right
        self._estimate(state, rows)

    def skill_estimates(self, state: CatState, row: int = 0) -> list[SkillEstimate]:
        """One candidate's ability per skill, from each skill's answers alone (in the pool's skill order)."""
        steps = int(state.answered[row])
        entries, right = state.given[row, :steps], state.right[row, :steps]
        return skill_estimates(
            self.pool.skills,
            (
                ScoredResponse(self.pool.skill_of(int(entry)), self.pool.parameters_of(int(entry)), bool(correct))
                for entry, correct in zip(entries, right, strict=True)
            ),
        )

    def finished(self, state: CatState, deadline_passed: ArrayLike = False) -> NDArray[np.bool_]:
        return self.stopping.should_stop(state.answered, state.se, deadline_passed, state.theta)  # type: ignore[return-value]

    def _estimate(self, state: CatState, rows: IndexArray) -> None:
        given = state.given[rows]

        def test_information(theta: Array) -> Array:
            tables = self._information_tables
            values = tables.information[tables.nearest(theta)[:, None], np.maximum(given, 0)]
            return np.where(given >= 0, values, 0.0).sum(axis=1)  # type: ignore[no-any-return]

        theta, se = self.estimator.estimate_on_grid(
            state.log_likelihood[rows], state.answered[rows], state.correct[rows], information_at=test_information
        )
        state.theta[rows] = theta
        state.se[rows] = se
