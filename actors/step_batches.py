"""The steps of a host's sessions, run through the assessment graph in batches.

Each session handles its own messages one at a time (its mailbox), but a host holds thousands of
sessions, and one run of the graph costs about as much for one step as for fifty: LangGraph's own work
per run, one transaction, one sync to disk. So a step does not run the graph by itself: it waits for the
batch in flight to finish, and everything that arrived meanwhile runs together as the next batch (a
group commit). At low load a batch is one step and nothing waits; under load the batches grow with it,
so the cost per answer falls as the load rises. A batch is stored in one transaction, and no session
hears back before that transaction committed.

Steps of a test whose items an LLM writes run alone, at once: they may wait on a generation, and a batch
waits for its slowest step. If a batch fails as a whole (nothing of it is stored), each of its steps is
run again alone, so one step's failure reaches only its own session.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from graphs.assessment import AssessmentState, Overtaken

MAX_BATCH = 256  # steps in one run and one transaction


class StepBatches:
    def __init__(self, graph: CompiledStateGraph[Any, Any, Any, Any], max_batch: int = MAX_BATCH) -> None:
        self._graph = graph
        self._max_batch = max_batch
        self._waiting: list[tuple[AssessmentState, asyncio.Future[AssessmentState]]] = []
        self._running: asyncio.Task[None] | None = None

    async def run(self, step: AssessmentState) -> AssessmentState:
        """The step after the graph, stored; `Overtaken` if another writer advanced its attempt first."""
        if step["plan"].get("generator") == "llm":
            return await self._run_alone(step)
        future: asyncio.Future[AssessmentState] = asyncio.get_running_loop().create_future()
        self._waiting.append((step, future))
        if self._running is None or self._running.done():
            self._running = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
            try:
                values = await self._graph.ainvoke({"steps": [step for step, _ in batch]})
            except Exception as error:
                if len(batch) == 1:
                    _settle(batch[0][1], error)
                    continue
                for step, future in batch:  # nothing was stored: each alone, so a failure stays its own
                    try:
                        _settle(future, await self._run_alone(step))
                    except Exception as own_error:
                        _settle(future, own_error)
                continue
            for (_, future), state, stored in zip(batch, values["steps"], values["stored"], strict=True):
                _settle(future, state if stored else Overtaken(state["plan"]["attempt_id"]))

    async def _run_alone(self, step: AssessmentState) -> AssessmentState:
        values = await self._graph.ainvoke({"steps": [step]})
        if not values["stored"][0]:
            raise Overtaken(step["plan"]["attempt_id"])
        state: AssessmentState = values["steps"][0]
        return state


def _settle(future: asyncio.Future[AssessmentState], outcome: AssessmentState | BaseException) -> None:
    if future.done():  # its caller went away; the step was stored (or not) all the same
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
