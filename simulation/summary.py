"""The figures researchers look at after a run: recovery, length, precision, exposure and overlap."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from adaptive.pool import ItemPool
from simulation.outcome import Outcome, Reason
from simulation.personas import Persona

BAND_EDGES = (-np.inf, -2.0, -1.0, 0.0, 1.0, 2.0, np.inf)


@dataclass(frozen=True)
class Recovery:
    group: str
    candidates: int
    bias: float
    rmse: float
    mean_length: float
    mean_se: float
    reached_se_target: float  # share of the group stopped by the SE target


@dataclass(frozen=True)
class Exposure:
    max_rate: float  # the largest share of candidates that saw one fixed item
    mean_rate: float
    unused_items: int
    fixed_items: int
    template_uses: int  # family variants given (each one fresh, so not counted as exposure)
    overlap_rate: float  # expected share of a test's items another candidate also saw


@dataclass(frozen=True)
class Summary:
    overall: Recovery
    by_band: list[Recovery]
    by_persona: list[Recovery]
    exposure: Exposure

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def summarize(outcome: Outcome, pool: ItemPool) -> Summary:
    bands = np.digitize(outcome.true_theta, BAND_EDGES[1:-1])
    by_band = [
        recovery(outcome, bands == index, _band_name(index))
        for index in range(len(BAND_EDGES) - 1)
        if np.any(bands == index)
    ]
    by_persona = [
        recovery(outcome, outcome.persona == persona, persona.name.lower())
        for persona in Persona
        if np.any(outcome.persona == persona)
    ]
    return Summary(recovery(outcome, np.ones(outcome.size, bool), "all"), by_band, by_persona, exposure(outcome, pool))


def recovery(outcome: Outcome, rows: NDArray[np.bool_], group: str) -> Recovery:
    error = outcome.estimate[rows] - outcome.true_theta[rows]
    return Recovery(
        group=group,
        candidates=int(rows.sum()),
        bias=_round(error.mean()),
        rmse=_round(np.sqrt(np.mean(error**2))),
        mean_length=_round(outcome.length[rows].mean()),
        mean_se=_round(outcome.se[rows].mean()),
        reached_se_target=_round(np.mean(outcome.reason[rows] == Reason.PRECISION)),
    )


def exposure(outcome: Outcome, pool: ItemPool) -> Exposure:
    given = outcome.items[outcome.items >= 0]
    counts = np.bincount(given, minlength=len(pool))
    fixed = counts[~pool.reusable]
    rates = fixed / outcome.size
    # Over all pairs of candidates, the items they share: sum over items of C(n_i, 2) / C(N, 2); divided by
    # the mean length it is the overlap rate, which stays meaningful for variable-length tests.
    pairs = outcome.size * (outcome.size - 1) / 2
    shared_per_pair = float(np.sum(fixed * (fixed - 1) / 2) / pairs) if pairs else 0.0
    mean_length = float(outcome.length.mean()) or 1.0
    return Exposure(
        max_rate=_round(rates.max(initial=0.0)),
        mean_rate=_round(rates.mean() if rates.size else 0.0),
        unused_items=int(np.sum(fixed == 0)),
        fixed_items=int(fixed.size),
        template_uses=int(counts[pool.reusable].sum()),
        overlap_rate=_round(shared_per_pair / mean_length),
    )


def _band_name(index: int) -> str:
    low, high = BAND_EDGES[index], BAND_EDGES[index + 1]
    if np.isinf(low):
        return f"theta <= {high:g}"
    if np.isinf(high):
        return f"theta > {low:g}"
    return f"{low:g} < theta <= {high:g}"


def _round(value: float) -> float:
    return round(float(value), 4)
