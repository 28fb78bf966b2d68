"""Keep a `fast` run's responses in the database as a simulated test's finished attempts, so that they can be
calibrated like live responses (`assess simulate --store`, then `assess calibrate --test-id`).

Each simulated candidate becomes one finished attempt with one response row per answer: the pool entry
(a bank item, or a family for a template use), the skill, right or wrong, and the estimate after it. The
rows carry no item text: a simulated response has none to show.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import insert, select, update

from adaptive.pool import ItemPool
from domain.enums import ApplicationStatus
from persistence.database import Database
from persistence.models import Attempt, CandidateApplication, Response
from persistence.progress import FINISHED_STATUS
from simulation.outcome import Outcome, Reason

SIMULATED_KEY, SIMULATED_WRONG = "a", "b"


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


async def store_outcome(
    database: Database,
    test_id: int,
    user_ids: list[int],
    outcome: Outcome,
    pool: ItemPool,
    parameter_set_id: int | None,
) -> None:
    """One finished attempt per candidate (in the order of `user_ids`, each invited to the test), with its
    responses."""
    now = datetime.now(UTC)
    async with database.transaction() as session:
        invited = await session.execute(
            select(CandidateApplication.user_id, CandidateApplication.id).where(CandidateApplication.test_id == test_id)
        )
        application_of = {user_id: application_id for user_id, application_id in invited.all()}
        await session.execute(
            update(CandidateApplication)
            .where(CandidateApplication.test_id == test_id)
            .values(status=ApplicationStatus.COMPLETED)
        )
        attempt_rows = [
            {
                "application_id": application_of[user_ids[row]],
                "test_id": test_id,
                "user_id": user_ids[row],
                "number": 1,
                "status": FINISHED_STATUS[Reason(int(outcome.reason[row])).finish_reason],
                "started_at": now,
                "deadline": now + timedelta(hours=1),
                "finished_at": now,
                "finish_reason": Reason(int(outcome.reason[row])).finish_reason,
                "max_questions": int(outcome.items.shape[1]),
                "score": int(outcome.correct[row, : outcome.length[row]].sum()),
                "max_score": int(outcome.length[row]),
                "ability_theta": float(outcome.estimate[row]),
                "ability_se": float(outcome.se[row]),
                "answered": int(outcome.length[row]),
                "parameter_set_id": parameter_set_id,
            }
            for row in range(outcome.size)
        ]
        attempt_ids = (await session.scalars(insert(Attempt).returning(Attempt.id), attempt_rows)).all()
        responses = []
        for row, attempt_id in enumerate(attempt_ids):
            for step in range(int(outcome.length[row])):
                entry = int(outcome.items[row, step])
                right = bool(outcome.correct[row, step])
                family = pool.ids[entry] if pool.reusable[entry] else None
                responses.append(
                    {
                        "attempt_id": attempt_id,
                        "question_id": f"q{step + 1}",
                        "item_id": pool.ids[entry],
                        "index": step,
                        "skill": pool.skill_of(entry),
                        "item_snapshot": {"stem": "", "options": [], "family": family},
                        "correct_option": SIMULATED_KEY,
                        "selected_option": SIMULATED_KEY if right else SIMULATED_WRONG,
                        "is_correct": right,
                        "presented_at": now,
                        "answered_at": now,
                        "time_taken_s": 0.0,
                        "se_after": _number(outcome.se_history[row, step]),
                        "pool_entry": entry,
                        "parameter_set_id": parameter_set_id,
                    }
                )
        if responses:
            await session.execute(insert(Response), responses)
