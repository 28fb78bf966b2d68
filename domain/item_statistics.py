"""Classical test statistics of a test's responses, as in Moodle's quiz statistics (docs/reports.md).

Pure functions over plain records: no database, no web. Two populations are used, and docs/reports.md
says which figure uses which:
- every attempt (in progress or not): exposure and the item tallies (shown, correct, facility, option
  counts), so that these match what candidates have actually answered;
- finished attempts only: everything that needs an attempt's total (discrimination, reliability, the
  score distribution, a distractor's mean percentage), since an unfinished attempt has no total yet.

Variances are population variances (divide by N) throughout, so that KR-20 reduces to its textbook form.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

UPPER_LOWER_SHARE = 0.27  # Kelley's 27%: the usual upper and lower groups
SCORE_BINS = 10


@dataclass(frozen=True)
class AttemptOutcome:
    """One attempt of the test: its stored percentage and ability (meaningful once finished)."""

    attempt_id: int
    user_id: int
    finished: bool
    percentage: float
    theta: float | None = None
    se: float | None = None


@dataclass(frozen=True)
class ItemResponse:
    """One answered question: which attempt, which item as shown, the key and the choice."""

    attempt_id: int
    user_id: int
    item_id: str
    skill: str
    key: str
    selected: str
    correct: bool
    stem: str = ""
    options: tuple[tuple[str, str], ...] = ()  # (option id, text) as shown


@dataclass(frozen=True)
class OptionStatistics:
    option: str
    text: str
    count: int
    proportion: float
    is_key: bool
    mean_percentage: float | None  # over the finished attempts among those who chose it
    attempt_ids: tuple[int, ...]
    user_ids: tuple[int, ...]


@dataclass(frozen=True)
class ItemStatistics:
    item_id: str
    skill: str
    stem: str
    shown: int
    correct: int
    facility: float
    option_counts: dict[str, int]
    attempts_seen: int
    exposure: float
    point_biserial: float | None
    upper_facility: float | None
    lower_facility: float | None
    discrimination_index: float | None
    options: tuple[OptionStatistics, ...]


@dataclass(frozen=True)
class TestStatistics:
    __test__ = False  # not a pytest class

    attempts: int
    finished_attempts: int
    responses: int
    mean_percentage: float | None
    sd_percentage: float | None
    kr20: float | None
    kr20_items: float | None  # k: the mean number of items a finished attempt answered
    marginal_reliability: float | None
    group_size: int  # attempts in each of the upper and lower groups
    score_distribution: tuple[int, ...]
    items: tuple[ItemStatistics, ...]


# A finished attempt's 0/1 score on each item it answered.
ScoreMatrix = Mapping[int, Mapping[str, int]]


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def variance(values: Sequence[float]) -> float | None:
    """Population variance; None for no values."""
    centre = mean(values)
    if centre is None:
        return None
    return sum((value - centre) ** 2 for value in values) / len(values)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r; None under two pairs or when either side does not vary."""
    if len(xs) != len(ys):
        raise ValueError("pearson needs pairs")
    if len(xs) < 2:
        return None
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    spread_x = sum((x - mean_x) ** 2 for x in xs)
    spread_y = sum((y - mean_y) ** 2 for y in ys)
    # Below this the spread is rounding noise, not variation: the correlation is undefined.
    if spread_x <= 1e-12 or spread_y <= 1e-12:
        return None
    return covariance / math.sqrt(spread_x * spread_y)


def score_matrix(responses: Iterable[ItemResponse], finished: Iterable[int]) -> dict[int, dict[str, int]]:
    """attempt -> item -> 0/1 for the finished attempts (those without responses get an empty row); an
    item answered twice in one attempt counts once, with its first answer."""
    matrix: dict[int, dict[str, int]] = {attempt_id: {} for attempt_id in finished}
    for response in responses:
        row = matrix.get(response.attempt_id)
        if row is not None:
            row.setdefault(response.item_id, int(response.correct))
    return matrix


def point_biserial(matrix: ScoreMatrix, item_id: str) -> float | None:
    """Corrected item-total correlation: the item's 0/1 score against the rest score (correct answers on
    the attempt's other items), over the attempts that answered the item."""
    item_scores: list[float] = []
    rest_scores: list[float] = []
    for row in matrix.values():
        if item_id in row:
            item_scores.append(row[item_id])
            rest_scores.append(sum(row.values()) - row[item_id])
    return pearson(item_scores, rest_scores)


def group_size(finished: int) -> int:
    """ceil(27% of the finished attempts), at most half of them so the groups never overlap."""
    return min(math.ceil(UPPER_LOWER_SHARE * finished), finished // 2)


def upper_lower_groups(outcomes: Sequence[AttemptOutcome]) -> tuple[list[int], list[int]]:
    """The finished attempts ranked by percentage (highest first, ties: lower attempt id first); the
    first and last `group_size` of them."""
    ranked = sorted((o for o in outcomes if o.finished), key=lambda o: (-o.percentage, o.attempt_id))
    size = group_size(len(ranked))
    if size == 0:
        return [], []
    return [o.attempt_id for o in ranked[:size]], [o.attempt_id for o in ranked[-size:]]


def group_facility(matrix: ScoreMatrix, group: Iterable[int], item_id: str) -> float | None:
    """Proportion correct among the group's attempts that answered the item; None if none did."""
    scores = [matrix[attempt_id][item_id] for attempt_id in group if item_id in matrix.get(attempt_id, {})]
    return sum(scores) / len(scores) if scores else None


def kr20(matrix: ScoreMatrix) -> tuple[float | None, float | None]:
    """(KR-20, k) generalised to attempts that answered different items (docs/reports.md):
    k = mean items answered, p_i = facility of item i among the attempts that answered it, V = mean over
    attempts of the sum of p_i q_i over the items the attempt answered, and
    KR-20 = k / (k - 1) * (1 - V / var(total correct)). With every attempt answering every item this is
    the textbook KR-20. None under two attempts with answers, k <= 1, or totals that do not vary."""
    rows = [row for row in matrix.values() if row]
    if not rows:
        return None, None
    k = sum(len(row) for row in rows) / len(rows)
    seen: dict[str, int] = defaultdict(int)
    right: dict[str, int] = defaultdict(int)
    for row in rows:
        for item_id, score in row.items():
            seen[item_id] += 1
            right[item_id] += score
    item_variance = {item_id: (right[item_id] / n) * (1 - right[item_id] / n) for item_id, n in seen.items()}
    mean_item_variance = sum(sum(item_variance[item_id] for item_id in row) for row in rows) / len(rows)
    total_variance = variance([sum(row.values()) for row in rows])
    if len(rows) < 2 or k <= 1 or total_variance is None or total_variance <= 1e-12:
        return None, k
    return k / (k - 1) * (1 - mean_item_variance / total_variance), k


def marginal_reliability(outcomes: Iterable[AttemptOutcome]) -> float | None:
    """1 - mean(se^2) / var(theta) over finished attempts with an ability and its SE; None under two such
    attempts or when theta does not vary."""
    estimates = [(o.theta, o.se) for o in outcomes if o.finished and o.theta is not None and o.se is not None]
    spread = variance([theta for theta, _ in estimates])
    if len(estimates) < 2 or spread is None or spread <= 1e-12:
        return None
    return 1 - sum(se * se for _, se in estimates) / len(estimates) / spread


def score_bin(percentage: float) -> int:
    """0-10 -> 0, ..., 90-100 -> 9; each bin holds its lower bound, the last also 100."""
    return min(max(int(percentage // (100 / SCORE_BINS)), 0), SCORE_BINS - 1)


def score_distribution(percentages: Iterable[float]) -> tuple[int, ...]:
    counts = [0] * SCORE_BINS
    for value in percentages:
        counts[score_bin(value)] += 1
    return tuple(counts)


def option_statistics(item: Sequence[ItemResponse], outcomes: Mapping[int, AttemptOutcome]) -> list[OptionStatistics]:
    """Every option as shown (then any other choice seen), with who chose it. Counts and proportions are
    over all the item's responses; the mean percentage over the finished attempts among the choosers."""
    texts: dict[str, str] = {}
    for response in item:
        for option_id, text in response.options:
            texts.setdefault(option_id, text)
    for response in sorted(item, key=lambda r: r.selected):
        texts.setdefault(response.selected, "")
    keys = {response.key for response in item}
    table = []
    for option_id, text in texts.items():
        chose = [response for response in item if response.selected == option_id]
        outcome_of = [outcomes.get(r.attempt_id) for r in chose]
        finished = [outcome.percentage for outcome in outcome_of if outcome is not None and outcome.finished]
        table.append(
            OptionStatistics(
                option=option_id,
                text=text,
                count=len(chose),
                proportion=len(chose) / len(item) if item else 0.0,
                is_key=option_id in keys,
                mean_percentage=mean(finished),
                attempt_ids=tuple(r.attempt_id for r in chose),
                user_ids=tuple(r.user_id for r in chose),
            )
        )
    return table


def analyse(outcomes: Sequence[AttemptOutcome], responses: Sequence[ItemResponse]) -> TestStatistics:
    """Every figure of the item-analysis report; items ordered by skill, then id."""
    by_attempt = {outcome.attempt_id: outcome for outcome in outcomes}
    finished = [outcome for outcome in outcomes if outcome.finished]
    matrix = score_matrix(responses, (outcome.attempt_id for outcome in finished))
    upper, lower = upper_lower_groups(outcomes)
    by_item: dict[str, list[ItemResponse]] = defaultdict(list)
    for response in responses:
        by_item[response.item_id].append(response)
    items = []
    for item_id, item in sorted(by_item.items(), key=lambda pair: (pair[1][0].skill, pair[0])):
        correct = sum(response.correct for response in item)
        seen_by = len({response.attempt_id for response in item})
        upper_p, lower_p = group_facility(matrix, upper, item_id), group_facility(matrix, lower, item_id)
        counts: dict[str, int] = defaultdict(int)
        for response in item:
            counts[response.selected] += 1
        items.append(
            ItemStatistics(
                item_id=item_id,
                skill=item[0].skill,
                stem=item[0].stem,
                shown=len(item),
                correct=correct,
                facility=correct / len(item),
                option_counts=dict(counts),
                attempts_seen=seen_by,
                exposure=seen_by / len(outcomes) if outcomes else 0.0,
                point_biserial=point_biserial(matrix, item_id),
                upper_facility=upper_p,
                lower_facility=lower_p,
                discrimination_index=upper_p - lower_p if upper_p is not None and lower_p is not None else None,
                options=tuple(option_statistics(item, by_attempt)),
            )
        )
    percentages = [outcome.percentage for outcome in finished]
    spread = variance(percentages)
    reliability, k = kr20(matrix)
    return TestStatistics(
        attempts=len(outcomes),
        finished_attempts=len(finished),
        responses=len(responses),
        mean_percentage=mean(percentages),
        sd_percentage=math.sqrt(spread) if spread is not None else None,
        kr20=reliability,
        kr20_items=k,
        marginal_reliability=marginal_reliability(outcomes),
        group_size=len(upper),
        score_distribution=score_distribution(percentages),
        items=tuple(items),
    )
