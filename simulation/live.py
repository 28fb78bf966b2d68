"""`live` mode: simulated candidates drive the real session actors and graph through the registry, as the
WebSocket ingress does, minus the sockets. It tests the engine itself at scale.

A run creates a published test from the definition and one candidate account per simulated candidate
(no password: they cannot log in), then every candidate starts, answers each question (right with their
persona's probability, knowing the key through the hosts' simulation-only `pending_for_simulation`), and
finishes. Disconnecting candidates detach and resume on a fresh connection, as a dropped socket would.
Time is not simulated here (nobody waits 45 s a question): the `slow` persona answers like `careful`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ray.actor import ActorHandle
from sqlalchemy import select

from adaptive.cat import AdaptiveTest
from adaptive.irt import Array, ItemParameters, response_probability
from domain.enums import GeneratorKind, Role, TestStatus
from domain.skill_graph import stored_skills
from persistence import attempts, catalog
from persistence.database import Database
from persistence.models import Response, User
from simulation import personas as persona_rules
from simulation.outcome import Outcome, Reason

UNUSABLE_PASSWORD_HASH = "!simulated"  # matches no password: simulated accounts cannot log in
REASONS = {reason.finish_reason.value: reason for reason in Reason}


async def create_simulated_test(
    database: Database, definition: Mapping[str, Any], candidates: int, run_id: str
) -> tuple[int, list[int]]:
    """A published test open for a day and `candidates` invited candidate accounts."""
    now = datetime.now(UTC)
    async with database.transaction() as session:
        owner = User(
            email=f"sim-{run_id}-owner@simulation.invalid",
            full_name="Simulation",
            role=Role.RECRUITER,
            password_hash=UNUSABLE_PASSWORD_HASH,
        )
        users = [
            User(
                email=f"sim-{run_id}-{index}@simulation.invalid",
                full_name=f"Simulated candidate {index}",
                role=Role.CANDIDATE,
                password_hash=UNUSABLE_PASSWORD_HASH,
            )
            for index in range(candidates)
        ]
        session.add_all([owner, *users])
        await session.flush()
        test = await catalog.create_test(
            session,
            {
                "title": f"Simulation {run_id}",
                "job_description": definition.get("job_description", "Simulated candidates."),
                "skills": stored_skills(definition["skills"]),
                "max_questions": definition["max_questions"],
                "min_questions": definition.get("min_questions", 1),
                "se_target": definition.get("se_target"),
                "duration_minutes": definition.get("duration_minutes", 60),
                "starts_at": now - timedelta(minutes=1),
                "ends_at": now + timedelta(days=1),
                "max_attempts": definition.get("max_attempts", 1),
                "generator": GeneratorKind(definition.get("generator", "bank")),
                "passing_score": definition.get("passing_score", 60.0),
                "theta_cut": definition.get("theta_cut"),
                "classification_stop": bool(definition.get("classification_stop", False)),
                "exposure": definition.get("exposure"),
            },
            created_by=owner,
        )
        await catalog.update_test(session, test, {"status": TestStatus.PUBLISHED}, now=now)
        await catalog.add_candidates(session, test, [user.id for user in users], extra_time_minutes=0)
        return test.id, [user.id for user in users]


class LiveCandidate:
    """One simulated candidate, talking to its session's host as the ingress would."""

    def __init__(self, registry: ActorHandle, attempt_id: int) -> None:
        self.registry = registry
        self.attempt_id = attempt_id
        self.connection_id = uuid.uuid4().hex
        self.replica_id = f"simulated-{self.connection_id}"  # an ingress replica of its own: its pushes only
        self.host: ActorHandle | None = None

    async def call(self, method: str, *arguments: Any) -> Any:
        if self.host is None:
            _, self.host = await self.registry.locate.remote(self.attempt_id)
        return await getattr(self.host, method).remote(self.attempt_id, *arguments)

    async def start(self) -> list[dict[str, Any]]:
        return [json.loads(frame) for frame in await self.call("start", self.connection_id, self.replica_id)]

    async def pushed(self, wait_s: float) -> list[dict[str, Any]]:
        """The frames the host pushed to this candidate (waiting up to `wait_s` for the first)."""
        assert self.host is not None
        frames = await self.host.next_events.remote(self.replica_id, wait_s)
        return [json.loads(frame) for connection_id, frame in frames if connection_id == self.connection_id]

    async def reconnect(self) -> list[dict[str, Any]]:
        await self.call("detach", self.connection_id)
        self.connection_id = uuid.uuid4().hex
        return await self.start()

    async def answer(self, question_id: str, option: str) -> list[dict[str, Any]]:
        return [json.loads(frame) for frame in await self.call("submit", self.connection_id, question_id, option)]


async def simulate_live(
    database: Database,
    registry: ActorHandle,
    test: AdaptiveTest,
    test_id: int,
    user_ids: list[int],
    true_theta: Array,
    personas: NDArray[np.int8],
    seed: int,
    concurrency: int = 100,
    on_progress: Callable[[int], None] = lambda done: None,
    scripted: NDArray[np.bool_] | None = None,
    truth: ItemParameters | None = None,
) -> Outcome:
    """Every candidate through the real sessions; answers follow `truth` (default: the pool's parameters)."""
    parameters = truth or test.pool.parameters
    outcome = Outcome.empty(true_theta, personas, test.stopping.max_items)
    attempt_rows: dict[int, int] = {}
    limit = asyncio.Semaphore(concurrency)
    seeds = np.random.SeedSequence(seed).spawn(len(user_ids))

    async def run_one(row: int) -> None:
        async with limit:
            rng = np.random.default_rng(seeds[row])
            opened = await attempts.start_or_resume(database, test_id, user_ids[row], datetime.now(UTC))
            candidate = LiveCandidate(registry, opened.attempt.id)
            attempt_rows[opened.attempt.id] = row
            frames = await candidate.start()
            step = 0
            while frames[-1]["type"] == "question":
                question = frames[-1]
                pending = await candidate.call("pending_for_simulation")
                entry = int(pending["entry"])
                p = response_probability(true_theta[row], parameters.a[entry], parameters.b[entry], parameters.c[entry])
                if scripted is not None:
                    right = bool(scripted[row, step])
                else:
                    right = bool(persona_rules.answers(personas[row : row + 1], np.atleast_1d(p), rng)[0])
                wrong = [option["id"] for option in question["options"] if option["id"] != pending["key"]]
                frames = await candidate.answer(question["question_id"], pending["key"] if right else wrong[0])
                _, dropped = persona_rules.seconds_taken(personas[row : row + 1], rng)
                outcome.items[row, step] = entry
                outcome.correct[row, step] = right
                step += 1
                if frames[-1]["type"] == "question" and dropped[0]:
                    outcome.reconnects[row] += 1
                    frames = await candidate.reconnect()
            completed = frames[-1]
            if completed["type"] != "assessment_completed":
                raise RuntimeError(f"attempt {candidate.attempt_id} ended with {completed}")
            outcome.estimate[row] = completed["ability"]["theta"]
            outcome.se[row] = completed["ability"]["se"]
            outcome.length[row] = step
            outcome.reason[row] = REASONS[completed["reason"]]
            await candidate.call("detach", candidate.connection_id)
            on_progress(1)

    await asyncio.gather(*(run_one(row) for row in range(len(user_ids))))
    async with database.transaction() as session:  # the SE after each answer, as the graph stored it
        stored = await session.execute(
            select(Response.attempt_id, Response.index, Response.se_after).where(Response.attempt_id.in_(attempt_rows))
        )
        for attempt_id, index, se_after in stored:
            outcome.se_history[attempt_rows[attempt_id], index] = np.nan if se_after is None else se_after
    return outcome
