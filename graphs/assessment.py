"""The live assessment graph (LangGraph), compiled once per session host.

select_question ──> await_answer ──(interrupt: the candidate answers)──> grade ──> select_question ...
        └────────(length reached, precision reached or deadline passed)────────> finalize ──> END

`select_question` is the adaptive core's step (adaptive.assembly): the most informative eligible item for
the current ability estimate, within the skill furthest behind the blueprint. The state keeps only the
pool entries given and whether each answer was right; the estimate is replayed from them, so the
simulator's `fast` mode, fed the same answers, chooses the same items.

One thread per attempt (`thread_id` = attempt id) in a checkpointer on the project's database. The only
node that pauses is `await_answer`, and it does nothing before `interrupt()`, so its re-run on resume is
free; `grade` writes the response with an idempotent upsert, so a re-run after a crash stores nothing
twice.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, NotRequired, TypedDict

import numpy as np
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import interrupt

from adaptive.assembly import TestDesign, adaptive_test
from adaptive.calibration import difficulty_for_b
from adaptive.cat import AdaptiveTest
from domain.enums import FinishReason
from domain.scoring import max_score_for
from generation.prefetch import Prefetcher, Request, Slot
from generation.prompts import Target
from persistence import attempts
from persistence.database import Database
from questions.items import Item
from questions.source import QuestionSource

Clock = Callable[[], datetime]


class Plan(TypedDict):
    """What an attempt is, fixed when it starts."""

    attempt_id: int
    attempt_number: int
    started_at: str
    deadline: str
    max_questions: int
    min_questions: int
    se_target: float | None
    blueprint: dict[str, int]
    skill_order: list[str]
    job_description: str  # context for generators that write items for the role (the LLM generator)
    generator: NotRequired[str]  # "bank" or "llm"; plans written before generation have none (bank)


class PendingQuestion(TypedDict):
    question_id: str
    index: int
    entry: int  # the pool entry it came from (a bank item, or the family a fresh variant was drawn from)
    presented_at: str
    item: dict[str, Any]


class Feedback(TypedDict):
    question_id: str
    correct: bool
    correct_option: str
    explanation: str
    selected_option: str


class AssessmentState(TypedDict, total=False):
    plan: Plan
    asked: list[str]  # item ids: bank, family variant or generated
    stems: list[str]  # the stems asked, for generators to avoid
    given: list[int]  # pool entries, in order
    right: list[bool]  # the answers' correctness, in order
    pending: PendingQuestion | None
    answer: dict[str, Any] | None
    answered: int
    score: int
    by_skill: dict[str, list[int]]  # skill -> [answered, correct]
    ability: list[float]  # [theta, standard error] after the answers so far
    last_feedback: Feedback | None
    finish_reason: str | None
    finished: bool


def initial_state(plan: Plan) -> AssessmentState:
    return AssessmentState(
        plan=plan,
        asked=[],
        stems=[],
        given=[],
        right=[],
        pending=None,
        answer=None,
        answered=0,
        score=0,
        by_skill={},
        ability=[0.0, 1.0],
        last_feedback=None,
        finish_reason=None,
        finished=False,
    )


def question_id_for(attempt_id: int, index: int, item_id: str) -> str:
    """Opaque and stable: reveals neither the bank id nor anything about the key."""
    digest = hashlib.sha256(f"{attempt_id}:{index}:{item_id}".encode()).hexdigest()[:16]
    return f"q{index + 1}-{digest}"


def design_of(plan: Plan) -> TestDesign:
    return TestDesign.of(
        plan["skill_order"],
        plan["blueprint"],
        plan["max_questions"],
        plan.get("min_questions", plan["max_questions"]),  # plans written before adaptive stopping
        plan.get("se_target"),
    )


def replayed(test: AdaptiveTest, state: AssessmentState) -> tuple[Any, float, float]:
    """The adaptive state after the stored answers, and its (theta, SE)."""
    cat = test.replay(state.get("given", []), state.get("right", []))
    return cat, round(float(cat.theta[0]), 4), round(float(cat.se[0]), 4)


def build_assessment_graph(
    database: Database,
    questions: QuestionSource,
    checkpointer: BaseCheckpointSaver[Any],
    clock: Clock = lambda: datetime.now(UTC),
    prefetcher: Prefetcher | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """`prefetcher` (with an LLM generator) serves generated items to tests whose generator is `llm`;
    without one every test gets bank and family items."""

    async def select_question(state: AssessmentState) -> AssessmentState:
        plan = state["plan"]
        test = adaptive_test(questions, design_of(plan))
        cat, _, se = replayed(test, state)
        passed = clock() >= datetime.fromisoformat(plan["deadline"])
        reason = test.stopping.reason(state["answered"], se, deadline_passed=passed)
        if reason is not None:
            if prefetcher is not None:
                prefetcher.discard(plan["attempt_id"])
            return {"finish_reason": reason, "pending": None}
        index = state["answered"]
        entry = _next_entry(test, cat, plan, index)
        item = _item_for(test.pool.ids[entry], test.pool.reusable[entry], set(state["asked"]), plan, index)
        if prefetcher is not None and plan.get("generator") == "llm":
            stems = state.get("stems", [])
            generated = await prefetcher.take(
                Slot(plan["attempt_id"], index, entry), _request(test, plan, entry, stems)
            )
            item = generated.item or item
            _prepare_next(test, state, entry, [*stems, item.stem])
        pending = PendingQuestion(
            question_id=question_id_for(plan["attempt_id"], index, item.id),
            index=index,
            entry=entry,
            presented_at=clock().isoformat(),
            item=item.model_dump(mode="json"),
        )
        return {"pending": pending, "asked": [*state["asked"], item.id], "stems": [*state.get("stems", []), item.stem]}

    def _next_entry(test: AdaptiveTest, cat: Any, plan: Plan, index: int) -> int:
        return int(test.choose(cat, np.array([0]), np.random.default_rng([plan["attempt_id"], index]))[0])

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
        assert prefetcher is not None
        plan, index = state["plan"], state["answered"] + 1
        for right in (True, False):
            after = {**state, "given": [*state.get("given", []), entry], "right": [*state.get("right", []), right]}
            cat, _, se = replayed(test, after)  # type: ignore[arg-type]
            if test.stopping.reason(index, se, deadline_passed=False) is not None:
                continue
            following = _next_entry(test, cat, plan, index)
            prefetcher.prepare(Slot(plan["attempt_id"], index, following), _request(test, plan, following, stems))

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

    def await_answer(state: AssessmentState) -> AssessmentState:
        pending = state["pending"]
        assert pending is not None
        return {"answer": interrupt({"question_id": pending["question_id"]})}

    async def grade(state: AssessmentState) -> AssessmentState:
        answer = state["answer"] or {}
        if answer.get("finish"):
            return {"finish_reason": answer["finish"], "answer": None}
        pending = state["pending"]
        assert pending is not None
        item = pending["item"]
        is_correct = answer["selected_option"] == item["key"]
        given, right = [*state.get("given", []), pending["entry"]], [*state.get("right", []), is_correct]
        _, theta_after, se_after = replayed(
            adaptive_test(questions, design_of(state["plan"])), {**state, "given": given, "right": right}
        )
        now = clock()
        async with database.transaction() as session:
            stored = await attempts.record_response(
                session,
                {
                    "attempt_id": state["plan"]["attempt_id"],
                    "question_id": pending["question_id"],
                    "item_id": item["id"],
                    "index": pending["index"],
                    "skill": item["skill"],
                    "item_snapshot": {
                        key: item[key] for key in ("stem", "options", "explanation", "difficulty", "family", "tags")
                    },
                    "correct_option": item["key"],
                    "selected_option": answer["selected_option"],
                    "is_correct": is_correct,
                    "presented_at": datetime.fromisoformat(pending["presented_at"]),
                    "answered_at": now,
                    "time_taken_s": max(0.0, (now - datetime.fromisoformat(pending["presented_at"])).total_seconds()),
                    "theta_before": state.get("ability", [0.0])[0],
                    "theta_after": theta_after,
                    "se_after": se_after,
                },
            )
        # The session passes the attempt's current deadline (extra time may have been granted since).
        plan = {**state["plan"], "deadline": answer.get("deadline", state["plan"]["deadline"])}
        by_skill = {skill: list(counts) for skill, counts in state["by_skill"].items()}
        counts = by_skill.setdefault(item["skill"], [0, 0])
        counts[0] += 1
        counts[1] += int(stored.is_correct)
        return {
            "plan": plan,  # type: ignore[typeddict-item]
            "answer": None,
            "pending": None,
            "answered": state["answered"] + 1,
            "score": state["score"] + int(stored.is_correct),
            "by_skill": by_skill,
            "given": given,
            "right": right,
            "ability": [theta_after, se_after],
            "last_feedback": Feedback(
                question_id=pending["question_id"],
                correct=stored.is_correct,
                correct_option=stored.correct_option,
                explanation=item["explanation"],
                selected_option=stored.selected_option,
            ),
        }

    async def finalize(state: AssessmentState) -> AssessmentState:
        reason = FinishReason(state["finish_reason"] or FinishReason.COMPLETED)
        theta, se = state.get("ability", [0.0, 1.0])
        max_score = max_score_for(reason, state["answered"], state["plan"]["max_questions"])
        async with database.transaction() as session:
            await attempts.finalize_attempt(
                session,
                state["plan"]["attempt_id"],
                reason=reason,
                score=state["score"],
                max_score=max_score,
                theta=theta,
                se=se,
                now=clock(),
            )
        return {"finished": True, "pending": None}

    def after_select(state: AssessmentState) -> Literal["await_answer", "finalize"]:
        return "finalize" if state.get("finish_reason") else "await_answer"

    def after_grade(state: AssessmentState) -> Literal["select_question", "finalize"]:
        return "finalize" if state.get("finish_reason") else "select_question"

    builder = StateGraph(AssessmentState)
    builder.add_node("select_question", select_question)
    builder.add_node("await_answer", await_answer)
    builder.add_node("grade", grade)
    builder.add_node("finalize", finalize)
    builder.add_edge(START, "select_question")
    builder.add_conditional_edges("select_question", after_select)
    builder.add_edge("await_answer", "grade")
    builder.add_conditional_edges("grade", after_grade)
    builder.add_edge("finalize", END)
    return builder.compile(checkpointer=checkpointer)
