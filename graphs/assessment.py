"""The live assessment graph (LangGraph): the steps of a host's sessions, compiled once per session host.

    START ──> grade ──> select_question ──> commit ──> END

A step is one message a session handles, on the session's own state passed in: starting (show the first
question), an answer, or an order to finish (the deadline passed). One run of the graph carries the steps
of every session whose message the host is handling at that moment (actors.step_batches), so the graph's
own cost and the transaction's are paid once per batch, not once per answer. For each step `grade`
scores an answer and records it on a copy of the adaptive state (one `record`); `select_question` is the
adaptive core's step (adaptive.assembly: one `choose`, or the reason to finish: the stopping rule's or
the message's); `commit` stores the batch in one transaction (persistence.progress): each step's response
row and its attempt's progress or result, each guarded by the answers counted before that step. The
graph has no checkpointer; the rows `commit` writes are the only durable copy, and a session is rebuilt
from them.

A step whose guard finds its attempt already advanced (a racing writer stored it first) stores nothing
and comes back marked not stored: its session raises `Overtaken` and drops the step's state. The
estimate, the next item, the score and the stored row always come from the same transaction. The
simulator's `fast` mode, fed the same answers, chooses the same items: both go through
`AdaptiveTest.choose` and `record` with the same seeds.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NotRequired, TypedDict

import numpy as np
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from adaptive.assembly import TestDesign, adaptive_test
from adaptive.calibration import CalibratedSet, difficulty_for_b
from adaptive.cat import AdaptiveTest, CatState
from adaptive.exposure import ExposureControl
from adaptive.selection import draws
from domain.enums import FinishReason
from domain.scoring import max_score_for
from graphs.item_supply import ItemSupply, Request, Slot
from llm.prompts import Target
from persistence import progress
from persistence.database import Database
from questions.items import Item
from questions.source import QuestionSource

Clock = Callable[[], datetime]
PRETEST_STEP = 1 << 20  # pretest draws use steps of their own, apart from the selection rule's
SNAPSHOT_FIELDS = ("stem", "options", "explanation", "difficulty", "family", "tags")


class Plan(TypedDict):
    """What an attempt is, fixed when it starts (rebuilt from the attempt and its published test)."""

    attempt_id: int
    attempt_number: int
    started_at: str
    max_questions: int
    min_questions: int
    se_target: float | None
    blueprint: dict[str, int]
    skill_order: list[str]
    job_description: str  # context for generators that write items for the role (the LLM generator)
    generator: NotRequired[str]  # "bank" or "llm"
    passing_score: NotRequired[float]
    theta_cut: NotRequired[float | None]
    classification_stop: NotRequired[bool]
    # Shared, immutable objects (one per process, not per session): the attempt's parameter set and the
    # test's exposure control.
    parameters: NotRequired[CalibratedSet | None]
    exposure: NotRequired[ExposureControl | None]
    pretest_at: NotRequired[list[int]]  # the question indexes that show an unscored pretest item
    feedback: NotRequired[str]  # what the candidate learns of each answer (domain.feedback); "full" if absent


class PendingQuestion(TypedDict):
    question_id: str
    index: int
    entry: int  # the pool entry it came from (a bank item, or the family a fresh variant was drawn from)
    presented_at: str
    item: dict[str, Any]
    pretest: NotRequired[bool]  # unscored: collects responses to calibrate a new item


class Answer(TypedDict, total=False):
    selected_option: str
    finish: str  # instead of an answer: finish the attempt for this reason
    deadline_passed: bool


class Feedback(TypedDict):
    question_id: str
    correct: bool
    correct_option: str
    explanation: str
    selected_option: str


class AssessmentState(TypedDict, total=False):
    plan: Plan
    cat: CatState  # the adaptive state after the answers so far
    asked: list[str]  # item ids: bank, family variant or generated
    stems: list[str]  # the stems asked, for generators to avoid
    answered: int
    score: int
    by_skill: dict[str, list[int]]  # skill -> [answered, correct]
    ability: list[float]  # [theta, standard error] after the answers so far
    pending: PendingQuestion | None
    finish_reason: str | None
    finished: bool
    # What one step carries in and out; not part of the session between steps.
    answer: Answer | None
    response: dict[str, Any] | None
    last_feedback: Feedback | None
    answer_timing: tuple[str, float] | None  # the item of the answer just graded and the seconds it took


class Steps(TypedDict, total=False):
    """One run of the graph: the steps being handled now, and after `commit` whether each was stored."""

    steps: list[AssessmentState]
    stored: list[bool]


class Overtaken(Exception):
    """The attempt moved on before this step could be stored: rebuild the session from the database."""


def question_id_for(attempt_id: int, index: int, item_id: str) -> str:
    """Opaque and stable: reveals neither the bank id nor anything about the key."""
    digest = hashlib.sha256(f"{attempt_id}:{index}:{item_id}".encode()).hexdigest()[:16]
    return f"q{index + 1}-{digest}"


def design_of(plan: Plan) -> TestDesign:
    return TestDesign.of(
        plan["skill_order"],
        plan["blueprint"],
        plan["max_questions"],
        min_items=plan["min_questions"],
        se_target=plan["se_target"],
        passing_score=plan.get("passing_score", 60.0),
        theta_cut=plan.get("theta_cut"),
        classify=plan.get("classification_stop", False),
        parameters=plan.get("parameters"),
        exposure=plan.get("exposure"),
    )


def pretest_positions(attempt_id: int, pretest_items: int, min_questions: int) -> list[int]:
    """Where an attempt's pretest items go: distinct random positions after the first question and within
    the first `min_questions + pretest_items` (given before any precision stop), seeded by the attempt."""
    if pretest_items <= 0:
        return []
    positions = range(1, min_questions + pretest_items)
    return sorted(random.Random(f"pretest:{attempt_id}").sample(positions, min(pretest_items, len(positions))))


def pretest_due(index: int, pretest_at: list[int], scored: int, reason: str | None) -> bool:
    """Whether question `index` is a pretest item: at one of the attempt's pretest positions, or, while some
    are still owed (`scored` of the `index` answers so far counted), at once when the length or precision
    stop would end the test first. The deadline and an order to finish do not wait for them."""
    owed = len(pretest_at) - (index - scored)
    if owed <= 0:
        return False
    if reason is None:
        return index in pretest_at
    return reason in (FinishReason.PRECISION_REACHED, FinishReason.COMPLETED)


def pretest_entry(test: AdaptiveTest, cat: CatState, plan: Plan, index: int, asked: set[str]) -> int:
    """A pretest item for this position: a fixed item of the test's skills not yet given to the candidate,
    at random among those the attempt's parameter set has not calibrated (all of them when it has no set, or
    when every item is calibrated); -1 when none is left."""
    pool = test.pool
    fresh = ~pool.reusable & ~cat.used[0] & np.array([entry not in asked for entry in pool.ids])
    parameters = plan.get("parameters")
    if parameters is not None:
        uncalibrated = fresh & np.array([entry not in parameters.values for entry in pool.ids])
        fresh = uncalibrated if uncalibrated.any() else fresh
    candidates = np.flatnonzero(fresh)
    if candidates.size == 0:
        return -1
    draw = draws(np.array([plan["attempt_id"]]), np.array([PRETEST_STEP + index]), 1)[0, 0]
    return int(candidates[int(draw * candidates.size)])


def shown_length(plan: Plan) -> int:
    """The test's length as the candidate sees it: the scored questions and the pretest ones."""
    return plan["max_questions"] + len(plan.get("pretest_at", []))


def estimate(cat: CatState) -> list[float]:
    """[theta, SE] of a one-candidate adaptive state, as stored and reported."""
    return [round(float(cat.theta[0]), 4), round(float(cat.se[0]), 4)]


def build_assessment_graph(
    database: Database,
    questions: QuestionSource,
    clock: Clock = lambda: datetime.now(UTC),
    supply: ItemSupply | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """`supply` (with an LLM generator) serves generated items to tests whose generator is `llm`; without
    one every test gets bank and family items."""

    def test_of(state: AssessmentState) -> AdaptiveTest:
        return adaptive_test(questions, design_of(state["plan"]))

    def graded(state: AssessmentState) -> AssessmentState:
        answer, pending = state["answer"] or {}, state["pending"]
        if "selected_option" not in answer:
            return state
        assert pending is not None
        item = pending["item"]
        is_correct = answer["selected_option"] == item["key"]
        pretest = bool(pending.get("pretest"))
        cat, by_skill = state["cat"], state["by_skill"]
        if not pretest:  # a pretest answer is stored for calibration and scores nothing
            cat = cat.copy()
            test_of(state).record(cat, np.array([0]), np.array([pending["entry"]]), np.array([is_correct]))
            by_skill = {skill: list(counts) for skill, counts in by_skill.items()}
            counts = by_skill.setdefault(item["skill"], [0, 0])
            counts[0] += 1
            counts[1] += int(is_correct)
        theta, se = estimate(cat)
        now = clock()
        presented_at = datetime.fromisoformat(pending["presented_at"])
        time_taken_s = max(0.0, (now - presented_at).total_seconds())
        return {
            **state,
            "cat": cat,
            "answered": state["answered"] + 1,
            "score": state["score"] + int(is_correct and not pretest),
            "by_skill": by_skill,
            "ability": [theta, se],
            "response": {
                "attempt_id": state["plan"]["attempt_id"],
                "question_id": pending["question_id"],
                "item_id": item["id"],
                "index": pending["index"],
                "pool_entry": pending["entry"],
                "parameter_set_id": parameters.id if (parameters := state["plan"].get("parameters")) else None,
                "skill": item["skill"],
                "item_snapshot": {key: item[key] for key in SNAPSHOT_FIELDS},
                "correct_option": item["key"],
                "selected_option": answer["selected_option"],
                "is_correct": is_correct,
                "presented_at": presented_at,
                "answered_at": now,
                "time_taken_s": time_taken_s,
                "theta_before": state["ability"][0],
                "theta_after": theta,
                "se_after": se,
                "pretest": pretest,
            },
            "answer_timing": (item["id"], time_taken_s),
            "last_feedback": Feedback(
                question_id=pending["question_id"],
                correct=is_correct,
                correct_option=item["key"],
                explanation=item["explanation"],
                selected_option=answer["selected_option"],
            ),
        }

    async def with_next_question(state: AssessmentState) -> AssessmentState:
        """The next question, or the reason to finish: the message's (the deadline) or the stopping rule's."""
        plan, test, cat = state["plan"], test_of(state), state["cat"]
        answer = state.get("answer") or {}
        index = state["answered"]
        reason = answer.get("finish") or test.stopping.reason(
            int(cat.answered[0]),
            float(cat.se[0]),
            deadline_passed=bool(answer.get("deadline_passed")),
            theta=float(cat.theta[0]),
        )
        stems = state["stems"]
        if pretest_due(index, plan.get("pretest_at", []), int(cat.answered[0]), reason):
            entry = pretest_entry(test, cat, plan, index, set(state["asked"]))
            if entry >= 0:
                item = questions.get(test.pool.ids[entry])
                pending = _pending(plan, index, entry, item, pretest=True)
                return {**state, "pending": pending, "asked": [*state["asked"], item.id], "stems": [*stems, item.stem]}
        if reason is not None:
            if supply is not None:
                supply.discard(plan["attempt_id"])
            return {**state, "finish_reason": reason, "pending": None}
        entry = _next_entry(test, cat, plan)
        item = _item_for(test.pool.ids[entry], test.pool.reusable[entry], set(state["asked"]), plan, index)
        if supply is not None and plan.get("generator") == "llm":
            supplied = await supply.take(Slot(plan["attempt_id"], index, entry), _request(test, plan, entry, stems))
            item = supplied.item or item
            _prepare_next(test, state, entry, [*stems, item.stem])
        pending = _pending(plan, index, entry, item)
        return {**state, "pending": pending, "asked": [*state["asked"], item.id], "stems": [*stems, item.stem]}

    def _pending(plan: Plan, index: int, entry: int, item: Item, pretest: bool = False) -> PendingQuestion:
        pending = PendingQuestion(
            question_id=question_id_for(plan["attempt_id"], index, item.id),
            index=index,
            entry=entry,
            presented_at=clock().isoformat(),
            item=item.model_dump(mode="json"),
        )
        if pretest:
            pending["pretest"] = True
        return pending

    def _next_entry(test: AdaptiveTest, cat: CatState, plan: Plan) -> int:
        return int(test.choose(cat, np.array([0]), keys=np.array([plan["attempt_id"]]))[0])

    def _request(test: AdaptiveTest, plan: Plan, entry: int, stems: list[str]) -> Request:
        """What to generate for a pool entry: its skill at its difficulty, with its starting parameters."""
        parameters = test.pool.parameters_of(entry)
        target = Target(
            skill=test.pool.skill_of(entry),
            difficulty=difficulty_for_b(parameters[1]),
            job_description=plan.get("job_description", ""),
            avoid_stems=tuple(stems),
        )
        return Request(target, parameters, fills=test.pool.ids[entry])

    def _prepare_next(test: AdaptiveTest, state: AssessmentState, entry: int, stems: list[str]) -> None:
        """Start generating the items that would follow a right and a wrong answer to this one."""
        assert supply is not None
        plan, index = state["plan"], state["answered"] + 1
        for right in (True, False):
            after = state["cat"].copy()
            test.record(after, np.array([0]), np.array([entry]), np.array([right]))
            scored = int(after.answered[0])
            if test.stopping.reason(scored, float(after.se[0]), theta=float(after.theta[0])) is not None:
                continue
            following = _next_entry(test, after, plan)
            supply.prepare(Slot(plan["attempt_id"], index, following), _request(test, plan, following, stems))

    def _item_for(entry_id: str, reusable: bool, asked: set[str], plan: Plan, index: int) -> Item:
        """The bank item itself, or a fresh variant of the family (seeded by attempt and position)."""
        if not reusable:
            return questions.get(entry_id)
        family = questions.family(entry_id)
        rng = random.Random(f"{plan['attempt_id']}:{index}")
        while True:
            variant = family.generate(rng.randrange(2**31))
            if variant.id not in asked:
                return variant

    def write_of(state: AssessmentState) -> progress.Step:
        response = state.get("response")
        finish = state.get("finish_reason")
        result = None
        if finish is not None:
            reason = FinishReason(finish)
            scored = int(state["cat"].answered[0])  # pretest answers are not scored
            result = progress.Result(reason, max_score_for(reason, scored, state["plan"]["max_questions"]))
        pending = state.get("pending")
        theta, se = state["ability"]
        return progress.Step(
            attempt_id=state["plan"]["attempt_id"],
            answered_before=state["answered"] - (response is not None),
            answered=state["answered"],
            score=state["score"],
            theta=theta,
            se=se,
            pending_question=dict(pending) if pending is not None else None,
            response=response,
            result=result,
        )

    # Each node maps its work over the batch (LangGraph's node protocol names the argument `state`). The
    # nodes are coroutines although only two await: under `ainvoke` LangGraph runs a plain function in a
    # thread pool, a thread hop per node.

    async def grade(state: Steps) -> Steps:
        return {"steps": [graded(step) for step in state["steps"]]}

    async def select_question(state: Steps) -> Steps:
        # One after another: only a test with an LLM generator awaits here, and its steps run alone.
        return {"steps": [await with_next_question(step) for step in state["steps"]]}

    async def commit(state: Steps) -> Steps:
        writes = [write_of(step) for step in state["steps"]]
        stored = await progress.commit(database, writes, clock())
        return {
            "steps": [
                {**step, "finished": write.result is not None, "response": None, "answer": None}
                for step, write in zip(state["steps"], writes, strict=True)
            ],
            "stored": stored,
        }

    builder = StateGraph(Steps)
    builder.add_node("grade", grade)
    builder.add_node("select_question", select_question)
    builder.add_node("commit", commit)
    builder.add_edge(START, "grade")
    builder.add_edge("grade", "select_question")
    builder.add_edge("select_question", "commit")
    builder.add_edge("commit", END)
    return builder.compile()
