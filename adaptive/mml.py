"""Item calibration by marginal maximum likelihood: Bock and Aitkin's EM algorithm, 1PL, 2PL and 3PL.

The data are long-format responses (person, item, correct), as adaptive tests produce them: each person
answers a few items of a large pool, so nothing here builds a persons x items matrix. Abilities are
integrated out over a fixed quadrature grid:

- E-step: each person's posterior over the grid, from the items they answered; summed per item into the
  expected number of persons `n[i, q]` and of correct answers `r[i, q]` at each node;
- M-step: every item's parameters by Fisher scoring on those expected counts, all items at once.

The scale is set by the ability distribution, standard normal, unless items are anchored: fixed-parameter
calibration keeps the anchors' parameters as given and estimates the others on their scale, with the
ability distribution re-estimated at each cycle from the posteriors (an empirical histogram on the grid,
Kim's "multiple weights updating"), since a standard normal would pull the new items off the anchors'
scale when the calibration sample is not centred on it.

Estimates are Bayes modal by default, with weak priors: log a ~ N(0, 0.5), b ~ N(0, 2) and, in the 3PL,
c ~ Beta(5, 17) (mean 0.23; BILOG-MG's defaults are alike). With thousands of responses per item they
move nothing measurably; they matter for what adaptive data are full of, items answered by a hundred
persons of similar ability, whose maximum-likelihood slope collapses to 0 and difficulty runs off to the
edge of the scale (bench/calibration.py); guessing is barely identified without its prior in samples of a
few thousand. `priors=False` gives plain maximum likelihood. Standard errors are the
square roots of the inverse of each item's information matrix at the last cycle (the expected counts
taken as data, plus the prior's curvature), item by item. Item fit is the RMSD between the observed and
the model's proportion correct at each node, weighted by the persons there (as in PISA, where an RMSD over
0.12 flags an item).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

Model = Literal["1pl", "2pl", "3pl"]
MODELS: tuple[Model, ...] = ("1pl", "2pl", "3pl")
GRID = np.linspace(-5.0, 5.0, 41)
GUESSING_PRIOR = (5.0, 17.0)  # Beta(alpha, beta) of the 3PL's c
SLOPE_PRIOR = (0.0, 0.5)  # log a ~ N(mean, sd)
DIFFICULTY_PRIOR = (0.0, 2.0)  # b ~ N(mean, sd)
A_BOUNDS = (0.05, 6.0)
B_BOUNDS = (-6.0, 6.0)
C_BOUNDS = (1e-4, 0.5)
P_FLOOR = 1e-9

Floats = NDArray[np.float64]


class MalformedResponses(ValueError):
    """The responses cannot be calibrated (the message says why, with the row where there is one)."""


@dataclass(frozen=True)
class Responses:
    """Long-format responses with persons and items numbered densely (every one answered at least once)."""

    person: NDArray[np.int64]
    item: NDArray[np.int64]
    correct: NDArray[np.bool_]
    person_ids: list[str]
    item_ids: list[str]

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str, bool]]) -> Responses:
        persons: dict[str, int] = {}
        items: dict[str, int] = {}
        person, item, correct = [], [], []
        seen: set[tuple[int, int]] = set()
        for row_number, (person_id, item_id, is_correct) in enumerate(rows, start=1):
            p = persons.setdefault(person_id, len(persons))
            i = items.setdefault(item_id, len(items))
            if (p, i) in seen:
                raise MalformedResponses(f"response {row_number}: {person_id} answered {item_id} twice")
            seen.add((p, i))
            person.append(p)
            item.append(i)
            correct.append(bool(is_correct))
        if not person:
            raise MalformedResponses("no responses")
        return cls(
            np.array(person, dtype=np.int64),
            np.array(item, dtype=np.int64),
            np.array(correct, dtype=np.bool_),
            list(persons),
            list(items),
        )

    @property
    def persons(self) -> int:
        return len(self.person_ids)

    @property
    def items(self) -> int:
        return len(self.item_ids)


@dataclass(frozen=True)
class Calibration:
    """Estimated parameters per item, in `item_ids` order; a standard error is NaN where the parameter was
    not estimated (c in the 1PL and 2PL, every parameter of an anchor; a in the 1PL is common to all)."""

    model: Model
    item_ids: list[str]
    a: Floats
    b: Floats
    c: Floats
    se_a: Floats
    se_b: Floats
    se_c: Floats
    n: NDArray[np.int64]
    rmsd: Floats
    anchored: NDArray[np.bool_]
    log_likelihood: float
    cycles: int
    converged: bool
    ability_mean: float = 0.0
    ability_sd: float = 1.0

    def rows(self) -> list[dict[str, object]]:
        """One dict per item: item, a, b, c, se_a, se_b, se_c, n, rmsd, anchored (the CSV's columns)."""
        return [
            {
                "item": item_id,
                "a": float(self.a[i]),
                "b": float(self.b[i]),
                "c": float(self.c[i]),
                "se_a": float(self.se_a[i]),
                "se_b": float(self.se_b[i]),
                "se_c": float(self.se_c[i]),
                "n": int(self.n[i]),
                "rmsd": float(self.rmsd[i]),
                "anchored": bool(self.anchored[i]),
            }
            for i, item_id in enumerate(self.item_ids)
        ]


@dataclass
class _Counts:
    """The E-step's expected counts at the grid's nodes, per item (items x nodes)."""

    n: Floats
    r: Floats
    log_likelihood: float
    ability_weights: Floats


class _Posteriors:
    """The E-step, arranged once for the data: persons x items sparse matrices of the right and the wrong
    answers, so that a person's sum over the items they answered, and an item's sum over the persons who
    answered it, are sparse products (a few passes over the responses, whatever the pool's size)."""

    def __init__(self, responses: Responses) -> None:
        shape = (responses.persons, responses.items)
        right = responses.correct.astype(np.float64)
        self._right = sparse.csr_matrix((right, (responses.person, responses.item)), shape=shape)
        self._wrong = sparse.csr_matrix((1.0 - right, (responses.person, responses.item)), shape=shape)
        self._right_by_item = self._right.T.tocsr()
        self._answered_by_item = (self._right + self._wrong).T.tocsr()

    def counts(self, a: Floats, b: Floats, c: Floats, log_prior: Floats) -> _Counts:
        p = np.clip(_probability(a, b, c), P_FLOOR, 1 - P_FLOOR)  # items x nodes
        log_joint = self._right @ np.log(p) + self._wrong @ np.log1p(-p) + log_prior  # persons x nodes
        peak = log_joint.max(axis=1, keepdims=True)
        joint = np.exp(log_joint - peak)
        marginal = joint.sum(axis=1, keepdims=True)
        posterior = joint / marginal
        n = self._answered_by_item @ posterior
        r = self._right_by_item @ posterior
        return _Counts(n, r, float((np.log(marginal) + peak).sum()), posterior.sum(axis=0))


def _probability(a: Floats, b: Floats, c: Floats) -> Floats:
    return c[:, None] + (1 - c[:, None]) / (1 + np.exp(-a[:, None] * (GRID[None, :] - b[:, None])))


def _gradients(a: Floats, b: Floats, c: Floats) -> tuple[Floats, Floats, Floats, Floats]:
    """P at each node and its derivatives by a, b and c (items x nodes each)."""
    s = 1 / (1 + np.exp(-a[:, None] * (GRID[None, :] - b[:, None])))
    p = c[:, None] + (1 - c[:, None]) * s
    slope = (1 - c[:, None]) * s * (1 - s)
    return p, slope * (GRID[None, :] - b[:, None]), -slope * a[:, None], 1 - s


def _score_and_information(
    counts: _Counts, a: Floats, b: Floats, c: Floats, free: tuple[int, ...], priors: bool
) -> tuple[Floats, Floats]:
    """Per item: the gradient of the expected log-likelihood (plus the log priors) by the free parameters,
    and its expected information matrix plus the priors' curvature (items x k, items x k x k)."""
    p, *derivatives = _gradients(a, b, c)
    p = np.clip(p, P_FLOOR, 1 - P_FLOOR)
    residual = (counts.r - counts.n * p) / (p * (1 - p))
    weight = counts.n / (p * (1 - p))
    chosen = [derivatives[k] for k in free]
    score = np.stack([(residual * d).sum(axis=1) for d in chosen], axis=1)
    information = np.stack([np.stack([(weight * d * e).sum(axis=1) for e in chosen], axis=1) for d in chosen], axis=1)
    if priors and 0 in free:  # log a ~ N(0, sd): the gradient of its log density, and its curvature
        k = free.index(0)
        mean, sd = SLOPE_PRIOR
        score[:, k] += -(np.log(a) - mean) / (sd**2 * a) - 1 / a
        information[:, k, k] += 1 / (sd**2 * a**2)
    if priors and 1 in free:  # b ~ N(0, sd)
        k = free.index(1)
        mean, sd = DIFFICULTY_PRIOR
        score[:, k] += -(b - mean) / sd**2
        information[:, k, k] += 1 / sd**2
    if priors and 2 in free:  # c ~ Beta(alpha, beta)
        k = free.index(2)
        alpha, beta = GUESSING_PRIOR
        score[:, k] += (alpha - 1) / c - (beta - 1) / (1 - c)
        information[:, k, k] += (alpha - 1) / c**2 + (beta - 1) / (1 - c) ** 2
    return score, information


def _solve(information: Floats, score: Floats) -> Floats:
    """Fisher scoring steps, item by item; an item whose information is singular does not move."""
    ridge = 1e-8 * np.eye(information.shape[1])
    try:
        return np.asarray(np.linalg.solve(information + ridge, score[..., None])[..., 0], dtype=np.float64)
    except np.linalg.LinAlgError:
        steps = np.zeros_like(score)
        for i in range(len(score)):
            try:
                steps[i] = np.linalg.solve(information[i] + ridge, score[i])
            except np.linalg.LinAlgError:
                continue
        return steps


def calibrate(
    responses: Responses,
    model: Model = "2pl",
    anchors: Mapping[str, tuple[float, float, float]] | None = None,
    starting: Mapping[str, tuple[float, float, float]] | None = None,
    max_cycles: int = 500,
    tolerance: float = 1e-4,
    priors: bool = True,
) -> Calibration:
    """Estimate the items' parameters; `anchors` (item id -> a, b, c) stay fixed and set the scale;
    `priors=False` gives plain maximum likelihood (no prior on a, b or c)."""
    if model not in MODELS:
        raise MalformedResponses(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    anchors = anchors or {}
    items = responses.items
    anchored = np.array([item_id in anchors for item_id in responses.item_ids], dtype=np.bool_)
    start = {**(starting or {}), **anchors}
    initial = [start.get(item_id, (1.0, 0.0, 0.2 if model == "3pl" else 0.0)) for item_id in responses.item_ids]
    a, b, c = (np.array(column, dtype=np.float64) for column in zip(*initial, strict=True))
    if model != "3pl":
        c = np.where(anchored, c, 0.0)
    b = np.where(anchored, b, _starting_difficulty(responses))
    free = {"1pl": (1,), "2pl": (0, 1), "3pl": (0, 1, 2)}[model]
    posteriors = _Posteriors(responses)
    log_prior = -0.5 * GRID**2
    log_prior -= np.log(np.exp(log_prior).sum())
    estimated = ~anchored
    converged, cycles = False, 0
    counts = posteriors.counts(a, b, c, log_prior)
    while cycles < max_cycles:
        cycles += 1
        before = np.stack([a, b, c])
        score, information = _score_and_information(counts, a, b, c, free, priors)
        step = _solve(information, score)
        for k, parameter in enumerate(free):
            moved = np.clip(step[:, k], -1.0, 1.0)
            if parameter == 0:
                a = np.where(estimated, np.clip(a + moved, *A_BOUNDS), a)
            elif parameter == 1:
                b = np.where(estimated, np.clip(b + moved, *B_BOUNDS), b)
            else:
                c = np.where(estimated, np.clip(c + moved, *C_BOUNDS), c)
        if model == "1pl" and estimated.any():
            a = np.where(estimated, _common_slope_fit(counts, a, b, c, estimated)[0], a)
        if anchored.any():
            weights = counts.ability_weights / counts.ability_weights.sum()
            log_prior = np.log(np.maximum(weights, 1e-300))
        counts = posteriors.counts(a, b, c, log_prior)
        if np.abs(np.stack([a, b, c]) - before).max() < tolerance:
            converged = True
            break
    se = np.full((3, items), np.nan)
    _, information = _score_and_information(counts, a, b, c, free, priors)
    covariance = _inverse(information)
    for k, parameter in enumerate(free):
        se[parameter] = np.where(estimated, np.sqrt(np.maximum(covariance[:, k, k], 0.0)), np.nan)
    if model == "1pl" and estimated.any():
        se[0] = np.where(estimated, _common_slope_fit(counts, a, b, c, estimated)[1], np.nan)
    weights = np.exp(log_prior) / np.exp(log_prior).sum()
    mean = float((weights * GRID).sum())
    return Calibration(
        model=model,
        item_ids=list(responses.item_ids),
        a=a,
        b=b,
        c=c,
        se_a=se[0],
        se_b=se[1],
        se_c=se[2],
        n=np.bincount(responses.item, minlength=items).astype(np.int64),
        rmsd=_rmsd(counts, a, b, c),
        anchored=anchored,
        log_likelihood=counts.log_likelihood,
        cycles=cycles,
        converged=converged,
        ability_mean=mean,
        ability_sd=float(np.sqrt((weights * (GRID - mean) ** 2).sum())),
    )


def _starting_difficulty(responses: Responses) -> Floats:
    """The logit of each item's proportion wrong: a start that is on the right side of zero."""
    answered = np.bincount(responses.item, minlength=responses.items)
    right = np.bincount(responses.item, weights=responses.correct, minlength=responses.items)
    proportion = np.clip((right + 0.5) / (answered + 1.0), 0.02, 0.98)
    return np.clip(np.log((1 - proportion) / proportion), *B_BOUNDS)


def _common_slope_fit(
    counts: _Counts, a: Floats, b: Floats, c: Floats, estimated: NDArray[np.bool_]
) -> tuple[float, float]:
    """The 1PL's one discrimination after a Fisher step on the items it is common to, and its standard error."""
    score, information = _score_and_information(counts, a, b, c, (0,), False)
    total = max(float(information[estimated, 0, 0].sum()), 1e-12)
    step = float(np.clip(score[estimated, 0].sum() / total, -1.0, 1.0))
    return float(np.clip(a[estimated][0] + step, *A_BOUNDS)), 1 / np.sqrt(total)


def _inverse(information: Floats) -> Floats:
    covariance = np.full_like(information, np.nan)
    for i, matrix in enumerate(information):
        try:
            covariance[i] = np.linalg.inv(matrix)
        except np.linalg.LinAlgError:
            continue
    return covariance


def _rmsd(counts: _Counts, a: Floats, b: Floats, c: Floats) -> Floats:
    p = _probability(a, b, c)
    total = counts.n.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        squared = np.where(counts.n > 0, (counts.r - counts.n * p) ** 2 / counts.n, 0.0).sum(axis=1)
        return np.sqrt(squared / total)
