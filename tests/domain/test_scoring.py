from domain.enums import FinishReason
from domain.scoring import max_score_for, percentage


def test_only_precision_shrinks_the_denominator() -> None:
    assert max_score_for(FinishReason.PRECISION_REACHED, answered=12, max_questions=20) == 12
    for reason in (FinishReason.COMPLETED, FinishReason.TIME_EXPIRED, FinishReason.ABANDONED):
        assert max_score_for(reason, answered=12, max_questions=20) == 20


def test_percentage() -> None:
    assert percentage(2, 3) == 66.67
    assert percentage(0, 0) == 0.0
