"""Live analytics: the cluster's open connections (admin) and a test's figures as they stand (staff).

Connections come from the registry's directory, which every ingress replica reports to; this replica
reports its own table first, so what it lists about itself is current to the request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from persistence import users
from persistence.live_analytics import live_figures
from serve_app.dependencies import AdminUser, OwnTest, SessionDep, StateDep
from serve_app.schemas import RecordId

router = APIRouter(prefix="/api/analytics", tags=["analytics"])


class ConnectionRead(BaseModel):
    connection_id: str
    replica_id: str
    endpoint: Literal["assessment", "chat", "monitor"]
    user_id: int
    role: str
    test_id: int | None
    attempt_id: int | None
    opened_at: datetime
    age_s: float
    reconnects: int  # connections this user opened to the same endpoint and test before this one
    messages: int
    messages_per_minute: float
    idle_s: float  # since the last frame received (or since it opened)


class QuestionTimeRead(BaseModel):
    index: int
    answered: int
    mean_s: float
    median_s: float


class TestLive(BaseModel):
    test_id: int
    in_progress: int
    finished: int
    by_status: dict[str, int]
    connected: int  # candidates' assessment sockets open on the test now
    answers: int
    answers_in_progress: int
    mean_percentage_finished: float | None
    mean_percentage_so_far: float | None
    mean_question_s: float | None
    median_question_s: float | None
    per_question: list[QuestionTimeRead]
    last_answer_at: datetime | None


async def cluster_connections(state: StateDep) -> list[ConnectionRead]:
    await state.report_connections()
    rows = await state.registry.connections.remote()
    return [ConnectionRead.model_validate(row) for row in rows]


@router.get("/connections", response_model=list[ConnectionRead])
async def connections(
    state: StateDep,
    admin: AdminUser,
    session: SessionDep,
    test_id: Annotated[RecordId | None, Query(description="only connections about this test")] = None,
    endpoint: Literal["assessment", "chat", "monitor"] | None = None,
) -> list[ConnectionRead]:
    """The open connections of the admin's organization's users."""
    rows = await cluster_connections(state)
    ours = await users.of_organization(session, {row.user_id for row in rows}, admin.organization_id)
    return sorted(
        (
            row
            for row in rows
            if row.user_id in ours
            and (test_id is None or row.test_id == test_id)
            and (endpoint is None or row.endpoint == endpoint)
        ),
        key=lambda row: (row.test_id or 0, row.user_id, row.opened_at),
    )


@router.get("/tests/{test_id}/live", response_model=TestLive)
async def test_live(test: OwnTest, state: StateDep, session: SessionDep) -> TestLive:
    test_id = test.id
    figures = await live_figures(session, test_id)
    connected = sum(row.endpoint == "assessment" and row.test_id == test_id for row in await cluster_connections(state))
    return TestLive(
        test_id=test_id,
        connected=connected,
        in_progress=figures.in_progress,
        finished=figures.finished,
        by_status=figures.by_status,
        answers=figures.answers,
        answers_in_progress=figures.answers_in_progress,
        mean_percentage_finished=figures.mean_percentage_finished,
        mean_percentage_so_far=figures.mean_percentage_so_far,
        mean_question_s=figures.mean_question_s,
        median_question_s=figures.median_question_s,
        per_question=[QuestionTimeRead(**vars(question)) for question in figures.per_question],
        last_answer_at=figures.last_answer_at,
    )
