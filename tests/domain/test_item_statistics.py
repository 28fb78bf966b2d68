"""The report formulas on a 5-candidate x 4-item data set, each figure worked out by hand below.

The matrix (1 = right), keys I1 a, I2 b, I3 c, I4 d; every attempt finished, scored out of 4:

         I1 I2 I3 I4 | X  percentage
    A     1  1  1  1 | 4  100
    B     1  1  1  0 | 3   75
    C     1  0  1  0 | 2   50
    D     0  1  0  0 | 1   25
    E     1  0  0  0 | 1   25

The adaptive variant: E never saw I4 (answered 3, still 1 right, 25% out of 4 as time ran out).
"""

from __future__ import annotations

import math

import pytest

from domain.attempt_statistics import SkillResult, skill_results, time_summary
from domain.item_statistics import (
    AttemptOutcome,
    ItemResponse,
    analyse,
    group_size,
    kr20,
    marginal_reliability,
    pearson,
    point_biserial,
    score_bin,
    score_distribution,
    score_matrix,
    upper_lower_groups,
)

MATRIX = {
    1: (1, 1, 1, 1),  # A
    2: (1, 1, 1, 0),  # B
    3: (1, 0, 1, 0),  # C
    4: (0, 1, 0, 0),  # D
    5: (1, 0, 0, 0),  # E
}
ITEMS = ("I1", "I2", "I3", "I4")
KEYS = {"I1": "a", "I2": "b", "I3": "c", "I4": "d"}
WRONG = {  # who chose which wrong option
    (4, "I1"): "b",
    (3, "I2"): "a",
    (5, "I2"): "a",
    (4, "I3"): "d",
    (5, "I3"): "a",
    (2, "I4"): "a",
    (3, "I4"): "a",
    (4, "I4"): "b",
    (5, "I4"): "c",  # the full matrix only: in the adaptive variant E never saw I4
}
PERCENT = {1: 100.0, 2: 75.0, 3: 50.0, 4: 25.0, 5: 25.0}
THETA = {1: (1.0, 0.3), 2: (0.5, 0.3), 3: (0.0, 0.4), 4: (-0.5, 0.4), 5: (-1.0, 0.5)}
OPTIONS = tuple((letter, f"option {letter}") for letter in "abcd")


def outcomes() -> list[AttemptOutcome]:
    return [AttemptOutcome(a, 100 + a, True, PERCENT[a], *THETA[a]) for a in MATRIX]


def responses(unseen: frozenset[tuple[int, str]] = frozenset()) -> list[ItemResponse]:
    made = []
    for attempt, row in MATRIX.items():
        for item, right in zip(ITEMS, row, strict=True):
            if (attempt, item) in unseen:
                continue
            key = KEYS[item]
            selected = key if right else WRONG[attempt, item]
            made.append(
                ItemResponse(attempt, 100 + attempt, item, "s", key, selected, bool(right), f"Stem {item}", OPTIONS)
            )
    return made


ADAPTIVE = frozenset({(5, "I4")})


def test_pearson_and_its_undefined_cases() -> None:
    # x = (0, 1, 2), y = (0, 2, 4): perfectly linear.
    assert pearson([0, 1, 2], [0, 2, 4]) == pytest.approx(1.0)
    assert pearson([0, 1, 2], [4, 2, 0]) == pytest.approx(-1.0)
    assert pearson([1], [3]) is None  # a single pair
    assert pearson([1, 1, 1], [1, 2, 3]) is None  # x does not vary
    assert pearson([0, 1], [5, 5]) is None  # y does not vary


def test_corrected_point_biserial_on_the_full_matrix() -> None:
    matrix = score_matrix(responses(), MATRIX)
    # I1: x = (1,1,1,0,1), rest = X - x = (3,2,1,1,0); mean x .8, mean rest 1.4,
    # cov = mean(x rest) - .8 * 1.4 = 6/5 - 1.12 = .08; var x = .16; var rest = 15/5 - 1.96 = 1.04;
    # r = .08 / sqrt(.16 * 1.04) = 1 / sqrt(26) = 0.196116.
    assert point_biserial(matrix, "I1") == pytest.approx(1 / math.sqrt(26))
    # I2: x = (1,1,0,1,0), rest = (3,2,2,0,1); cov = 5/5 - .6 * 1.6 = .04; var x = .24;
    # var rest = 18/5 - 2.56 = 1.04; r = .04 / sqrt(.24 * 1.04) = 0.080064.
    assert point_biserial(matrix, "I2") == pytest.approx(0.04 / math.sqrt(0.24 * 1.04))
    # I3: x = (1,1,1,0,0), rest = (3,2,1,1,1); cov = 6/5 - .6 * 1.6 = .24; var rest = 16/5 - 2.56 = .64;
    # r = .24 / sqrt(.24 * .64) = sqrt(.375) = 0.612372.
    assert point_biserial(matrix, "I3") == pytest.approx(math.sqrt(0.375))
    # I4: x = (1,0,0,0,0), rest = (3,3,2,1,1); cov = 3/5 - .2 * 2 = .2; var x = .16; var rest = 24/5 - 4 = .8;
    # r = .2 / sqrt(.128) = 0.559017.
    assert point_biserial(matrix, "I4") == pytest.approx(0.2 / math.sqrt(0.128))


def test_point_biserial_counts_only_the_attempts_that_saw_the_item() -> None:
    matrix = score_matrix(responses(ADAPTIVE), MATRIX)
    # I4 seen by A-D only: x = (1,0,0,0), rest = (3,3,2,1); cov = 3/4 - .25 * 2.25 = .1875;
    # var x = .1875; var rest = 23/4 - 5.0625 = .6875; r = sqrt(.1875 / .6875) = 0.522233.
    assert point_biserial(matrix, "I4") == pytest.approx(math.sqrt(0.1875 / 0.6875))
    # I1 still seen by all five; E's rest is 1 - 1 = 0 as before: unchanged.
    assert point_biserial(matrix, "I1") == pytest.approx(1 / math.sqrt(26))


def test_upper_and_lower_groups() -> None:
    # ceil(.27 n), at most n // 2: n = 5 -> ceil(1.35) = 2; n = 2 -> 1; n = 1 -> 0 (no groups).
    assert [group_size(n) for n in (0, 1, 2, 3, 4, 5, 10, 100)] == [0, 0, 1, 1, 2, 2, 3, 27]
    # Ranked 100, 75, 50, 25 (D, id 4), 25 (E, id 5): upper A, B; lower D, E.
    assert upper_lower_groups(outcomes()) == ([1, 2], [4, 5])
    # An unfinished attempt is not ranked.
    assert upper_lower_groups([*outcomes(), AttemptOutcome(6, 106, False, 0.0)]) == ([1, 2], [4, 5])


def test_kr20_on_the_full_matrix() -> None:
    # p = (.8, .6, .6, .2), sum p q = .16 + .24 + .24 + .16 = .8; X = (4,3,2,1,1), mean 2.2,
    # var X = (3.24 + .64 + .04 + 1.44 + 1.44) / 5 = 1.36; KR-20 = 4/3 * (1 - .8 / 1.36) = 28/51 = 0.549020.
    value, k = kr20(score_matrix(responses(), MATRIX))
    assert k == 4
    assert value == pytest.approx(28 / 51)


def test_kr20_generalised_to_attempts_that_saw_different_items() -> None:
    # k = (4+4+4+4+3)/5 = 3.8. p among those who saw: I1 .8, I2 .6, I3 .6, I4 1/4 = .25;
    # p q = .16, .24, .24, .1875. A-D: .8275 each; E (no I4): .64; V = (4 * .8275 + .64) / 5 = .79.
    # X = (4,3,2,1,1): var 1.36. KR-20 = 3.8/2.8 * (1 - .79/1.36) = 2.166 / 3.808 = 0.568803.
    value, k = kr20(score_matrix(responses(ADAPTIVE), MATRIX))
    assert k == pytest.approx(3.8)
    assert value == pytest.approx(3.8 * 0.57 / (2.8 * 1.36))


def test_kr20_undefined_cases() -> None:
    assert kr20({}) == (None, None)
    assert kr20({1: {"I1": 1, "I2": 0}}) == (None, 2)  # a single attempt
    assert kr20({1: {"I1": 1}, 2: {"I1": 0}}) == (None, 1)  # k = 1
    assert kr20({1: {"I1": 1, "I2": 0}, 2: {"I1": 0, "I2": 1}})[0] is None  # totals 1 and 1: no variance


def test_marginal_reliability() -> None:
    # theta (1, .5, 0, -.5, -1): mean 0, var = 2.5 / 5 = .5; se^2 (.09, .09, .16, .16, .25): mean .15;
    # 1 - .15 / .5 = .7.
    assert marginal_reliability(outcomes()) == pytest.approx(0.7)
    assert marginal_reliability(outcomes()[:1]) is None  # one attempt
    same = [AttemptOutcome(a, a, True, 50.0, 0.2, 0.3) for a in (1, 2, 3)]
    assert marginal_reliability(same) is None  # theta does not vary
    unfinished = [AttemptOutcome(a, a, False, 0.0, float(a), 0.3) for a in (1, 2, 3)]
    assert marginal_reliability(unfinished) is None


def test_score_bins() -> None:
    assert [score_bin(p) for p in (0, 9.99, 10, 19.99, 50, 89.99, 90, 99.99, 100)] == [0, 0, 1, 1, 5, 8, 9, 9, 9]
    assert score_distribution([100, 75, 50, 25, 25]) == (0, 0, 2, 0, 0, 1, 0, 1, 0, 1)
    assert score_distribution([]) == (0,) * 10


def test_analyse_the_adaptive_data_set() -> None:
    in_progress = AttemptOutcome(6, 106, False, 0.0)
    extra = ItemResponse(6, 106, "I1", "s", "a", "c", False, "Stem I1", OPTIONS)
    stats = analyse([*outcomes(), in_progress], [*responses(ADAPTIVE), extra])
    assert (stats.attempts, stats.finished_attempts, stats.responses, stats.group_size) == (6, 5, 20, 2)
    # Percentages 100, 75, 50, 25, 25: mean 55; deviations 45, 20, -5, -30, -30, squares sum 4250,
    # population SD sqrt(850) = 29.154759.
    assert stats.mean_percentage == 55.0
    assert stats.sd_percentage == pytest.approx(math.sqrt(850))
    assert stats.kr20 == pytest.approx(3.8 * 0.57 / (2.8 * 1.36))
    assert stats.kr20_items == pytest.approx(3.8)
    assert stats.marginal_reliability == pytest.approx(0.7)
    assert stats.score_distribution == (0, 0, 2, 0, 0, 1, 0, 1, 0, 1)
    items = {item.item_id: item for item in stats.items}
    i1, i4 = items["I1"], items["I4"]
    # I1: 6 responses (F's too), right 4; seen by 6 of 6 attempts.
    assert (i1.shown, i1.correct, i1.facility, i1.attempts_seen, i1.exposure) == (6, 4, 4 / 6, 6, 1.0)
    assert i1.option_counts == {"a": 4, "b": 1, "c": 1}
    # Upper A, B both right: 1; lower D wrong, E right: .5; D = .5.
    assert (i1.upper_facility, i1.lower_facility, i1.discrimination_index) == (1.0, 0.5, 0.5)
    # I4: seen by A-D, 4 of 6 attempts; upper A right, B wrong: .5; lower: only D saw it, wrong: 0.
    assert (i4.attempts_seen, i4.exposure, i4.upper_facility, i4.lower_facility) == (4, 4 / 6, 0.5, 0.0)
    assert i4.discrimination_index == 0.5
    assert items["I3"].discrimination_index == 1.0  # upper 2/2, lower 0/2
    # I1's options: a (key) A, B, C, E: mean (100 + 75 + 50 + 25) / 4 = 62.5; b D: 25; c F (unfinished):
    # no mean; d nobody.
    table = {option.option: option for option in i1.options}
    assert [option.option for option in i1.options] == ["a", "b", "c", "d"]
    assert (table["a"].count, table["a"].is_key, table["a"].mean_percentage) == (4, True, 62.5)
    assert table["a"].proportion == pytest.approx(4 / 6)
    assert (table["a"].attempt_ids, table["a"].user_ids) == ((1, 2, 3, 5), (101, 102, 103, 105))
    assert (table["b"].count, table["b"].is_key, table["b"].mean_percentage, table["b"].attempt_ids) == (
        1,
        False,
        25.0,
        (4,),
    )
    assert (table["c"].count, table["c"].mean_percentage, table["c"].user_ids) == (1, None, (106,))
    assert (table["d"].count, table["d"].proportion, table["d"].mean_percentage, table["d"].text) == (
        0,
        0.0,
        None,
        "option d",
    )


def test_item_seen_by_nobody_in_a_group() -> None:
    # Only A (upper) and C (middle) saw I9: the lower group has no one to compare, so no index.
    seen = [
        ItemResponse(1, 101, "I9", "s", "a", "a", True),
        ItemResponse(3, 103, "I9", "s", "a", "b", False),
    ]
    [item] = analyse(outcomes(), seen).items
    assert (item.upper_facility, item.lower_facility, item.discrimination_index) == (1.0, None, None)
    # Two pairs, but every rest score is 0 (I9 was each attempt's only item): undefined.
    assert item.point_biserial is None


def test_a_single_attempt_and_no_attempts() -> None:
    one = analyse([outcomes()[0]], [r for r in responses() if r.attempt_id == 1])
    assert (one.finished_attempts, one.mean_percentage, one.sd_percentage, one.group_size) == (1, 100.0, 0.0, 0)
    assert (one.kr20, one.marginal_reliability) == (None, None)
    assert all(item.point_biserial is None and item.discrimination_index is None for item in one.items)
    none = analyse([], [])
    assert (none.attempts, none.finished_attempts, none.mean_percentage, none.sd_percentage) == (0, 0, None, None)
    assert (none.kr20, none.kr20_items, none.items) == (None, None, ())


def test_skill_results_and_times() -> None:
    answers = [("python", True), ("sql", False), ("python", False), ("docker", True)]
    assert skill_results(["python", "sql", "go"], answers) == [
        SkillResult("python", 2, 1, 50.0),
        SkillResult("sql", 1, 0, 0.0),
        SkillResult("go", 0, 0, None),  # in the test, never asked
        SkillResult("docker", 1, 1, 100.0),  # asked, not in the test's list
    ]
    # 12.5 + 30 + 45.5 + 20 = 108, mean 27.
    summary = time_summary([12.5, 30.0, 45.5, 20.0])
    assert (summary.total_s, summary.mean_s, summary.per_question_s) == (108.0, 27.0, (12.5, 30.0, 45.5, 20.0))
    assert time_summary([]).mean_s is None
