"""The demo data set: a published test over several skills, a recruiter and candidates who may take it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import GeneratorKind, Role, TestStatus
from persistence import catalog, users
from persistence.models import Test, User

DEMO_TEST_TITLE = "Backend engineer screening (demo)"
DEMO_JOB_DESCRIPTION = (
    "We are hiring a backend engineer to build and run Python services backed by PostgreSQL. "
    "You will design HTTP APIs, write SQL and tests, review code in Git, and operate services on Linux."
)
DEMO_SKILLS = [
    {"name": "python", "weight": 3.0, "prerequisites": []},
    {"name": "sql", "weight": 2.0, "prerequisites": []},
    {"name": "http", "weight": 2.0, "prerequisites": []},
    {"name": "algorithms", "weight": 1.5, "prerequisites": ["python"]},
    {"name": "testing", "weight": 1.0, "prerequisites": ["python"]},
    {"name": "system-design", "weight": 1.0, "prerequisites": ["http", "sql"]},
]
# The demo test as a definition (also what `assess simulate` runs when given no test file).
DEMO_TEST = {
    "title": DEMO_TEST_TITLE,
    "job_description": DEMO_JOB_DESCRIPTION,
    "skills": DEMO_SKILLS,
    "max_questions": 20,
    "min_questions": 10,
    "se_target": 0.3,
    "duration_minutes": 30,
    "max_attempts": 3,
    "passing_score": 60.0,
}


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    full_name: str
    role: Role


DEMO_ACCOUNTS = (
    DemoAccount("recruiter@example.com", "recruiter-demo-pass", "Riley Recruiter", Role.RECRUITER),
    DemoAccount("alice@example.com", "alice-demo-pass", "Alice Candidate", Role.CANDIDATE),
    DemoAccount("bob@example.com", "bob-demo-pass", "Bob Candidate", Role.CANDIDATE),
    DemoAccount("carol@example.com", "carol-demo-pass", "Carol Candidate", Role.CANDIDATE),
)


async def seed_demo(session: AsyncSession) -> tuple[Test, list[tuple[DemoAccount, User]]]:
    """Create the demo accounts and test if missing; running it again changes nothing."""
    accounts = []
    for account in DEMO_ACCOUNTS:
        user = await users.find_user_by_email(session, account.email) or await users.create_user(
            session,
            email=account.email,
            password=account.password,
            full_name=account.full_name,
            role=account.role,
        )
        accounts.append((account, user))
    recruiter = accounts[0][1]
    test = await session.scalar(select(Test).where(Test.title == DEMO_TEST_TITLE))
    if test is None:
        now = datetime.now(UTC)
        test = await catalog.create_test(
            session,
            {
                **DEMO_TEST,
                "starts_at": now - timedelta(minutes=1),
                "ends_at": now + timedelta(days=90),
                "generator": GeneratorKind.BANK,
            },
            created_by=recruiter,
        )
        await catalog.update_test(session, test, {"status": TestStatus.PUBLISHED}, now=now)
    candidates = [user.id for account, user in accounts if account.role is Role.CANDIDATE]
    await catalog.add_candidates(session, test, candidates, extra_time_minutes=0)
    return test, accounts
