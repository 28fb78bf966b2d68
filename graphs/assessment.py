"""The live assessment graph (LangGraph), compiled once per session host.

select_question ──> await_answer ──(interrupt: the candidate answers)──> grade ──> select_question ...
        └──────────────(length reached or deadline passed)──────────────> finalize ──> END

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
from typing import Any, Literal, TypedDict

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import interrupt

from domain.ability import estimate_ability
from domain.enums import FinishReason
from domain.scoring import max_score_for
from persistence import attempts
from persistence.database import Database
from questions.source import QuestionSource

Clock = Callable[[], datetime]


class Plan(TypedDict):
    """What an attempt is, fixed when it starts."""

    attempt_id: int
    attempt_number: int
    started_at: str
    deadline: str
    max_questions: int
    blueprint: dict[str, int]
    skill_order: list[str]
    job_description: str  # context for generators that write items for the role (the LLM generator)


class PendingQuestion(TypedDict):
    question_id: str
    index: int
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
    asked: list[str]
    pending: PendingQuestion | None
    answer: dict[str, Any] | None
    answered: int
    score: int
    by_skill: dict[str, list[int]]  # skill -> [answered, correct]
    results: list[list[Any]]  # [written difficulty, correct] per answer, for the ability estimate
    last_feedback: Feedback | None
    finish_reason: str | None
    finished: bool


def initial_state(plan: Plan) -> AssessmentState:
    return AssessmentState(
        plan=plan,
        asked=[],
        pending=None,
        answer=None,
        answered=0,
        score=0,
        by_skill={},
        results=[],
        last_feedback=None,
        finish_reason=None,
        finished=False,
    )


def question_id_for(attempt_id: int, index: int, item_id: str) -> str:
    """Opaque and stable: reveals neither the bank id nor anything about the key."""
    digest = hashlib.sha256(f"{attempt_id}:{index}:{item_id}".encode()).hexdigest()[:16]
    return f"q{index + 1}-{digest}"


def next_skill(plan: Plan, by_skill: dict[str, list[int]]) -> str:
    """The skill furthest behind its share of the blueprint; ties go to prerequisites first."""
    candidates = [skill for skill in plan["skill_order"] if by_skill.get(skill, [0, 0])[0] < plan["blueprint"][skill]]
    if not candidates:  # the blueprint is used up (it sums to max_questions, so only on a changed plan)
        candidates = list(plan["skill_order"])
    return min(
        candidates,
        key=lambda skill: (
            by_skill.get(skill, [0, 0])[0] / max(plan["blueprint"].get(skill, 1), 1),
            plan["skill_order"].index(skill),
        ),
    )


def target_difficulty(by_skill: dict[str, list[int]], skill: str) -> int:
    """A staircase per skill: start at 3, one step up per correct answer beyond half, down otherwise."""
    answered, correct = by_skill.get(skill, [0, 0])
    return max(1, min(5, 3 + correct - (answered - correct)))


def build_assessment_graph(
    database: Database,
    questions: QuestionSource,
    checkpointer: BaseCheckpointSaver[Any],
    clock: Clock = lambda: datetime.now(UTC),
) -> CompiledStateGraph[Any, Any, Any, Any]:
    def select_question(state: AssessmentState) -> AssessmentState:
        plan = state["plan"]
        if state["answered"] >= plan["max_questions"]:
            return {"finish_reason": FinishReason.COMPLETED.value, "pending": None}
        if clock() >= datetime.fromisoformat(plan["deadline"]):
            return {"finish_reason": FinishReason.TIME_EXPIRED.value, "pending": None}
        index = state["answered"]
        skill = next_skill(plan, state["by_skill"])
        rng = random.Random(f"{plan['attempt_id']}:{index}")
        item = questions.draw(
            skill, rng, exclude=set(state["asked"]), difficulty=target_difficulty(state["by_skill"], skill)
        )
        pending = PendingQuestion(
            question_id=question_id_for(plan["attempt_id"], index, item.id),
            index=index,
            presented_at=clock().isoformat(),
            item=item.model_dump(mode="json"),
        )
        return {"pending": pending, "asked": [*state["asked"], item.id]}

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
                    "is_correct": answer["selected_option"] == item["key"],
                    "presented_at": datetime.fromisoformat(pending["presented_at"]),
                    "answered_at": now,
                    "time_taken_s": max(0.0, (now - datetime.fromisoformat(pending["presented_at"])).total_seconds()),
                    "theta_before": estimate_ability(map(tuple, state["results"]))[0],  # type: ignore[arg-type]
                },
            )
        # The session passes the attempt's current deadline (extra time may have been granted since).
        plan = {**state["plan"], "deadline": answer.get("deadline", state["plan"]["deadline"])}
        results = [*state["results"], [item["difficulty"], stored.is_correct]]
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
            "results": results,
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
        theta, se = estimate_ability(map(tuple, state["results"]))  # type: ignore[arg-type]
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
