"""Results: a test's attempts, one attempt's report with every response, and per-item statistics."""

from fastapi import APIRouter

from domain.enums import Role
from domain.errors import NotFound
from domain.scoring import percentage
from persistence import catalog, results
from persistence.models import Attempt, Test, User
from serve_app.dependencies import CurrentUser, IdInPath, SessionDep, StaffUser
from serve_app.schemas import (
    Ability,
    AttemptReport,
    AttemptSummary,
    ItemAnalysis,
    ItemStatistics,
    ResponseRead,
)

router = APIRouter(prefix="/api", tags=["results"])


def attempt_summary(attempt: Attempt, user: User, test: Test, answered: int) -> AttemptSummary:
    share = percentage(attempt.score, attempt.max_score)
    finished = attempt.finished_at is not None
    return AttemptSummary(
        attempt_id=attempt.id,
        test_id=attempt.test_id,
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        number=attempt.number,
        status=attempt.status,
        started_at=attempt.started_at,
        deadline=attempt.deadline,
        finished_at=attempt.finished_at,
        finish_reason=attempt.finish_reason,
        answered=answered,
        score=attempt.score,
        max_score=attempt.max_score,
        percentage=share,
        passed=share >= test.passing_score if finished else None,
        ability=Ability(theta=attempt.ability_theta, se=attempt.ability_se)
        if attempt.ability_theta is not None
        else None,
    )


@router.get("/tests/{test_id}/results", response_model=list[AttemptSummary])
async def test_results(test_id: IdInPath, _: StaffUser, session: SessionDep) -> list[AttemptSummary]:
    test = await catalog.get_test(session, test_id)
    return [
        attempt_summary(row.attempt, row.user, test, row.answered)
        for row in await results.attempts_of_test(session, test_id)
    ]


@router.get("/attempts/{attempt_id}", response_model=AttemptReport)
async def attempt_report(attempt_id: IdInPath, user: CurrentUser, session: SessionDep) -> AttemptReport:
    attempt, candidate, test = await results.attempt_with_responses(session, attempt_id)
    if user.role is Role.CANDIDATE and attempt.user_id != user.id:
        raise NotFound(f"attempt {attempt_id} not found")  # do not reveal that someone else's exists
    summary = attempt_summary(attempt, candidate, test, len(attempt.responses))
    return AttemptReport(
        **summary.model_dump(),
        test_title=test.title,
        responses=[ResponseRead.model_validate(response) for response in attempt.responses],
    )


@router.get("/tests/{test_id}/item-analysis", response_model=ItemAnalysis)
async def item_analysis(test_id: IdInPath, _: StaffUser, session: SessionDep) -> ItemAnalysis:
    await catalog.get_test(session, test_id)
    attempts, responses, tallies = await results.item_tallies(session, test_id)
    return ItemAnalysis(
        test_id=test_id,
        attempts=attempts,
        responses=responses,
        items=[
            ItemStatistics(
                item_id=tally.item_id,
                skill=tally.skill,
                stem=tally.stem,
                shown=tally.shown,
                correct=tally.correct,
                facility=round(tally.facility, 4),
                option_counts=dict(tally.option_counts),
            )
            for tally in tallies
        ],
    )
