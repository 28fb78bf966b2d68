"""Alembic migrations from empty, up and down, and the constraints the live path depends on."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from conftest import make_database_url
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from domain.enums import AttemptStatus, Role
from persistence.database import Database
from persistence.migrate import current_revision, downgrade, upgrade
from persistence.models import Attempt, Base, CandidateApplication, Response, Test, User

TABLES = {
    "users",
    "tests",
    "candidate_applications",
    "attempts",
    "responses",
    "items",
    "parameter_sets",
    "item_parameters",
    "password_links",
    "audit_events",
    "integrity_events",
    "organizations",
}


@pytest.fixture
def empty_database(backend: str, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    url, scratch = make_database_url(backend, tmp_path)
    yield url
    if scratch is not None:
        scratch.drop()


def table_names(url: str) -> set[str]:
    async def names() -> set[str]:
        database = Database(url)
        try:
            async with database.engine.connect() as connection:
                return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
        finally:
            await database.dispose()

    return asyncio.run(names()) - {"alembic_version"}


def test_migrations_go_up_from_empty_down_and_up_again(empty_database: str) -> None:
    assert table_names(empty_database) == set()
    upgrade(empty_database)
    assert current_revision(empty_database) == "0007"
    assert table_names(empty_database) == TABLES == set(Base.metadata.tables)
    downgrade(empty_database)
    assert current_revision(empty_database) is None
    assert table_names(empty_database) == set()
    upgrade(empty_database)
    assert table_names(empty_database) == TABLES


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async def pragmas() -> tuple[str, int, int]:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}")
        try:
            async with database.engine.connect() as connection:
                mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
                timeout = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
                keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
                return str(mode), int(timeout), int(keys)
        finally:
            await database.dispose()

    assert asyncio.run(pragmas()) == ("wal", 10_000, 1)


async def _seed_attempt(session, number: int = 1) -> Attempt:  # type: ignore[no-untyped-def]
    user = User(email=f"c{number}@example.com", full_name="C", role=Role.CANDIDATE, password_hash="x")
    session.add(user)
    await session.flush()
    now = datetime.now(UTC)
    test = Test(
        title="T",
        job_description="J",
        skills=[{"name": "python", "weight": 1, "prerequisites": []}],
        max_questions=5,
        min_questions=1,
        duration_minutes=10,
        max_attempts=2,
        generator="bank",
        passing_score=50,
    )
    session.add(test)
    await session.flush()
    application = CandidateApplication(test_id=test.id, user_id=user.id)
    session.add(application)
    await session.flush()
    attempt = Attempt(
        application_id=application.id,
        test_id=test.id,
        user_id=user.id,
        number=1,
        started_at=now,
        deadline=now + timedelta(minutes=10),
        max_questions=5,
    )
    session.add(attempt)
    await session.flush()
    return attempt


def _response(attempt: Attempt, question_id: str) -> Response:
    now = datetime.now(UTC)
    return Response(
        attempt_id=attempt.id,
        question_id=question_id,
        item_id="python-001",
        index=0,
        skill="python",
        item_snapshot={"stem": "s", "options": []},
        correct_option="a",
        selected_option="b",
        is_correct=False,
        presented_at=now,
        answered_at=now,
        time_taken_s=1.0,
    )


def test_one_response_per_attempt_and_question(database_url: str) -> None:
    async def scenario() -> None:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                attempt = await _seed_attempt(session, 101)
                session.add(_response(attempt, "q1"))
            with pytest.raises(IntegrityError):
                async with database.transaction() as session:
                    session.add(_response(attempt, "q1"))
        finally:
            await database.dispose()

    asyncio.run(scenario())


def test_at_most_one_attempt_in_progress_per_application(database_url: str) -> None:
    async def scenario() -> None:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                attempt = await _seed_attempt(session, 102)
            second = dict(
                application_id=attempt.application_id,
                test_id=attempt.test_id,
                user_id=attempt.user_id,
                number=2,
                started_at=attempt.started_at,
                deadline=attempt.deadline,
                max_questions=5,
            )
            with pytest.raises(IntegrityError):
                async with database.transaction() as session:
                    session.add(Attempt(**second))
            async with database.transaction() as session:
                stored = await session.get(Attempt, attempt.id)
                assert stored is not None
                stored.status = AttemptStatus.COMPLETED
            async with database.transaction() as session:
                session.add(Attempt(**second))  # allowed once the first is finished
        finally:
            await database.dispose()

    asyncio.run(scenario())


def test_datetimes_come_back_timezone_aware_utc(database_url: str) -> None:
    async def scenario() -> datetime:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                attempt = await _seed_attempt(session, 103)
            async with database.sessions() as session:
                stored = await session.get(Attempt, attempt.id)
                assert stored is not None
                return stored.deadline
        finally:
            await database.dispose()

    assert asyncio.run(scenario()).tzinfo is not None


def test_attempts_begun_before_0002_get_their_progress_from_their_rows(empty_database: str) -> None:
    """An attempt in progress under revision 0001 (its progress then lived in a LangGraph checkpoint) is
    counted from its response rows by 0002, and the checkpoint tables go."""

    async def seed() -> int:
        database = Database(empty_database)
        try:
            async with database.transaction() as session:
                attempt = await _seed_attempt(session, 104)
                for number, correct in enumerate((True, False, True)):
                    response = _response(attempt, f"q{number + 1}")
                    response.index, response.is_correct = number, correct
                    session.add(response)
            return attempt.id
        finally:
            await database.dispose()

    async def progress_of(attempt_id: int) -> tuple[int, int]:
        database = Database(empty_database)
        try:
            async with database.transaction() as session:
                row = (
                    await session.execute(text(f"SELECT answered, score FROM attempts WHERE id = {attempt_id}"))
                ).one()
                return int(row[0]), int(row[1])
        finally:
            await database.dispose()

    async def create_checkpoint_table() -> None:
        database = Database(empty_database)
        try:
            async with database.transaction() as session:
                await session.execute(text("CREATE TABLE checkpoints (thread_id TEXT PRIMARY KEY)"))
        finally:
            await database.dispose()

    upgrade(empty_database)
    attempt_id = asyncio.run(seed())
    downgrade(empty_database, "0001")  # as a server of the previous version left it
    asyncio.run(create_checkpoint_table())
    upgrade(empty_database)
    assert asyncio.run(progress_of(attempt_id)) == (3, 2)
    assert table_names(empty_database) == TABLES  # the checkpoint table is gone
