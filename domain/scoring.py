"""How an attempt is scored: one rule for the live result, the stored result and every report."""

from __future__ import annotations

from domain.enums import FinishReason


def max_score_for(reason: FinishReason, answered: int, max_questions: int) -> int:
    """A test stopped by precision is scored out of what was asked; any other end, out of its full length
    (running out of time does not shrink the denominator)."""
    return answered if reason is FinishReason.PRECISION_REACHED else max_questions


def percentage(score: int, max_score: int) -> float:
    return round(100 * score / max_score, 2) if max_score else 0.0
