"""One live assessment as an actor: private state, one mailbox, messages handled one at a time.

A session holds its attempt's state in memory between messages: the plan, the adaptive state (kept
incrementally: one `record` and one `choose` per answer), the counters, the question waiting and the
deadline. Each message runs the assessment graph once on that state, and the graph's `commit` stores the
step in one transaction before anything is acknowledged. That transaction's rows are the only durable
copy, so any host can rebuild a session from nothing but its attempt id (one replay of the stored answers):
that is how sessions move when a host dies, and what a session does when its write finds the attempt
already advanced by another writer.

The deadline is read once, when the session is built, and moved by `set_deadline` when extra time is
granted; before refusing an answer as late, the session reads the stored deadline again.

Failure rules (after pykka): a `Refused` raised while handling a message goes back to the caller as a
protocol error; anything else is the host's to report as `internal`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from actors.batches import Batches
from actors.step_batches import StepBatches
from adaptive.assembly import adaptive_test
from adaptive.calibration import CalibratedSet
from adaptive.decision import decide, scaled_score
from adaptive.pool import ItemPool
from domain.enums import AttemptStatus, FeedbackPolicy, FinishReason
from domain.errors import Refused
from domain.feedback import shows_correctness, shows_key
from domain.scoring import max_score_for, percentage
from domain.skill_graph import blueprint, check_skill_graph, skill_nodes
from graphs.assessment import (
    Answer,
    AssessmentState,
    Overtaken,
    Plan,
    design_of,
    estimate,
    pretest_positions,
    shown_length,
)
from persistence import attempts, catalog, integrity, progress
from persistence.database import Database
from persistence.models import Attempt, Test
from questions.source import QuestionSource
from wire import protocol

# Answers that land within this much of the deadline still count: they left the client in time.
DEADLINE_GRACE_S = 1.0
MAX_INTEGRITY_EVENTS = 500  # kept per attempt while its session lives (the ingress also limits their rate)
STEP_ONLY = ("answer", "response")  # what a graph run carries in and out, not kept between messages


class Phase(StrEnum):
    NEW = "not_started"
    AWAITING_ANSWER = "in_progress"
    FINISHED = "completed"


@dataclass
class SessionContext:
    """What a host gives each of its sessions: the graph's batches, the store and the questions."""

    steps: StepBatches  # the graph, compiled once, run over batches of the host's steps
    loads: Batches[int, progress.StoredAttempt | None]  # sessions rebuilt together read their rows together
    database: Database
    questions: QuestionSource


def _now() -> datetime:
    return datetime.now(UTC)


class AssessmentSession:
    def __init__(self, attempt_id: int, context: SessionContext) -> None:
        self.attempt_id = attempt_id
        self._context = context
        self._mailbox = asyncio.Lock()
        self._state: AssessmentState | None = None  # None until built from the database
        self.deadline = _now()
        self.owner = (0, 0)  # (test id, user id), read with the state
        self.last_activity = _now()
        self._integrity_noted = 0

    # -- the mailbox -------------------------------------------------------------------------------

    async def start(self) -> list[protocol.ServerMessage]:
        async with self._mailbox:
            self._touch()
            await self._load()
            if self.phase is Phase.NEW:
                try:
                    await self._run(None)
                except Overtaken:  # another writer showed the first question: resume it
                    await self._load()
                    return await self._opening(resumed=True)
                return await self._opening(resumed=self._answered > 0)
            return await self._opening(resumed=True)

    async def submit(self, question_id: str, selected_option: str) -> list[protocol.ServerMessage]:
        async with self._mailbox:
            self._touch()
            await self._load()
            try:
                return await self._submit(question_id, selected_option)
            except Overtaken:  # the attempt moved on under us: answer from what was stored
                await self._load()
                return await self._submit(question_id, selected_option)

    async def settle(self) -> None:
        """Return once the message in progress on this session, if any, is done (written or refused)."""
        async with self._mailbox:
            pass

    async def expire(self) -> list[protocol.ServerMessage]:
        """Finalize with `time_expired` if the stored deadline passed; nothing happens otherwise. (The
        deadline timer and the registry's sweep call this, not messages: it reads the stored deadline.)"""
        async with self._mailbox:
            await self._load()
            if self.phase is Phase.FINISHED:
                return []
            await self._refresh_deadline()
            if self.remaining_s > 0:
                return []
            return await self._finish(FinishReason.TIME_EXPIRED)

    async def note_integrity(self, kind: str, occurred_at: datetime | None, detail: str | None) -> dict[str, Any]:
        """Store an integrity signal the candidate's client reported, against the question on screen. The
        adaptive state and the score are not touched. Returns the progress the monitor shows beside it."""
        async with self._mailbox:
            self._touch()
            await self._load()
            phase = self.phase
            if phase is Phase.NEW:
                raise Refused("not_started", "start the assessment before reporting integrity events")
            if phase is Phase.FINISHED:
                raise Refused("already_completed", "this attempt is already completed")
            if self._integrity_noted >= MAX_INTEGRITY_EVENTS:
                raise Refused("rate_limited", f"at most {MAX_INTEGRITY_EVENTS} integrity events are kept per attempt")
            self._integrity_noted += 1
            noted = {"answered": self._answered, "score": self._loaded["score"], "question_index": self._answered + 1}
        async with self._context.database.transaction() as session:
            integrity.record(session, self.attempt_id, kind, noted["question_index"], occurred_at, detail)
        return noted

    def set_deadline(self, deadline: datetime) -> None:
        """Extra time was granted (the database already holds the new deadline)."""
        self.deadline = deadline

    async def state(self) -> protocol.AssessmentState:
        async with self._mailbox:
            self._touch()
            await self._load()
            phase = self.phase
            pending = self._loaded["pending"]
            return protocol.AssessmentState(
                attempt_id=self.attempt_id,
                status=phase.value,
                answered=self._answered,
                pending_question_id=pending["question_id"] if pending and phase is Phase.AWAITING_ANSWER else None,
                remaining_s=None if phase is Phase.NEW else round(max(self.remaining_s, 0.0), 3),
            )

    async def pending_for_simulation(self) -> dict[str, Any] | None:
        """The waiting question's pool entry, item id and key, for the simulator's `live` mode.

        Hosts expose this only as an actor method; no socket message reaches it."""
        async with self._mailbox:
            await self._load()
            pending = self._loaded["pending"]
            if pending is None or self.phase is not Phase.AWAITING_ANSWER:
                return None
            return {"entry": pending["entry"], "item_id": pending["item"]["id"], "key": pending["item"]["key"]}

    # -- state ---------------------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        state = self._loaded
        if state.get("finished"):
            return Phase.FINISHED
        return Phase.NEW if state["pending"] is None else Phase.AWAITING_ANSWER

    @property
    def finished(self) -> bool:
        return self._state is not None and bool(self._state.get("finished"))

    @property
    def answer_timing(self) -> tuple[str, float] | None:
        """The item of the answer just stored and the seconds it took (None before the first answer)."""
        return self._state.get("answer_timing") if self._state is not None else None

    @property
    def remaining_s(self) -> float:
        return (self.deadline - _now()).total_seconds()

    @property
    def _loaded(self) -> AssessmentState:
        assert self._state is not None
        return self._state

    @property
    def _answered(self) -> int:
        return self._loaded["answered"]

    def _touch(self) -> None:
        self.last_activity = _now()

    async def _load(self) -> None:
        """Build the state from the stored rows, once (again only after a failed or overtaken step)."""
        if self._state is not None:
            return
        stored = await self._context.loads.submit(self.attempt_id)
        if stored is None:
            raise Refused("not_started", f"attempt {self.attempt_id} does not exist")
        self._state = rebuilt_state(stored, self._context.questions)
        self.deadline = stored.attempt.deadline
        self.owner = (stored.attempt.test_id, stored.attempt.user_id)

    async def _run(self, answer: Answer | None) -> None:
        """One step through the graph, stored by its `commit` before this returns."""
        try:
            values = await self._context.steps.run({**self._loaded, "answer": answer})
        except BaseException:
            self._state = None  # rebuild from the database on the next message
            raise
        self._state = cast(AssessmentState, {key: value for key, value in values.items() if key not in STEP_ONLY})

    async def _submit(self, question_id: str, selected_option: str) -> list[protocol.ServerMessage]:
        phase = self.phase
        if phase is Phase.NEW:
            raise Refused("not_started", "start the assessment before answering")
        pending = self._loaded["pending"]
        if phase is Phase.FINISHED or pending is None or question_id != pending["question_id"]:
            duplicate = await self._duplicate_feedback(question_id, selected_option)
            if duplicate is not None:
                return [duplicate]
            if phase is Phase.FINISHED:
                raise Refused("already_completed", "this attempt is already completed")
            raise Refused("question_mismatch", "that is not the question waiting for an answer")
        if selected_option not in {option["id"] for option in pending["item"]["options"]}:
            raise Refused("invalid_message", f"selected_option must be one of {_option_ids(pending)}")
        if await self._deadline_passed(grace_s=DEADLINE_GRACE_S):
            raise SessionExpired(await self._finish(FinishReason.TIME_EXPIRED))
        await self._run(Answer(selected_option=selected_option, deadline_passed=self.remaining_s <= 0))
        return self._after_answer()

    async def _deadline_passed(self, grace_s: float) -> bool:
        """Past the deadline by more than `grace_s`, by the deadline held and, if so, by the stored one."""
        if self.remaining_s >= -grace_s:
            return False
        await self._refresh_deadline()
        return self.remaining_s < -grace_s

    async def _refresh_deadline(self) -> None:
        stored = await progress.deadline_of(self._context.database, self.attempt_id)
        if stored is not None:
            self.deadline = stored

    async def _finish(self, reason: FinishReason) -> list[protocol.ServerMessage]:
        try:
            await self._run(Answer(finish=reason.value))
        except Overtaken:  # finished or advanced by another writer: report what was stored
            await self._load()
            if self.phase is not Phase.FINISHED:
                await self._run(Answer(finish=reason.value))
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

    async def _opening(self, resumed: bool) -> list[protocol.ServerMessage]:
        if self.phase is Phase.AWAITING_ANSWER and await self._deadline_passed(grace_s=0.0):
            raise SessionExpired(await self._finish(FinishReason.TIME_EXPIRED))
        if self.phase is Phase.FINISHED:
            return [self._completed()]
        plan = self._loaded["plan"]
        return [
            protocol.AssessmentStarted(
                attempt_id=self.attempt_id,
                attempt_number=plan["attempt_number"],
                resumed=resumed,
                started_at=datetime.fromisoformat(plan["started_at"]),
                deadline=self.deadline,
                remaining_s=round(max(self.remaining_s, 0.0), 3),
                max_questions=shown_length(plan),
                answered=self._answered,
            ),
            self._question(),
        ]

    def _after_answer(self) -> list[protocol.ServerMessage]:
        feedback = self._loaded["last_feedback"]
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

    def shown(self, messages: list[protocol.ServerMessage]) -> list[protocol.ServerMessage]:
        """The messages as the candidate may see them under the test's feedback policy (domain.feedback);
        the session and the recruiters' activity feed keep the whole truth."""
        policy = FeedbackPolicy(self._loaded["plan"].get("feedback", FeedbackPolicy.FULL))
        if policy is FeedbackPolicy.FULL:
            return messages
        return [_as_shown(message, policy) for message in messages]

    def _question(self) -> protocol.Question:
        pending = self._loaded["pending"]
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
        state = self._loaded
        plan, answered = state["plan"], state["answered"]
        return protocol.ProgressUpdate(
            answered=answered,
            max_questions=shown_length(plan),
            completion_pct=round(100 * answered / shown_length(plan), 2),
            score=state["score"],
            elapsed_s=round((_now() - datetime.fromisoformat(plan["started_at"])).total_seconds(), 3),
            remaining_s=round(max(self.remaining_s, 0.0), 3),
        )

    def _completed(self) -> protocol.AssessmentCompleted:
        state = self._loaded
        plan = state["plan"]
        reason = FinishReason(state.get("finish_reason") or FinishReason.COMPLETED)
        max_score = max_score_for(reason, int(state["cat"].answered[0]), plan["max_questions"])
        theta, se = state["ability"]
        started = datetime.fromisoformat(plan["started_at"])
        ended = min(_now(), self.deadline)
        test = adaptive_test(self._context.questions, design_of(plan))
        per_skill = {estimate.skill: estimate for estimate in test.skill_estimates(state["cat"])}
        cut = test.stopping.cut
        decision = decide(theta, cut) if cut is not None else None
        return protocol.AssessmentCompleted(
            attempt_id=self.attempt_id,
            reason=reason.value,  # type: ignore[arg-type]
            score=state["score"],
            max_score=max_score,
            percentage=percentage(state["score"], max_score),
            ability=protocol.Ability(theta=theta, se=se),
            skills=[
                protocol.SkillResult(
                    skill=skill,
                    answered=counts[0],
                    correct=counts[1],
                    theta=per_skill[skill].theta if skill in per_skill else None,
                    se=per_skill[skill].se if skill in per_skill else None,
                )
                for skill, counts in state["by_skill"].items()
            ],
            duration_s=round(max((ended - started).total_seconds(), 0.0), 3),
            decision=decision.value if decision else None,  # type: ignore[arg-type]
            theta_cut=cut,
            scaled_score=scaled_score(theta),
        )


def _as_shown(message: protocol.ServerMessage, policy: FeedbackPolicy) -> protocol.ServerMessage:
    match message:
        case protocol.AnswerFeedback():
            hidden = {} if shows_key(policy) else {"correct_option": None, "explanation": None}
            return message.model_copy(update=hidden if shows_correctness(policy) else {**hidden, "correct": None})
        case protocol.ProgressUpdate() if not shows_correctness(policy):
            return message.model_copy(update={"score": None})  # a running score tells right from wrong
    return message


def _option_ids(pending: Any) -> str:
    return ", ".join(option["id"] for option in pending["item"]["options"])


class SessionExpired(Refused):
    """`time_expired`, carrying the `assessment_completed` to send after the error."""

    def __init__(self, messages: list[protocol.ServerMessage]) -> None:
        super().__init__("time_expired", "the deadline has passed; the attempt was submitted as it stood")
        self.messages = messages


def plan_for(attempt: Attempt, test: Test, parameters: CalibratedSet | None = None) -> Plan:
    """The attempt's plan: its own length and parameter set, and its test's skill graph and rules (fixed once
    the test is published)."""
    nodes = skill_nodes(test.skills)
    return Plan(
        attempt_id=attempt.id,
        attempt_number=attempt.number,
        started_at=attempt.started_at.isoformat(),
        max_questions=attempt.max_questions,
        min_questions=min(test.min_questions, attempt.max_questions),
        se_target=test.se_target,
        blueprint=blueprint(nodes, attempt.max_questions),
        skill_order=list(check_skill_graph(nodes)),
        job_description=test.job_description,
        generator=test.generator.value,
        passing_score=test.passing_score,
        theta_cut=test.theta_cut,
        classification_stop=test.classification_stop,
        parameters=parameters,
        exposure=catalog.exposure_of(test),
        pretest_at=pretest_positions(attempt.id, test.pretest_items, min(test.min_questions, attempt.max_questions)),
        feedback=test.feedback.value,
    )


def rebuilt_state(stored: progress.StoredAttempt, questions: QuestionSource) -> AssessmentState:
    """The session's state from its stored rows: one replay of the answers so far."""
    attempt, rows = stored.attempt, stored.responses
    plan = plan_for(attempt, stored.test, stored.parameters)
    test = adaptive_test(questions, design_of(plan))
    scored = [row for row in rows if not row.pretest]
    cat = test.replay([_entry_of(test.pool, row) for row in scored], [row.is_correct for row in scored], attempt.id)
    by_skill: dict[str, list[int]] = {}
    for row in scored:
        counts = by_skill.setdefault(row.skill, [0, 0])
        counts[0] += 1
        counts[1] += int(row.is_correct)
    pending = attempt.pending_question
    finished = attempt.status is not AttemptStatus.IN_PROGRESS
    stored_ability = [attempt.ability_theta, attempt.ability_se]
    return AssessmentState(
        plan=plan,
        cat=cat,
        asked=[row.item_id for row in rows] + ([pending["item"]["id"]] if pending else []),
        stems=[row.stem for row in rows] + ([pending["item"]["stem"]] if pending else []),
        answered=len(rows),
        score=sum(row.is_correct for row in scored),
        by_skill=by_skill,
        ability=cast(list[float], stored_ability) if finished and None not in stored_ability else estimate(cat),
        pending=cast(Any, pending) if not finished else None,
        finish_reason=attempt.finish_reason.value if attempt.finish_reason else None,
        finished=finished,
        last_feedback=None,
    )


def _entry_of(pool: ItemPool, row: progress.AnsweredRow) -> int:
    """The pool entry a stored response came from (a generated item of a row stored before revision 0002:
    its skill's first entry)."""
    entry = pool.stored_entry(row.pool_entry, row.item_id, row.family)
    return entry if entry is not None else int(pool.skill.tolist().index(pool.skills.index(row.skill)))
