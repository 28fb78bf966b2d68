"""One live assessment as an actor: private state, one mailbox, messages handled one at a time.

A session is a thin shell around its graph thread: everything that must survive a crash lives in the
checkpointer (thread = attempt id) and the database. Any host can therefore rebuild a session from
nothing but its attempt id; that is how sessions move when a host dies.

Failure rules (after pykka): a `Refused` raised while handling a message goes back to the caller as a
protocol error; anything else is the host's to report as `internal`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from domain.enums import FinishReason
from domain.errors import Refused
from domain.scoring import max_score_for, percentage
from domain.skill_graph import blueprint, check_skill_graph, skill_nodes
from graphs.assessment import AssessmentState as GraphState
from graphs.assessment import Plan, initial_state
from persistence import attempts
from persistence.database import Database
from persistence.models import Attempt, Test
from serve_app import protocol

# Answers that land within this much of the deadline still count: they left the client in time.
DEADLINE_GRACE_S = 1.0


class Phase(StrEnum):
    NEW = "not_started"
    AWAITING_ANSWER = "in_progress"
    FINISHED = "completed"


@dataclass
class SessionContext:
    """What a host gives each of its sessions: the graph compiled once, and the store."""

    graph: CompiledStateGraph[Any, Any, Any, Any]
    database: Database


def _now() -> datetime:
    return datetime.now(UTC)


class AssessmentSession:
    def __init__(self, attempt_id: int, context: SessionContext) -> None:
        self.attempt_id = attempt_id
        self._context = context
        self._config = RunnableConfig(configurable={"thread_id": str(attempt_id)})
        self._mailbox = asyncio.Lock()
        self._state: GraphState = {}
        self._loaded = False  # the session is its thread's only writer, so a loaded state stays current
        self._clock: attempts.AttemptClock | None = None  # the database's, read on every message: authoritative
        self.last_activity = _now()

    # -- the mailbox -------------------------------------------------------------------------------

    async def start(self) -> list[protocol.ServerMessage]:
        async with self._mailbox:
            self._touch()
            resumed = await self._load()
            if not resumed:
                attempt, test = await self._attempt()
                self._state = await self._run(initial_state(plan_for(attempt, test)))
            elif self.phase is Phase.AWAITING_ANSWER and self.remaining_s <= 0:
                raise SessionExpired(await self._finish(FinishReason.TIME_EXPIRED))
            return self._opening(resumed)

    async def submit(self, question_id: str, selected_option: str) -> list[protocol.ServerMessage]:
        async with self._mailbox:
            self._touch()
            await self._load()
            phase = self.phase
            if phase is Phase.NEW:
                raise Refused("not_started", "start the assessment before answering")
            pending = self._state.get("pending")
            if phase is Phase.FINISHED or pending is None or question_id != pending["question_id"]:
                duplicate = await self._duplicate_feedback(question_id, selected_option)
                if duplicate is not None:
                    return [duplicate]
                if phase is Phase.FINISHED:
                    raise Refused("already_completed", "this attempt is already completed")
                raise Refused("question_mismatch", "that is not the question waiting for an answer")
            if selected_option not in {option["id"] for option in pending["item"]["options"]}:
                raise Refused("invalid_message", f"selected_option must be one of {_option_ids(pending)}")
            if self.remaining_s < -DEADLINE_GRACE_S:
                raise SessionExpired(await self._finish(FinishReason.TIME_EXPIRED))
            answer = {"selected_option": selected_option, "deadline": self.deadline.isoformat()}
            self._state = await self._run(Command(resume=answer))
            return self._after_answer()

    async def settle(self) -> None:
        """Return once the message in progress on this session, if any, is done (written or refused)."""
        async with self._mailbox:
            pass

    async def expire(self) -> list[protocol.ServerMessage]:
        """Finalize with `time_expired` if the deadline passed; nothing happens otherwise."""
        async with self._mailbox:
            await self._load()
            if self.phase is Phase.FINISHED or self.remaining_s > 0:
                return []
            return await self._finish(FinishReason.TIME_EXPIRED)

    async def state(self) -> protocol.AssessmentState:
        async with self._mailbox:
            self._touch()
            await self._load()
            pending = self._state.get("pending")
            return protocol.AssessmentState(
                attempt_id=self.attempt_id,
                status=self.phase.value,
                answered=self._state.get("answered", 0),
                pending_question_id=pending["question_id"] if pending and self.phase is Phase.AWAITING_ANSWER else None,
                remaining_s=round(max(self.remaining_s, 0.0), 3) if self._state else None,
            )

    async def pending_for_simulation(self) -> dict[str, Any] | None:
        """The waiting question's pool entry, item id and key, for the simulator's `live` mode.

        Hosts expose this only as an actor method; no socket message reaches it."""
        async with self._mailbox:
            await self._load()
            pending = self._state.get("pending")
            if pending is None or self.phase is not Phase.AWAITING_ANSWER:
                return None
            return {"entry": pending["entry"], "item_id": pending["item"]["id"], "key": pending["item"]["key"]}

    # -- state ---------------------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        if not self._state:
            return Phase.NEW
        return Phase.FINISHED if self._state.get("finished") else Phase.AWAITING_ANSWER

    @property
    def deadline(self) -> datetime:
        assert self._clock is not None
        return self._clock.deadline

    @property
    def owner(self) -> tuple[int, int]:
        """(test id, user id) of the attempt, as read with the deadline."""
        assert self._clock is not None
        return self._clock.test_id, self._clock.user_id

    @property
    def remaining_s(self) -> float:
        return (self.deadline - _now()).total_seconds()

    def _touch(self) -> None:
        self.last_activity = _now()

    async def _load(self) -> bool:
        """The thread's state (read from the checkpoint once) and the attempt's current deadline and owner.

        True when the attempt had already begun."""
        if not self._loaded:
            snapshot = await self._context.graph.aget_state(self._config)
            self._state = cast(GraphState, snapshot.values) if snapshot and snapshot.values else {}
            self._loaded = True
        async with self._context.database.transaction() as session:
            self._clock = await attempts.clock_of(session, self.attempt_id)
        if self._clock is None:
            raise Refused("not_started", f"attempt {self.attempt_id} does not exist")
        return bool(self._state)

    async def _run(self, graph_input: Any) -> GraphState:
        """Advance the graph to its next pause. The checkpoint is written before this returns
        (durability "exit": once per run, not per step; `grade` is idempotent, so a crash mid-run
        only replays it), so before anything is acknowledged."""
        try:
            values = await self._context.graph.ainvoke(graph_input, self._config, durability="exit")
        except BaseException:
            self._loaded = False  # re-read the checkpoint on the next message
            raise
        return cast(GraphState, {key: value for key, value in values.items() if not key.startswith("__")})

    async def _attempt(self) -> tuple[Attempt, Test]:
        async with self._context.database.transaction() as session:
            attempt = await attempts.get_attempt(session, self.attempt_id)
            test = await session.get(Test, attempt.test_id) if attempt else None
        if attempt is None or test is None:
            raise Refused("not_started", f"attempt {self.attempt_id} does not exist")
        return attempt, test

    async def _finish(self, reason: FinishReason) -> list[protocol.ServerMessage]:
        self._state = await self._run(Command(resume={"finish": reason.value}))
        return [self._completed()]

    async def _duplicate_feedback(self, question_id: str, selected_option: str) -> protocol.AnswerFeedback | None:
        async with self._context.database.transaction() as session:
            stored = await attempts.find_response(session, self.attempt_id, question_id)
        if stored is None:
            return None
        if stored.selected_option != selected_option:
            raise Refused("already_answered", "this question was already answered with another option")
        return protocol.AnswerFeedback(
            question_id=question_id,
            correct=stored.is_correct,
            correct_option=stored.correct_option,
            explanation=stored.explanation,
            duplicate=True,
        )

    # -- outbound messages ---------------------------------------------------------------------------

    def _opening(self, resumed: bool) -> list[protocol.ServerMessage]:
        plan = self._state["plan"]
        if self.phase is Phase.FINISHED:
            return [self._completed()]
        return [
            protocol.AssessmentStarted(
                attempt_id=self.attempt_id,
                attempt_number=plan["attempt_number"],
                resumed=resumed,
                started_at=datetime.fromisoformat(plan["started_at"]),
                deadline=self.deadline,
                remaining_s=round(max(self.remaining_s, 0.0), 3),
                max_questions=plan["max_questions"],
                answered=self._state["answered"],
            ),
            self._question(),
        ]

    def _after_answer(self) -> list[protocol.ServerMessage]:
        feedback = self._state["last_feedback"]
        assert feedback is not None
        messages: list[protocol.ServerMessage] = [
            protocol.AnswerFeedback(
                question_id=feedback["question_id"],
                correct=feedback["correct"],
                correct_option=feedback["correct_option"],
                explanation=feedback["explanation"],
                duplicate=False,
            ),
            self._progress(),
        ]
        messages.append(self._completed() if self.phase is Phase.FINISHED else self._question())
        return messages

    def _question(self) -> protocol.Question:
        pending = self._state["pending"]
        assert pending is not None
        item = pending["item"]
        return protocol.Question(
            question_id=pending["question_id"],
            index=pending["index"],
            text=item["stem"],
            options=[protocol.QuestionOption(**option) for option in item["options"]],
            skill=item["skill"],
            deadline=self.deadline,
        )

    def _progress(self) -> protocol.ProgressUpdate:
        plan = self._state["plan"]
        answered = self._state["answered"]
        return protocol.ProgressUpdate(
            answered=answered,
            max_questions=plan["max_questions"],
            completion_pct=round(100 * answered / plan["max_questions"], 2),
            score=self._state["score"],
            elapsed_s=round((_now() - datetime.fromisoformat(plan["started_at"])).total_seconds(), 3),
            remaining_s=round(max(self.remaining_s, 0.0), 3),
        )

    def _completed(self) -> protocol.AssessmentCompleted:
        state = self._state
        plan = state["plan"]
        reason = FinishReason(state.get("finish_reason") or FinishReason.COMPLETED)
        max_score = max_score_for(reason, state["answered"], plan["max_questions"])
        theta, se = state.get("ability", [0.0, 1.0])
        started = datetime.fromisoformat(plan["started_at"])
        ended = min(_now(), self.deadline)
        return protocol.AssessmentCompleted(
            attempt_id=self.attempt_id,
            reason=reason.value,  # type: ignore[arg-type]
            score=state["score"],
            max_score=max_score,
            percentage=percentage(state["score"], max_score),
            ability=protocol.Ability(theta=theta, se=se),
            skills=[
                protocol.SkillResult(skill=skill, answered=counts[0], correct=counts[1])
                for skill, counts in state["by_skill"].items()
            ],
            duration_s=round(max((ended - started).total_seconds(), 0.0), 3),
        )


def _option_ids(pending: Any) -> str:
    return ", ".join(option["id"] for option in pending["item"]["options"])


class SessionExpired(Refused):
    """`time_expired`, carrying the `assessment_completed` to send after the error."""

    def __init__(self, messages: list[protocol.ServerMessage]) -> None:
        super().__init__("time_expired", "the deadline has passed; the attempt was submitted as it stood")
        self.messages = messages


def plan_for(attempt: Attempt, test: Test) -> Plan:
    nodes = skill_nodes(test.skills)
    return Plan(
        attempt_id=attempt.id,
        attempt_number=attempt.number,
        started_at=attempt.started_at.isoformat(),
        deadline=attempt.deadline.isoformat(),
        max_questions=attempt.max_questions,
        min_questions=min(test.min_questions, attempt.max_questions),
        se_target=test.se_target,
        blueprint=blueprint(nodes, attempt.max_questions),
        skill_order=list(check_skill_graph(nodes)),
        job_description=test.job_description,
        generator=test.generator.value,
    )
