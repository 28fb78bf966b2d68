"""Steps of many sessions share one run of the graph; a step that is overtaken or fails reaches only its
own session. (The assessment graph itself, batched, is exercised by every live and actor test.)"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.graph import END, START, StateGraph

from actors.step_batches import StepBatches
from graphs.assessment import Overtaken, Steps


def batch_graph(runs: list[int]) -> Any:
    """A graph of the assessment graph's shape over batches: a step with `fail` breaks the whole run (as a
    failing transaction does), a step with `overtaken` comes back not stored."""

    async def work(state: Steps) -> Steps:
        steps = state["steps"]
        runs.append(len(steps))
        await asyncio.sleep(0.01)  # a transaction in flight, while more steps arrive
        if any(step.get("fail") for step in steps):  # type: ignore[misc]
            raise RuntimeError("the transaction failed")
        return {
            "steps": [{**step, "answered": step["answered"] + 1} for step in steps],
            "stored": [not step.get("overtaken") for step in steps],  # type: ignore[misc]
        }

    builder = StateGraph(Steps)
    builder.add_node("work", work)
    builder.add_edge(START, "work")
    builder.add_edge("work", END)
    return builder.compile()


def step(attempt_id: int, **flags: Any) -> Any:
    return {"plan": {"attempt_id": attempt_id, "generator": "bank"}, "answered": 0, **flags}


def test_steps_arriving_together_share_runs_and_each_gets_its_own_outcome() -> None:
    asyncio.run(_steps_arriving_together_share_runs_and_each_gets_its_own_outcome())


async def _steps_arriving_together_share_runs_and_each_gets_its_own_outcome() -> None:
    runs: list[int] = []
    batches = StepBatches(batch_graph(runs))
    outcomes = await asyncio.gather(
        *(batches.run(step(attempt_id, overtaken=attempt_id == 7)) for attempt_id in range(40)),
        return_exceptions=True,
    )
    assert sum(runs) == 40 and len(runs) < 40  # batched: fewer runs than steps
    assert isinstance(outcomes[7], Overtaken)
    assert all(outcome["answered"] == 1 for i, outcome in enumerate(outcomes) if i != 7)  # type: ignore[index]
    assert [outcome["plan"]["attempt_id"] for outcome in outcomes if isinstance(outcome, dict)] == [
        i for i in range(40) if i != 7
    ]


def test_a_failing_step_fails_alone_and_the_rest_of_its_batch_is_stored() -> None:
    asyncio.run(_a_failing_step_fails_alone_and_the_rest_of_its_batch_is_stored())


async def _a_failing_step_fails_alone_and_the_rest_of_its_batch_is_stored() -> None:
    runs: list[int] = []
    batches = StepBatches(batch_graph(runs))
    first = asyncio.ensure_future(batches.run(step(0)))  # in flight while the next batch gathers
    await asyncio.sleep(0)
    rest = [asyncio.ensure_future(batches.run(step(attempt_id, fail=attempt_id == 3))) for attempt_id in range(1, 6)]
    await first
    outcomes = await asyncio.gather(*rest, return_exceptions=True)
    assert isinstance(outcomes[2], RuntimeError)
    assert [outcome["answered"] for i, outcome in enumerate(outcomes) if i != 2] == [1, 1, 1, 1]  # type: ignore[index]
    assert runs[:2] == [1, 5]  # then each of the failed batch alone
    assert sorted(runs[2:]) == [1, 1, 1, 1, 1]


def test_steps_of_llm_tests_run_at_once_and_alone() -> None:
    asyncio.run(_steps_of_llm_tests_run_at_once_and_alone())


async def _steps_of_llm_tests_run_at_once_and_alone() -> None:
    runs: list[int] = []
    batches = StepBatches(batch_graph(runs))
    llm = {"plan": {"attempt_id": 1, "generator": "llm"}, "answered": 0}
    outcomes = await asyncio.gather(*(batches.run(dict(llm)) for _ in range(3)))  # type: ignore[arg-type]
    assert runs == [1, 1, 1] and all(outcome["answered"] == 1 for outcome in outcomes)
