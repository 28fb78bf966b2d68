"""GET /api/me/tests: a candidate's tests with their windows and attempts left."""

from datetime import UTC, datetime

from fastapi import APIRouter

from persistence import catalog
from persistence.catalog import CandidateTest
from serve_app.dependencies import CandidateUser, SessionDep

router = APIRouter(prefix="/api/me", tags=["candidate"])


@router.get("/tests", response_model=list[CandidateTest])
async def my_tests(user: CandidateUser, session: SessionDep) -> list[CandidateTest]:
    return await catalog.candidate_tests(session, user.id, datetime.now(UTC))
