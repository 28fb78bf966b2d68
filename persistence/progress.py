"""The durable progress of a live attempt: one transaction per step, and the rows a session is rebuilt from.

A step of a live session (the first question shown, an answer graded and the next question chosen, the
attempt finished) is committed as one transaction: the response row, if there is one, and the attempt's
progress (the answers counted, the score, the ability estimate, the question now waiting, or the result).
The write is guarded by the count the session started the step from, so two writers (a host that died
and its replacement, racing) never both advance an attempt: the loser's transaction changes nothing and it
rebuilds from what the winner stored. Nothing else holds a copy of this state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, Update, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adaptive.calibration import CalibratedSet
from domain.enums import ApplicationStatus, AttemptStatus, FinishReason
from persistence.database import Database
from persistence.models import Attempt, CandidateApplication, Response, Test
from persistence.parameter_sets import calibrated_sets

ATTEMPTS: Table = Attempt.__table__  # type: ignore[assignment]
RESPONSES: Table = Response.__table__  # type: ignore[assignment]
APPLICATIONS: Table = CandidateApplication.__table__  # type: ignore[assignment]
FINISHED_STATUS = {
    FinishReason.COMPLETED: AttemptStatus.COMPLETED,
    FinishReason.PRECISION_REACHED: AttemptStatus.COMPLETED,
    FinishReason.TIME_EXPIRED: AttemptStatus.EXPIRED,
    FinishReason.ABANDONED: AttemptStatus.ABANDONED,
}


@dataclass(frozen=True)
class AnsweredRow:
    """What a rebuilt session needs of one stored response."""

    question_id: str
    item_id: str
    index: int
    skill: str
    is_correct: bool
    pool_entry: int | None  # None for responses stored before revision 0002
    family: str | None
    stem: str
    pretest: bool = False  # an unscored pretest item


@dataclass(frozen=True)
class StoredAttempt:
    attempt: Attempt
    test: Test
    responses: Sequence[AnsweredRow]
    parameters: CalibratedSet | None = None  # the attempt's parameter set (None: starting parameters)


@dataclass(frozen=True)
class Result:
    reason: FinishReason
    max_score: int


@dataclass(frozen=True)
class Step:
    """One step's write. `answered_before` is the count the session started from: the write's guard."""

    attempt_id: int
    answered_before: int
    answered: int
    score: int
    theta: float
    se: float
    pending_question: dict[str, Any] | None
    response: dict[str, Any] | None = None
    result: Result | None = None


async def load_many(database: Database, attempt_ids: Sequence[int]) -> list[StoredAttempt | None]:
    """Each attempt with its test and its responses in order (None for an attempt that does not exist):
    everything a session is rebuilt from, for a batch of sessions in three queries (a fourth the first time
    this process meets a parameter set)."""
    wanted = set(attempt_ids)
    async with database.transaction() as session:
        found = {
            attempt.id: attempt
            for attempt in await session.scalars(
                select(Attempt).where(Attempt.id.in_(wanted)).execution_options(populate_existing=True)
            )
        }
        test_ids = {attempt.test_id for attempt in found.values()}
        tests = {test.id: test for test in await session.scalars(select(Test).where(Test.id.in_(test_ids)))}
        rows = await session.execute(
            select(
                Response.attempt_id,
                Response.question_id,
                Response.item_id,
                Response.index,
                Response.skill,
                Response.is_correct,
                Response.pool_entry,
                Response.item_snapshot,
                Response.pretest,
            )
            .where(Response.attempt_id.in_(found))
            .order_by(Response.attempt_id, Response.index)
        )
        responses: dict[int, list[AnsweredRow]] = {attempt_id: [] for attempt_id in found}
        for attempt_id, question_id, item_id, index, skill, correct, entry, snapshot, pretest in rows.all():
            responses[attempt_id].append(
                AnsweredRow(
                    question_id,
                    item_id,
                    index,
                    skill,
                    bool(correct),
                    entry,
                    snapshot.get("family"),
                    str(snapshot.get("stem", "")),
                    bool(pretest),
                )
            )
        sets = await calibrated_sets(session, (attempt.parameter_set_id for attempt in found.values()))
    return [
        StoredAttempt(
            attempt,
            tests[attempt.test_id],
            responses[attempt_id],
            sets.get(attempt.parameter_set_id) if attempt.parameter_set_id is not None else None,
        )
        if (attempt := found.get(attempt_id)) is not None
        else None
        for attempt_id in attempt_ids
    ]


async def deadline_of(database: Database, attempt_id: int) -> datetime | None:
    """The attempt's deadline as stored now (extra time may have moved it)."""
    async with database.transaction() as session:
        deadline: datetime | None = await session.scalar(select(Attempt.deadline).where(Attempt.id == attempt_id))
        return deadline


PROGRESS_COLUMNS = ("answered", "score", "ability_theta", "ability_se", "pending_question")
RESULT_COLUMNS = ("status", "finish_reason", "finished_at", "max_score")


def _progress_update(*, finishing: bool, first_question: bool) -> Update:
    """The guarded UPDATE of an attempt's progress, built once: a statement built per answer costs more
    to compile and cache-key than it takes SQLite to run."""
    guard = [
        ATTEMPTS.c.id == bindparam("attempt_id"),
        ATTEMPTS.c.answered == bindparam("answered_before"),
        ATTEMPTS.c.status == AttemptStatus.IN_PROGRESS,
    ]
    if first_question:
        guard.append(ATTEMPTS.c.pending_question.is_(None))  # showing a first question: only once
    columns = PROGRESS_COLUMNS + (RESULT_COLUMNS if finishing else ())
    return (
        ATTEMPTS.update()
        .where(*guard)
        .values({name: bindparam(f"new_{name}", type_=ATTEMPTS.c[name].type) for name in columns})
    )


ANSWERING = _progress_update(finishing=False, first_question=False)
SHOWING_FIRST_QUESTION = _progress_update(finishing=False, first_question=True)
FINISHING = _progress_update(finishing=True, first_question=False)
APPLICATION_COMPLETED = (
    APPLICATIONS.update()
    .where(
        APPLICATIONS.c.id
        == select(ATTEMPTS.c.application_id).where(ATTEMPTS.c.id == bindparam("attempt_id")).scalar_subquery()
    )
    .values(status=ApplicationStatus.COMPLETED)
)
RESPONSE_INSERT = RESPONSES.insert()


async def commit(database: Database, steps: Sequence[Step], now: datetime) -> list[bool]:
    """Store the steps of several attempts in one transaction (a group commit: one transaction and one
    sync to disk for all of them). For each step, False (and nothing of it stored) if its attempt is no
    longer where the step began: another writer advanced or finished it first. An error stores none."""
    # Core statements on one connection, not an ORM session: this is the one write of every answer.
    async with database.engine.begin() as connection:
        stored = [await _advance(connection, step, now) for step in steps]
        advanced = [step for step, done in zip(steps, stored, strict=True) if done]
        responses = [step.response for step in advanced if step.response is not None]
        if responses:
            await connection.execute(RESPONSE_INSERT, responses)
        finished = [{"attempt_id": step.attempt_id} for step in advanced if step.result is not None]
        if finished:
            await connection.execute(APPLICATION_COMPLETED, finished)
    return stored


async def _advance(connection: AsyncConnection, step: Step, now: datetime) -> bool:
    values: dict[str, Any] = {
        "attempt_id": step.attempt_id,
        "answered_before": step.answered_before,
        "new_answered": step.answered,
        "new_score": step.score,
        "new_ability_theta": step.theta,
        "new_ability_se": step.se,
        "new_pending_question": step.pending_question,
    }
    if step.result is not None:
        statement = FINISHING
        values |= {
            "new_status": FINISHED_STATUS[step.result.reason],
            "new_finish_reason": step.result.reason,
            "new_finished_at": now,
            "new_max_score": step.result.max_score,
        }
    elif step.response is None:
        statement = SHOWING_FIRST_QUESTION
    else:
        statement = ANSWERING
    result = await connection.execute(statement, values)
    return bool(result.rowcount == 1)
