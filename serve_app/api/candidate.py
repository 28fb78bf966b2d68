"""GET /api/me/tests: a candidate's tests with their windows and attempts left."""

from datetime import UTC, datetime

from fastapi import APIRouter

from domain.scheduling import window_state
from persistence import catalog
from serve_app.dependencies import CandidateUser, SessionDep
from serve_app.schemas import MyTest

router = APIRouter(prefix="/api/me", tags=["candidate"])


@router.get("/tests", response_model=list[MyTest])
async def my_tests(user: CandidateUser, session: SessionDep) -> list[MyTest]:
    now = datetime.now(UTC)
    return [
        MyTest(
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
            attempts_used=attempts_used,
            attempts_left=max(test.max_attempts - attempts_used, 0),
            application_status=application.status,
            active_attempt_id=active_attempt_id,
        )
        for application, test, attempts_used, active_attempt_id in await catalog.applications_of_candidate(
            session, user.id
        )
    ]
