"""GET /api/me/tests: a candidate's tests with their windows and attempts left."""

from dataclasses import asdict
from datetime import UTC, datetime

from fastapi import APIRouter

from persistence import catalog
from serve_app.dependencies import CandidateUser, SessionDep
from serve_app.schemas import MyTest

router = APIRouter(prefix="/api/me", tags=["candidate"])


@router.get("/tests", response_model=list[MyTest])
async def my_tests(user: CandidateUser, session: SessionDep) -> list[MyTest]:
    return [MyTest(**asdict(test)) for test in await catalog.candidate_tests(session, user.id, datetime.now(UTC))]
