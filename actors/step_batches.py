"""The steps of a host's sessions, run through the assessment graph in batches (actors.batches).

Each session handles its own messages one at a time (its mailbox), but a host holds thousands of
sessions, and one run of the graph costs about as much for one step as for fifty: LangGraph's own work
per run, one transaction, one sync to disk. So a step waits for the batch in flight, and everything that
arrived meanwhile runs together as the next batch. A batch is stored in one transaction, and no session
hears back before that transaction committed.

Steps of a test whose items an LLM writes run alone, at once: they may wait on a generation, and a batch
waits for its slowest step. If a batch fails as a whole (nothing of it is stored), each of its steps is
run again alone, so one step's failure reaches only its own session.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph.state import CompiledStateGraph

from actors.batches import Batches
from graphs.assessment import AssessmentState, Overtaken

MAX_BATCH = 256  # steps in one run and one transaction


class StepBatches:
    def __init__(self, graph: CompiledStateGraph[Any, Any, Any, Any], max_batch: int = MAX_BATCH) -> None:
        self._graph = graph
        self._batches: Batches[AssessmentState, AssessmentState] = Batches(self._run_batch, max_batch)

    async def run(self, step: AssessmentState) -> AssessmentState:
        """The step after the graph, stored; `Overtaken` if another writer advanced its attempt first."""
        if step["plan"].get("generator") == "llm":
            return await self._run_alone(step)
        return await self._batches.submit(step)

    async def _run_batch(self, batch: list[AssessmentState]) -> list[AssessmentState | BaseException]:
        try:
            values = await self._graph.ainvoke({"steps": batch})
        except Exception as error:
            if len(batch) == 1:
                return [error]
            return [await self._outcome_alone(step) for step in batch]  # nothing was stored: each alone
        return [
            state if stored else Overtaken(state["plan"]["attempt_id"])
            for state, stored in zip(values["steps"], values["stored"], strict=True)
        ]

    async def _outcome_alone(self, step: AssessmentState) -> AssessmentState | BaseException:
        try:
            return await self._run_alone(step)
        except Exception as error:
            return error

    async def _run_alone(self, step: AssessmentState) -> AssessmentState:
        values = await self._graph.ainvoke({"steps": [step]})
        if not values["stored"][0]:
            raise Overtaken(step["plan"]["attempt_id"])
        state: AssessmentState = values["steps"][0]
        return state
