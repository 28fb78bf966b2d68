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
        self.runs = 0  # graph runs so far, and the steps they carried: the mean batch size
        self.steps = 0

    async def run(self, step: AssessmentState) -> AssessmentState:
        """The step after the graph, stored; `Overtaken` if another writer advanced its attempt first."""
        if step["plan"].get("generator") == "llm":
            return _outcome(step, *await self._run_batch([step]))
        future: asyncio.Future[AssessmentState] = asyncio.get_running_loop().create_future()
        self._waiting.append((step, future))
        if self._running is None or self._running.done():
            self._running = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
            try:
                states, stored = await self._run_batch([step for step, _ in batch])
                outcomes = [(future, states[i], stored[i]) for i, (_, future) in enumerate(batch)]
            except Exception as error:
                if len(batch) == 1:
                    _settle(batch[0][1], error=error)
                    continue
                outcomes = []
                for step, future in batch:  # nothing was stored: each alone, so a failure stays its own
                    try:
                        (state,), (done,) = await self._run_batch([step])
                    except Exception as own_error:
                        _settle(future, error=own_error)
                        continue
                    outcomes.append((future, state, done))
            for future, state, done in outcomes:
                if done:
                    _settle(future, result=state)
                else:
                    _settle(future, error=Overtaken(state["plan"]["attempt_id"]))

    async def _run_batch(self, steps: list[AssessmentState]) -> tuple[list[AssessmentState], list[bool]]:
        values = await self._graph.ainvoke({"steps": steps})
        self.runs += 1
        self.steps += len(steps)
        return values["steps"], values["stored"]


def _outcome(step: AssessmentState, states: list[AssessmentState], stored: list[bool]) -> AssessmentState:
    if not stored[0]:
        raise Overtaken(step["plan"]["attempt_id"])
    return states[0]


def _settle(
    future: asyncio.Future[AssessmentState], result: AssessmentState | None = None, error: BaseException | None = None
) -> None:
    if future.done():  # its caller went away; the step was stored (or not) all the same
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert result is not None
        future.set_result(result)
