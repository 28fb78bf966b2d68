"""The item generation graph (LangGraph): draft, review, solve independently, accept or try again.

write ──> review ──> solve ──> accept ──> END
  ^          │          │
  └──────────┴──────────┘  (a rejected draft, while tries are left; the problems go back to the model)

`write` asks the model for an item for the target (skill, difficulty, job context, stems to avoid);
`review` reads it (schema), applies the item-writing rules and refuses near-duplicates of the bank,
earlier generated items and the attempt's own stems; `solve` asks the model again, without the key, and
keeps the item only if the answer agrees with the key. The graph holds no checkpointer: a generation is
short, and the caller bounds it with a time budget and falls back to the bank.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from llm.checks import flaw_problems, schema_problems
from llm.client import ChatModel, ModelError
from llm.duplicates import StemIndex
from llm.prompts import DRAFT_SCHEMA, SOLVE_SCHEMA, Target, draft_messages, solve_messages

DRAFT_TEMPERATURE = 0.8
SOLVE_TEMPERATURE = 0.0


class Rejection(TypedDict):
    attempt: int
    stage: Literal["model", "schema", "flaws", "duplicate", "solve"]
    problems: list[str]


class GenerationState(TypedDict, total=False):
    target: Target
    tries: int
    content: dict[str, Any] | None  # the model's reply being reviewed
    feedback: list[str]
    rejections: list[Rejection]
    calls: list[dict[str, Any]]  # every model call: role and latency
    accepted: dict[str, Any] | None
    solver_answer: str | None


def build_generation_graph(
    model: ChatModel, known_stems: StemIndex, max_tries: int
) -> CompiledStateGraph[Any, Any, Any, Any]:
    def rejected(state: GenerationState, stage: Any, problems: list[str]) -> GenerationState:
        rejection = Rejection(attempt=state["tries"], stage=stage, problems=problems)
        return {"content": None, "feedback": problems, "rejections": [*state.get("rejections", []), rejection]}

    async def write(state: GenerationState) -> GenerationState:
        tries = state.get("tries", 0) + 1
        state = {**state, "tries": tries}
        messages = draft_messages(state["target"], state.get("feedback", []))
        try:
            reply = await model.complete_json(messages, "item", DRAFT_SCHEMA, DRAFT_TEMPERATURE)
        except ModelError as error:
            return {"tries": tries, **rejected(state, "model", [str(error)])}
        calls = [*state.get("calls", []), {"role": "draft", "latency_s": round(reply.latency_s, 4)}]
        return {"tries": tries, "content": reply.content, "calls": calls}

    def review(state: GenerationState) -> GenerationState:
        draft, problems = schema_problems(state["content"] or {})
        if draft is None:
            return rejected(state, "schema", problems)
        if problems := flaw_problems(draft):
            return rejected(state, "flaws", problems)
        duplicate = known_stems.duplicate_problem(draft.stem, also=state["target"].avoid_stems)
        if duplicate is not None:
            return rejected(state, "duplicate", [duplicate])
        return {}

    async def solve(state: GenerationState) -> GenerationState:
        content = state["content"] or {}
        messages = solve_messages(content["stem"].strip(), [option.strip() for option in content["options"]])
        try:
            reply = await model.complete_json(messages, "answer", SOLVE_SCHEMA, SOLVE_TEMPERATURE)
        except ModelError as error:
            return rejected(state, "model", [f"independent solve failed: {error}"])
        calls = [*state.get("calls", []), {"role": "solve", "latency_s": round(reply.latency_s, 4)}]
        answer = reply.content.get("answer")
        if answer != content["key"]:
            solved = rejected(
                state, "solve", [f"an independent solve chose {answer!r}, not the key {content['key']!r}"]
            )
            return {**solved, "calls": calls, "solver_answer": str(answer)}
        return {"calls": calls, "solver_answer": str(answer)}

    def accept(state: GenerationState) -> GenerationState:
        return {"accepted": state["content"]}

    def next_after(stage: Literal["review", "solve", "accept"]) -> Any:
        def route(state: GenerationState) -> str:
            if state.get("content") is not None:
                return stage
            return "write" if state["tries"] < max_tries else END

        return route

    builder = StateGraph(GenerationState)
    builder.add_node("write", write)
    builder.add_node("review", review)
    builder.add_node("solve", solve)
    builder.add_node("accept", accept)
    builder.add_edge(START, "write")
    builder.add_conditional_edges("write", next_after("review"), ["review", "write", END])
    builder.add_conditional_edges("review", next_after("solve"), ["solve", "write", END])
    builder.add_conditional_edges("solve", next_after("accept"), ["accept", "write", END])
    builder.add_edge("accept", END)
    return builder.compile()
