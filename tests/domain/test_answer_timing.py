"""When an answer counts as far faster than its item's median (domain/answer_timing.py)."""

from domain.answer_timing import FAST_ANSWER_RATIO, MIN_RESPONSES_FOR_MEDIAN, ItemTiming, is_fast


def test_an_answer_under_a_quarter_of_the_median_is_fast() -> None:
    timing = ItemTiming.of([40.0] * MIN_RESPONSES_FOR_MEDIAN)
    assert timing == ItemTiming(40.0, MIN_RESPONSES_FOR_MEDIAN)
    assert is_fast(40.0 * FAST_ANSWER_RATIO - 0.1, timing) is True
    assert is_fast(40.0 * FAST_ANSWER_RATIO, timing) is False
    assert is_fast(60.0, timing) is False


def test_an_item_with_too_few_responses_tells_nothing() -> None:
    assert ItemTiming.of([]) is None
    assert is_fast(0.1, None) is None
    assert is_fast(0.1, ItemTiming.of([60.0] * (MIN_RESPONSES_FOR_MEDIAN - 1))) is None


def test_the_median_resists_a_few_outliers() -> None:
    times = [30.0] * 18 + [3600.0, 0.5]
    assert ItemTiming.of(times) == ItemTiming(30.0, 20)
