"""Data access for tests and the candidates eligible to take them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from adaptive.exposure import ExposureControl
from domain.enums import TEST_TRANSITIONS, ApplicationStatus, AttemptStatus, Role, TestStatus
from domain.errors import Conflict, InvalidRequest, NotFound
from domain.scheduling import WindowState, attempt_deadline, window_state
from persistence.models import Attempt, CandidateApplication, Test, User

# Fields that shape what candidates are asked: fixed once a test is published.
CONTENT_FIELDS = frozenset(
    {
        "title",
        "job_description",
        "skills",
        "max_questions",
        "min_questions",
        "se_target",
        "generator",
        "duration_minutes",
        "passing_score",
        "theta_cut",
        "classification_stop",
        "pretest_items",
        "feedback",
        "starts_at",
    }
)
# Fields a recruiter may still adjust on a published test (extend the window, allow a retake).
PUBLISHED_FIELDS = frozenset({"ends_at", "max_attempts"})


# What a stored test's adaptive rules are made from (adaptive.assembly.TestDesign.from_definition).
DEFINITION_FIELDS = (
    "skills",
    "max_questions",
    "min_questions",
    "se_target",
    "duration_minutes",
    "passing_score",
    "theta_cut",
    "classification_stop",
    "job_description",
)


def definition_of(test: Test) -> dict[str, Any]:
    """The stored test as a definition (the POST /api/tests fields its adaptive rules are made from)."""
    return {name: getattr(test, name) for name in DEFINITION_FIELDS}


_exposures: dict[tuple[int, str], ExposureControl] = {}  # one object per test and computation, per process


def exposure_of(test: Test) -> ExposureControl | None:
    """The exposure control stored on the test (None without one), shared by every reader in this process:
    live sessions of a test hold one object between them."""
    if not test.exposure:
        return None
    key = (test.id, str(test.exposure.get("computed_at")))
    if key not in _exposures:
        _exposures[key] = ExposureControl.from_json(test.exposure)
    return _exposures[key]


async def create_test(session: AsyncSession, fields: dict[str, Any], created_by: User) -> Test:
    """A draft of the creator's organization."""
    test = Test(
        **fields, status=TestStatus.DRAFT, created_by_id=created_by.id, organization_id=created_by.organization_id
    )
    session.add(test)
    await session.flush()
    return test


async def get_test(session: AsyncSession, test_id: int, organization_id: int | None = None) -> Test:
    """The test; with `organization_id`, only one of that organization (another's is not found)."""
    test = await session.get(Test, test_id)
    if test is None or organization_id not in (None, test.organization_id):
        raise NotFound(f"test {test_id} not found")
    return test


async def organizations_of(session: AsyncSession, test_ids: Iterable[int]) -> dict[int, int]:
    """The organization of each of these tests that exists."""
    rows = await session.execute(select(Test.id, Test.organization_id).where(Test.id.in_(set(test_ids))))
    return {test_id: organization_id for test_id, organization_id in rows.all()}


async def list_tests(session: AsyncSession, organization_id: int, status: TestStatus | None = None) -> Sequence[Test]:
    query = select(Test).where(Test.organization_id == organization_id).order_by(Test.id)
    if status is not None:
        query = query.where(Test.status == status)
    return (await session.scalars(query)).all()


async def update_test(session: AsyncSession, test: Test, changes: dict[str, Any], now: datetime) -> Test:
    """Apply field changes allowed in the test's current status, then any status transition."""
    new_status = changes.pop("status", None)
    allowed = {
        TestStatus.DRAFT: CONTENT_FIELDS | PUBLISHED_FIELDS,
        TestStatus.PUBLISHED: PUBLISHED_FIELDS,
        TestStatus.CLOSED: frozenset(),
    }[test.status]
    refused = sorted(set(changes) - allowed)
    if refused:
        raise Conflict(f"cannot change {', '.join(refused)} of a {test.status.value} test")
    for name, value in changes.items():
        setattr(test, name, value)
    if test.min_questions > test.max_questions:
        raise InvalidRequest("min_questions may not exceed max_questions")
    if test.starts_at and test.ends_at and test.ends_at <= test.starts_at:
        raise InvalidRequest("ends_at must be later than starts_at")
    if new_status is not None and new_status != test.status:
        _transition(test, TestStatus(new_status), now)
    await session.flush()
    return test


def _transition(test: Test, target: TestStatus, now: datetime) -> None:
    if target not in TEST_TRANSITIONS[test.status]:
        raise Conflict(f"a {test.status.value} test cannot become {target.value}")
    if target is TestStatus.PUBLISHED:
        if test.ends_at is not None and test.ends_at <= now:
            raise Conflict("cannot publish a test whose window has already ended")
        test.published_at = now
    if target is TestStatus.CLOSED:
        test.closed_at = now
    test.status = target


@dataclass(frozen=True)
class CandidatesAdded:
    applications: list[CandidateApplication]  # of every user named, in their order
    invited: list[int]  # the users made eligible by this call
    new_extra_time: list[int]  # the users already eligible whose extra time this call changed


async def add_candidates(
    session: AsyncSession, test: Test, user_ids: Sequence[int], extra_time_minutes: int
) -> CandidatesAdded:
    """Make candidates eligible; adding one again updates their extra time."""
    if test.status is TestStatus.CLOSED:
        raise Conflict("cannot add candidates to a closed test")
    wanted = list(dict.fromkeys(user_ids))
    # Another organization's users are no users here: the same error as for ids that do not exist.
    of_the_test = select(User).where(User.id.in_(wanted), User.organization_id == test.organization_id)
    users = {user.id: user for user in (await session.scalars(of_the_test)).all()}
    missing = [user_id for user_id in wanted if user_id not in users]
    if missing:
        raise InvalidRequest(f"no such users: {', '.join(map(str, missing))}")
    not_candidates = [user_id for user_id in wanted if users[user_id].role is not Role.CANDIDATE]
    if not_candidates:
        raise InvalidRequest(f"users are not candidates: {', '.join(map(str, not_candidates))}")
    existing = {
        application.user_id: application
        for application in (
            await session.scalars(
                select(CandidateApplication).where(
                    CandidateApplication.test_id == test.id, CandidateApplication.user_id.in_(wanted)
                )
            )
        ).all()
    }
    new_extra_time = [
        user_id for user_id, application in existing.items() if application.extra_time_minutes != extra_time_minutes
    ]
    for user_id in new_extra_time:
        await _extend_attempt_in_progress(session, test, existing[user_id].id, extra_time_minutes)
        existing[user_id].extra_time_minutes = extra_time_minutes
    invited = [user_id for user_id in wanted if user_id not in existing]
    for user_id in invited:
        session.add(CandidateApplication(test_id=test.id, user_id=user_id, extra_time_minutes=extra_time_minutes))
    await session.flush()
    applications = list(await list_applications(session, test.id, user_ids=wanted))
    return CandidatesAdded(applications, invited, new_extra_time)


async def _extend_attempt_in_progress(
    session: AsyncSession, test: Test, application_id: int, extra_time_minutes: int
) -> None:
    """Extra time granted mid-attempt moves the running attempt's deadline too."""
    attempt = await session.scalar(
        select(Attempt).where(Attempt.application_id == application_id, Attempt.status == AttemptStatus.IN_PROGRESS)
    )
    if attempt is not None:
        attempt.deadline = attempt_deadline(attempt.started_at, test.duration_minutes, extra_time_minutes)


async def deadlines_in_progress(
    session: AsyncSession, test_id: int, user_ids: Sequence[int]
) -> Sequence[tuple[int, datetime]]:
    """(attempt id, deadline) of these candidates' attempts in progress on the test."""
    rows = await session.execute(
        select(Attempt.id, Attempt.deadline).where(
            Attempt.test_id == test_id, Attempt.user_id.in_(user_ids), Attempt.status == AttemptStatus.IN_PROGRESS
        )
    )
    return [(attempt_id, deadline) for attempt_id, deadline in rows.all()]


async def list_applications(
    session: AsyncSession, test_id: int, user_ids: Sequence[int] | None = None
) -> Sequence[CandidateApplication]:
    query = (
        select(CandidateApplication)
        .where(CandidateApplication.test_id == test_id)
        .options(selectinload(CandidateApplication.user))
        .order_by(CandidateApplication.id)
    )
    if user_ids is not None:
        query = query.where(CandidateApplication.user_id.in_(user_ids))
    return (await session.scalars(query)).all()


@dataclass(frozen=True)
class CandidateTest:
    """One test as its candidate sees it: the window now, the time allowed, attempts used and left."""

    test_id: int
    title: str
    status: TestStatus
    window: WindowState
    starts_at: datetime | None
    ends_at: datetime | None
    duration_minutes: int
    extra_time_minutes: int
    max_questions: int
    max_attempts: int
    attempts_used: int
    attempts_left: int
    application_status: ApplicationStatus
    active_attempt_id: int | None


async def candidate_tests(session: AsyncSession, user_id: int, now: datetime) -> list[CandidateTest]:
    """The candidate's published or closed tests (never drafts), in test order."""
    attempts_used = (
        select(func.count(Attempt.id))
        .where(Attempt.application_id == CandidateApplication.id)
        .correlate(CandidateApplication)
        .scalar_subquery()
    )
    active_attempt = (
        select(Attempt.id)
        .where(Attempt.application_id == CandidateApplication.id, Attempt.status == AttemptStatus.IN_PROGRESS)
        .correlate(CandidateApplication)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(CandidateApplication, Test, attempts_used, active_attempt)
        .join(Test, Test.id == CandidateApplication.test_id)
        .where(CandidateApplication.user_id == user_id, Test.status != TestStatus.DRAFT)
        .order_by(Test.id)
    )
    return [
        CandidateTest(
            test_id=test.id,
            title=test.title,
            status=test.status,
            window=window_state(test.starts_at, test.ends_at, now),
            starts_at=test.starts_at,
            ends_at=test.ends_at,
            duration_minutes=test.duration_minutes,
            extra_time_minutes=application.extra_time_minutes,
            max_questions=test.max_questions,
            max_attempts=test.max_attempts,
            attempts_used=used,
            attempts_left=max(test.max_attempts - used, 0),
            application_status=application.status,
            active_attempt_id=active,
        )
        for application, test, used, active in rows.all()
    ]
