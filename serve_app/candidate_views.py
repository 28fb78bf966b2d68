"""What a candidate may read of their own attempt over REST: the test's feedback policy (domain.feedback)
applied to the attempt and report views. Staff read everything.

The key, the explanation and the bank item's id go unless the policy is `full`; under `none` whether each
answer was right goes too, with what would tell it (the ability after each answer, and the running score
and estimate of an attempt still in progress). A candidate is never told which items were unscored
pretest items.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from domain.enums import AttemptStatus, FeedbackPolicy, Role
from domain.errors import Conflict
from domain.feedback import shows_correctness, shows_key
from persistence.models import Test, User
from serve_app.schemas import AttemptSummary

View = TypeVar("View", bound=BaseModel)

KEY_FIELDS = ("item_id", "correct_option", "explanation")
CORRECTNESS_FIELDS = ("is_correct", "theta_after", "se_after")
RUNNING_RESULT_FIELDS = ("score", "percentage", "ability", "scaled_score", "decision", "passed")


def _hidden(view: View, names: list[str]) -> View:
    return view.model_copy(update={name: None for name in names if name in type(view).model_fields})


def response_seen_by_candidate(response: View, policy: FeedbackPolicy) -> View:
    names = ["pretest"]
    if not shows_key(policy):
        names += KEY_FIELDS
    if not shows_correctness(policy):
        names += CORRECTNESS_FIELDS
    return _hidden(response, names)


def _hides_results_so_far(status: AttemptStatus, policy: FeedbackPolicy) -> bool:
    """Under `none`, an attempt's results so far would tell its candidate right from wrong."""
    return status is AttemptStatus.IN_PROGRESS and not shows_correctness(policy)


def summary_seen_by_candidate(summary: AttemptSummary, policy: FeedbackPolicy) -> dict[str, Any]:
    """The summary's fields as the candidate may see them (with `feedback` saying which policy applied)."""
    hidden = list(RUNNING_RESULT_FIELDS) if _hides_results_so_far(summary.status, policy) else []
    seen = _hidden(summary, hidden)
    return {**seen.model_dump(), "feedback": policy}


def refuse_running_report(reader: User, test: Test, status: AttemptStatus) -> None:
    """The full report of an attempt in progress would tell its candidate, skill by skill, what the policy
    `none` keeps from them: they read it once the attempt is finished."""
    if reader.role is Role.CANDIDATE and _hides_results_so_far(status, test.feedback):
        raise Conflict("this test shows your report once the attempt is finished")


def as_seen_by(
    reader: User, test: Test, summary: AttemptSummary, responses: list[View]
) -> tuple[dict[str, Any], list[View]]:
    """An attempt's summary fields and responses as this reader may see them."""
    if reader.role is not Role.CANDIDATE:
        return summary.model_dump(), responses
    policy = test.feedback
    return summary_seen_by_candidate(summary, policy), [response_seen_by_candidate(r, policy) for r in responses]
