"""/api/tests: the tests recruiters define, publish and close, and who may take them."""

from datetime import UTC, datetime

from fastapi import APIRouter, BackgroundTasks, status
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import AuditAction, GeneratorKind, TestStatus
from domain.errors import InvalidRequest
from domain.skill_graph import blueprint, skill_nodes
from persistence import audit, catalog
from persistence.audit import Actor
from persistence.models import CandidateApplication, Test
from questions.source import QuestionSource
from serve_app.dependencies import ActorDep, OwnTest, SessionDep, StaffUser, StateDep
from serve_app.schemas import ApplicationRead, CandidatesAdd, SkillSpec, TestCreate, TestRead, TestUpdate
from serve_app.state import ReplicaState

router = APIRouter(prefix="/api/tests", tags=["tests"])


def _check_generator_covers(questions: QuestionSource, generator: GeneratorKind, skills: list[SkillSpec]) -> None:
    if generator is GeneratorKind.BANK:
        uncovered = [skill.name for skill in skills if not questions.covers(skill.name)]
        if uncovered:
            known = ", ".join(coverage.name for coverage in questions.skills())
            raise InvalidRequest(f"the bank generator has no items for {', '.join(uncovered)}; known skills: {known}")


def test_view(test: Test) -> TestRead:
    nodes = skill_nodes(test.skills)
    return TestRead.model_validate(
        {
            **{name: getattr(test, name) for name in TestRead.model_fields if name != "blueprint"},
            "blueprint": blueprint(nodes, test.max_questions),
        }
    )


def application_view(application: CandidateApplication) -> ApplicationRead:
    return ApplicationRead(
        id=application.id,
        test_id=application.test_id,
        user_id=application.user_id,
        email=application.user.email,
        full_name=application.user.full_name,
        extra_time_minutes=application.extra_time_minutes,
        status=application.status,
        invited_at=application.invited_at,
    )


@router.post("", response_model=TestRead, status_code=status.HTTP_201_CREATED)
async def create_test(
    body: TestCreate, user: StaffUser, actor: ActorDep, state: StateDep, session: SessionDep
) -> TestRead:
    _check_generator_covers(state.questions, body.generator, body.skills)
    test = await catalog.create_test(session, body.model_dump(), created_by=user)
    audit.record(session, actor, AuditAction.TEST_CREATED, "test", test.id, definition=body.model_dump(mode="json"))
    return test_view(test)


@router.get("", response_model=list[TestRead])
async def list_tests(staff: StaffUser, session: SessionDep, status: TestStatus | None = None) -> list[TestRead]:
    return [test_view(test) for test in await catalog.list_tests(session, staff.organization_id, status)]


@router.get("/{test_id}", response_model=TestRead)
async def read_test(test: OwnTest) -> TestRead:
    return test_view(test)


@router.patch("/{test_id}", response_model=TestRead)
async def update_test(
    test: OwnTest, body: TestUpdate, actor: ActorDep, state: StateDep, session: SessionDep
) -> TestRead:
    status_before = test.status
    changes = body.model_dump(exclude_unset=True)
    generator = body.generator or test.generator
    skills = body.skills or [SkillSpec.model_validate(skill) for skill in test.skills]
    _check_generator_covers(state.questions, generator, skills)
    test = await catalog.update_test(session, test, changes, now=datetime.now(UTC))
    fields = body.model_dump(mode="json", exclude_unset=True, exclude={"status"})
    if fields:
        audit.record(session, actor, AuditAction.TEST_UPDATED, "test", test.id, changes=fields)
    if test.status is not status_before:
        action = AuditAction.TEST_PUBLISHED if test.status is TestStatus.PUBLISHED else AuditAction.TEST_CLOSED
        audit.record(session, actor, action, "test", test.id, status_before=status_before.value)
    return test_view(test)


@router.post("/{test_id}/candidates", response_model=list[ApplicationRead])
async def add_candidates(
    test: OwnTest,
    body: CandidatesAdd,
    actor: ActorDep,
    session: SessionDep,
    state: StateDep,
    after_commit: BackgroundTasks,
) -> list[ApplicationRead]:
    added = await enrol(test, body.user_ids, body.extra_time_minutes, actor, session, state, after_commit)
    return [application_view(application) for application in added.applications]


async def enrol(
    test: Test,
    user_ids: list[int],
    minutes: int,
    actor: Actor,
    session: AsyncSession,
    state: ReplicaState,
    after_commit: BackgroundTasks,
) -> catalog.CandidatesAdded:
    """Make these candidates eligible for the test, audited; a new extra time reaches live sessions."""
    added = await catalog.add_candidates(session, test, user_ids, minutes)
    if added.invited:
        audit.record(
            session,
            actor,
            AuditAction.CANDIDATES_INVITED,
            "test",
            test.id,
            user_ids=added.invited,
            extra_time_minutes=minutes,
        )
    if added.new_extra_time:
        audit.record(
            session,
            actor,
            AuditAction.EXTRA_TIME_GRANTED,
            "test",
            test.id,
            user_ids=added.new_extra_time,
            extra_time_minutes=minutes,
        )
    # Extra time moves the deadlines of attempts in progress: their live sessions hear of it once stored.
    for attempt_id, deadline in await catalog.deadlines_in_progress(session, test.id, user_ids):
        after_commit.add_task(state.registry.set_deadline.remote, attempt_id, deadline)
    return added


@router.get("/{test_id}/candidates", response_model=list[ApplicationRead])
async def list_candidates(test: OwnTest, session: SessionDep) -> list[ApplicationRead]:
    return [application_view(application) for application in await catalog.list_applications(session, test.id)]
