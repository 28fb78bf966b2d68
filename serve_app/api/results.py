"""Results and reports (docs/reports.md): a test's attempts, one attempt's report (JSON and HTML), the
item analysis with its score histogram (SVG), and every response of a test as CSV."""

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from adaptive.cat import AdaptiveTest
from adaptive.exposure import ExposureControl
from domain import attempt_statistics, item_statistics
from domain.enums import Decision, Role
from domain.errors import NotFound
from domain.scoring import percentage
from persistence import catalog, parameter_sets, results
from persistence.models import Attempt, Test, User
from questions.source import QuestionSource
from serve_app.candidate_views import as_seen_by, refuse_running_report
from serve_app.decisions import Verdict, scored_test, skills_of, verdict
from serve_app.dependencies import CurrentUser, IdInPath, OwnTest, SessionDep, StateDep
from serve_app.histogram_svg import score_histogram_svg
from serve_app.integrity_report import integrity_report
from serve_app.report_pages import candidate_report_page
from serve_app.responses_csv import responses_csv
from serve_app.schemas import (
    Ability,
    AttemptReport,
    AttemptSummary,
    CandidateReport,
    ItemAnalysis,
    ItemStatistics,
    OptionAnalysis,
    ReportResponse,
    ResponseRead,
    ScoreBin,
    SkillResult,
    TimeSummary,
)

router = APIRouter(prefix="/api", tags=["results"])


def attempt_summary(attempt: Attempt, user: User, answered: int, verdict: Verdict) -> AttemptSummary:
    share = percentage(attempt.score, attempt.max_score)
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
        passed=None if verdict.decision is None else verdict.decision is Decision.PASS,
        ability=Ability(theta=attempt.ability_theta, se=attempt.ability_se)
        if attempt.ability_theta is not None
        else None,
        decision=verdict.decision,
        theta_cut=verdict.cut,
        scaled_score=verdict.scaled_score,
        parameter_set_id=attempt.parameter_set_id,
    )


@router.get("/tests/{test_id}/results", response_model=list[AttemptSummary])
async def test_results(test: OwnTest, state: StateDep, session: SessionDep) -> list[AttemptSummary]:
    rows = await results.attempts_of_test(session, test.id)
    sets = await parameter_sets.calibrated_sets(session, (row.attempt.parameter_set_id for row in rows))

    def scored(attempt: Attempt) -> AdaptiveTest:
        return scored_test(state.questions, test, sets.get(attempt.parameter_set_id or 0))

    return [
        attempt_summary(row.attempt, row.user, row.answered, verdict(scored(row.attempt), row.attempt)) for row in rows
    ]


async def visible_attempt(attempt_id: int, user: User, session: AsyncSession) -> tuple[Attempt, User, Test]:
    """The attempt with its responses, candidate and test; staff see their organization's, a candidate only
    their own (anyone else's is not found: nothing reveals that it exists)."""
    attempt, candidate, test = await results.attempt_with_responses(session, attempt_id)
    readable = (
        attempt.user_id == user.id if user.role is Role.CANDIDATE else test.organization_id == user.organization_id
    )
    if not readable:
        raise NotFound(f"attempt {attempt_id} not found")
    return attempt, candidate, test


async def scored_attempt(
    questions: QuestionSource, session: AsyncSession, attempt: Attempt, test: Test
) -> AdaptiveTest:
    sets = await parameter_sets.calibrated_sets(session, [attempt.parameter_set_id])
    return scored_test(questions, test, sets.get(attempt.parameter_set_id or 0))


@router.get("/attempts/{attempt_id}", response_model=AttemptReport)
async def attempt_report(
    attempt_id: IdInPath, user: CurrentUser, state: StateDep, session: SessionDep
) -> AttemptReport:
    attempt, candidate, test = await visible_attempt(attempt_id, user, session)
    scored = await scored_attempt(state.questions, session, attempt, test)
    summary = attempt_summary(attempt, candidate, len(attempt.responses), verdict(scored, attempt))
    responses = [ResponseRead.model_validate(response) for response in attempt.responses]
    fields, seen = as_seen_by(user, test, summary, responses)
    integrity = await integrity_report(user, session, attempt.id, attempt.responses)
    return AttemptReport(**fields, test_title=test.title, responses=seen, integrity=integrity)


async def candidate_report(
    attempt_id: int, user: User, questions: QuestionSource, session: AsyncSession
) -> CandidateReport:
    attempt, candidate, test = await visible_attempt(attempt_id, user, session)
    refuse_running_report(user, test, attempt.status)
    answers = attempt.responses
    names = [str(skill["name"]) for skill in test.skills]
    scored_answers = [r for r in answers if not r.pretest]
    skills = attempt_statistics.skill_results(names, ((r.skill, r.is_correct) for r in scored_answers))
    scored = await scored_attempt(questions, session, attempt, test)
    estimates = {estimate.skill: estimate for estimate in skills_of(scored, answers, names)}
    time = attempt_statistics.time_summary([r.time_taken_s for r in answers])
    summary = attempt_summary(attempt, candidate, len(answers), verdict(scored, attempt))
    fields, responses = as_seen_by(user, test, summary, [ReportResponse.model_validate(r) for r in answers])
    return CandidateReport(
        **fields,
        test_title=test.title,
        passing_score=test.passing_score,
        skills=[
            SkillResult(
                **vars(result),
                theta=estimates[result.skill].theta if result.skill in estimates else None,
                se=estimates[result.skill].se if result.skill in estimates else None,
            )
            for result in skills
        ],
        time=TimeSummary(total_s=time.total_s, mean_s=time.mean_s, per_question_s=list(time.per_question_s)),
        responses=responses,
        integrity=await integrity_report(user, session, attempt.id, answers),
    )


@router.get("/attempts/{attempt_id}/report", response_model=CandidateReport)
async def attempt_report_json(
    attempt_id: IdInPath, user: CurrentUser, state: StateDep, session: SessionDep
) -> CandidateReport:
    return await candidate_report(attempt_id, user, state.questions, session)


@router.get("/attempts/{attempt_id}/report.html", response_class=HTMLResponse)
async def attempt_report_html(
    attempt_id: IdInPath, user: CurrentUser, state: StateDep, session: SessionDep
) -> HTMLResponse:
    return HTMLResponse(candidate_report_page(await candidate_report(attempt_id, user, state.questions, session)))


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


async def attempt_outcomes(session: AsyncSession, test_id: int) -> list[item_statistics.AttemptOutcome]:
    return [
        item_statistics.AttemptOutcome(
            attempt_id=row.attempt.id,
            user_id=row.user.id,
            finished=row.attempt.finished_at is not None,
            percentage=percentage(row.attempt.score, row.attempt.max_score),
            theta=row.attempt.ability_theta,
            se=row.attempt.ability_se,
        )
        for row in await results.attempts_of_test(session, test_id)
    ]


async def item_responses(session: AsyncSession, test_id: int) -> list[item_statistics.ItemResponse]:
    return [
        item_statistics.ItemResponse(
            attempt_id=row.attempt.id,
            user_id=row.user.id,
            item_id=row.response.item_id,
            skill=row.response.skill,
            key=row.response.correct_option,
            selected=row.response.selected_option,
            correct=row.response.is_correct,
            stem=str(row.response.item_snapshot.get("stem", "")),
            options=tuple(
                (str(option.get("id", "")), str(option.get("text", "")))
                for option in row.response.item_snapshot.get("options", [])
            ),
        )
        for row in await results.responses_of_test(session, test_id)
    ]


def score_bins(distribution: tuple[int, ...]) -> list[ScoreBin]:
    width = 100 // item_statistics.SCORE_BINS
    return [
        ScoreBin(low=width * position, high=width * (position + 1), count=count)
        for position, count in enumerate(distribution)
    ]


def item_read(item: item_statistics.ItemStatistics, exposure: ExposureControl | None = None) -> ItemStatistics:
    """One item's statistics; under exposure control also its k and whether it is over the target (an item
    without a k of its own, such as a family variant, has k = 1)."""
    k = dict(exposure.k).get(item.item_id, 1.0) if exposure else None
    return ItemStatistics(
        item_id=item.item_id,
        skill=item.skill,
        stem=item.stem,
        shown=item.shown,
        correct=item.correct,
        facility=round(item.facility, 4),
        option_counts=item.option_counts,
        attempts_seen=item.attempts_seen,
        exposure=round(item.exposure, 4),
        exposure_k=k,
        over_exposure_target=item.exposure > exposure.target if exposure else None,
        point_biserial=_rounded(item.point_biserial),
        upper_facility=_rounded(item.upper_facility),
        lower_facility=_rounded(item.lower_facility),
        discrimination_index=_rounded(item.discrimination_index),
        distractors=[
            OptionAnalysis(
                option=option.option,
                text=option.text,
                count=option.count,
                proportion=round(option.proportion, 4),
                is_key=option.is_key,
                mean_percentage=_rounded(option.mean_percentage, 2),
                attempt_ids=list(option.attempt_ids),
                user_ids=list(option.user_ids),
            )
            for option in item.options
        ],
    )


@router.get("/tests/{test_id}/item-analysis", response_model=ItemAnalysis)
async def item_analysis(test: OwnTest, session: SessionDep) -> ItemAnalysis:
    exposure = catalog.exposure_of(test)
    statistics = item_statistics.analyse(
        await attempt_outcomes(session, test.id), await item_responses(session, test.id)
    )
    return ItemAnalysis(
        test_id=test.id,
        attempts=statistics.attempts,
        responses=statistics.responses,
        finished_attempts=statistics.finished_attempts,
        mean_percentage=_rounded(statistics.mean_percentage, 2),
        sd_percentage=_rounded(statistics.sd_percentage, 2),
        kr20=_rounded(statistics.kr20),
        kr20_items=_rounded(statistics.kr20_items),
        marginal_reliability=_rounded(statistics.marginal_reliability),
        upper_lower_group_size=statistics.group_size,
        score_distribution=score_bins(statistics.score_distribution),
        items=[item_read(item, exposure) for item in statistics.items],
        exposure_target=exposure.target if exposure else None,
    )


@router.get("/tests/{test_id}/score-distribution.svg", response_class=Response)
async def score_distribution_svg(test: OwnTest, session: SessionDep) -> Response:
    finished = [outcome.percentage for outcome in await attempt_outcomes(session, test.id) if outcome.finished]
    distribution = item_statistics.score_distribution(finished)
    svg = score_histogram_svg(f"Score distribution: {test.title}", score_bins(distribution))
    return Response(svg, media_type="image/svg+xml")


@router.get("/tests/{test_id}/responses.csv", response_class=Response)
async def responses_export(test: OwnTest, session: SessionDep) -> Response:
    body = responses_csv(await results.responses_of_test(session, test.id))
    disposition = f'attachment; filename="test-{test.id}-responses.csv"'
    return Response(body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})
