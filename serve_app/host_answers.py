"""Answers this replica relays to the session hosts, in batches: one actor call per host for the answers
that arrive together (actors.batches), not one per answer.

An actor call costs both ends far more than handing over one answer (the ingress spent a fifth of its CPU
in Ray's method call under load, the host as much receiving them), and the host runs the answers that
arrive together through one graph run and one transaction anyway. So an answer for a host waits for the
call in flight to that host, and the answers that arrived meanwhile go as the next call, `submit_many`.
A call that fails as a whole (the host died) fails for each of its answers, and each caller retries on the
session's next host as it would have alone: every host method is idempotent.

Answers of tests whose items an LLM writes do not come here: one may wait seconds on a generation, and a
call returns when its slowest answer does.
"""

from __future__ import annotations

from dataclasses import dataclass

from ray.actor import ActorHandle

from actors.batches import Batches

MAX_ANSWERS_PER_CALL = 256


@dataclass(frozen=True)
class RelayedAnswer:
    """`SessionHost.submit`'s arguments."""

    attempt_id: int
    connection_id: str
    question_id: str
    selected_option: str
    request_id: str | None

    def arguments(self) -> tuple[int, str, str, str, str | None]:
        """The positional arguments of `SessionHost.submit`, one of `submit_many`'s calls."""
        return (self.attempt_id, self.connection_id, self.question_id, self.selected_option, self.request_id)


class HostAnswers:
    def __init__(self) -> None:
        self._by_host: dict[str, Batches[RelayedAnswer, list[str]]] = {}

    async def submit(self, host_id: str, host: ActorHandle, answer: RelayedAnswer) -> list[str]:
        """The frames the host answered with (as `SessionHost.submit` returns them)."""
        batches = self._by_host.get(host_id)
        if batches is None:
            batches = self._by_host[host_id] = Batches(lambda batch: self._call(host, batch), MAX_ANSWERS_PER_CALL)
        return await batches.submit(answer)

    def forget(self, host_id: str) -> None:
        """The host died or left: answers for its successor start a batch of their own."""
        self._by_host.pop(host_id, None)

    @staticmethod
    async def _call(host: ActorHandle, batch: list[RelayedAnswer]) -> list[list[str] | BaseException]:
        calls = [answer.arguments() for answer in batch]
        outcomes: list[list[str] | BaseException] = await host.submit_many.remote(calls)
        return outcomes
