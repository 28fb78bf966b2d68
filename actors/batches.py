"""Calls that arrive while a batch is in flight wait, and go together as the next batch.

A host's sessions each do their own work one message at a time, but much of that work costs about as much
for fifty sessions as for one: a graph run, a transaction, a query. `Batches` turns many concurrent calls
into few: a call waits for the batch in flight to finish, and everything that arrived meanwhile runs as
the next batch. At low load a batch is one call and nothing waits; under load the batches grow with it,
so the cost per call falls as the load rises (a group commit).

`run_batch` returns one outcome per item, in order: a value, or an exception that only that item's caller
sees. If `run_batch` raises, every caller of that batch sees the error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


class Batches(Generic[Item, Outcome]):
    def __init__(
        self,
        run_batch: Callable[[list[Item]], Awaitable[Sequence[Outcome | BaseException]]],
        max_batch: int,
    ) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Outcome]]] = []
        self._running: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Outcome:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._running is None or self._running.done():
            self._running = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
            try:
                outcomes = await self._run_batch([item for item, _ in batch])
            except Exception as error:
                for _, future in batch:
                    settle(future, error)
                continue
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                settle(future, outcome)


def settle(future: asyncio.Future[Outcome], outcome: Outcome | BaseException) -> None:
    if future.done():  # its caller went away; the work was done (or not) all the same
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
