"""Answers relayed to a host in batches: many answers, few actor calls, and each caller gets its own frames
or its own error. (Every live test relays its answers this way against real hosts.)"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from serve_app.host_answers import HostAnswers, RelayedAnswer


class RemoteMethod:
    def __init__(self, method: Callable[..., Awaitable[Any]]) -> None:
        self.method = method

    def remote(self, *args: Any) -> Awaitable[Any]:
        return self.method(*args)


class StandInHost:
    """`SessionHost.submit_many` as seen through an actor handle, counting the calls it receives."""

    def __init__(self, fail_whole_call: bool = False) -> None:
        self.calls: list[int] = []
        self.fail_whole_call = fail_whole_call
        self.submit_many = RemoteMethod(self._submit_many)

    async def _submit_many(self, calls: list[tuple[Any, ...]]) -> list[list[str] | BaseException]:
        self.calls.append(len(calls))
        await asyncio.sleep(0.01)  # the call in flight, while more answers arrive
        if self.fail_whole_call:
            raise ConnectionError("the host died")
        return [
            ValueError(f"attempt {attempt_id} failed") if option == "x" else [f"feedback {attempt_id} {question_id}"]
            for attempt_id, _, question_id, option, _ in calls
        ]


def answer(attempt_id: int, option: str = "a") -> RelayedAnswer:
    return RelayedAnswer(attempt_id, f"connection-{attempt_id}", f"q{attempt_id}", option, None)


def test_answers_arriving_together_share_calls_and_each_gets_its_own_frames() -> None:
    async def scenario() -> None:
        host, relay = StandInHost(), HostAnswers()
        outcomes = await asyncio.gather(
            *(
                relay.submit("h1", host, answer(attempt_id, "x" if attempt_id == 5 else "a"))
                for attempt_id in range(30)
            ),
            return_exceptions=True,
        )
        assert sum(host.calls) == 30 and len(host.calls) < 30
        assert isinstance(outcomes[5], ValueError) and "attempt 5" in str(outcomes[5])
        assert [frames for i, frames in enumerate(outcomes) if i != 5] == [
            [f"feedback {i} q{i}"] for i in range(30) if i != 5
        ]

    asyncio.run(scenario())


def test_a_failed_call_fails_for_each_of_its_answers_and_hosts_batch_apart() -> None:
    async def scenario() -> None:
        dying, other, relay = StandInHost(fail_whole_call=True), StandInHost(), HostAnswers()
        lost = [relay.submit("dying", dying, answer(attempt_id)) for attempt_id in range(5)]
        kept = [relay.submit("other", other, answer(attempt_id)) for attempt_id in range(5, 10)]
        outcomes = await asyncio.gather(*lost, *kept, return_exceptions=True)
        assert all(isinstance(outcome, ConnectionError) for outcome in outcomes[:5])
        assert outcomes[5:] == [[f"feedback {i} q{i}"] for i in range(5, 10)]
        assert sum(dying.calls) == 5 and sum(other.calls) == 5
        relay.forget("dying")  # the caller's retry goes to the session's next host, in a batch of its own
        with pytest.raises(ConnectionError):
            await relay.submit("dying", dying, answer(1))

    asyncio.run(scenario())
