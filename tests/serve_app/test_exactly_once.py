"""Exactly once: duplicated, replayed, reordered and racing submits never add a row or change a stored
answer. A Hypothesis state machine drives random message sequences against the real server (both
databases) and checks the invariants after every step:

- one response row per answered question, and the stored option is the first one acknowledged;
- the score the server reports equals the number of correct rows;
- no key material before an answer (every frame goes through LiveClient's check);
- progress only moves forward, one question per new answer;
- the ability estimate stored with each row, the attempt's estimate and the question waiting are what
  the adaptive core gives for the stored rows (recomputed here from the rows alone): the estimate, the
  next item, the score and the stored answers never drift apart, however the messages raced.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
import websockets
from conftest import Server
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from live_client import LiveClient, ws_url
from sqlalchemy import select

from adaptive.assembly import TestDesign, adaptive_test
from persistence.database import Database
from persistence.models import Attempt, Response, Test
from questions.source import QuestionSource

pytestmark = pytest.mark.websocket
OPTIONS = st.sampled_from(["a", "b", "c", "d"])


async def stored_rows(server: Server, attempt_id: int) -> list[tuple[str, str, bool]]:
    database = Database(server.settings.database_url)
    try:
        async with database.transaction() as session:
            result = await session.execute(
                select(Response.question_id, Response.selected_option, Response.is_correct).where(
                    Response.attempt_id == attempt_id
                )
            )
            return [(str(q), str(o), bool(c)) for q, o, c in result.all()]
    finally:
        await database.dispose()


async def check_estimates_and_next_item(server: Server, attempt_id: int) -> None:
    """Replay the stored rows through the adaptive core and compare with what the server stored."""
    database = Database(server.settings.database_url)
    try:
        async with database.transaction() as session:
            attempt = await session.get(Attempt, attempt_id)
            assert attempt is not None
            test = await session.get(Test, attempt.test_id)
            rows = (
                await session.execute(
                    select(Response.pool_entry, Response.is_correct, Response.theta_after, Response.se_after)
                    .where(Response.attempt_id == attempt_id)
                    .order_by(Response.index)
                )
            ).all()
    finally:
        await database.dispose()
    assert test is not None
    definition = {
        "skills": test.skills,
        "max_questions": attempt.max_questions,
        "min_questions": test.min_questions,
        "se_target": test.se_target,
    }
    adaptive = adaptive_test(QuestionSource(), TestDesign.from_definition(definition))
    cat = adaptive.begin(1)
    for entry, correct, theta_after, se_after in rows:
        adaptive.record(cat, np.array([0]), np.array([entry]), np.array([correct]))
        assert (theta_after, se_after) == (round(float(cat.theta[0]), 4), round(float(cat.se[0]), 4))
    assert attempt.answered == len(rows)
    if rows:
        assert (attempt.ability_theta, attempt.ability_se) == (rows[-1].theta_after, rows[-1].se_after)
    if attempt.pending_question is not None:
        expected = adaptive.choose(cat, np.array([0]), np.random.default_rng([attempt_id, len(rows)]))[0]
        assert attempt.pending_question["entry"] == int(expected)
        assert attempt.pending_question["index"] == len(rows)


def test_random_message_sequences_keep_every_answer_exactly_once(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    class Candidate(RuleBasedStateMachine):
        """One candidate's attempt, driven over one or more sockets."""

        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            live = make_live_test(max_questions=6, min_questions=6, max_attempts=1)
            self.url = ws_url(server.base_url, "/ws/assessment", token=live.candidate.token, test_id=live.test_id)
            self.client: LiveClient | None = None
            self.socket_started = False  # whether this socket has started (or resumed) the attempt
            self.attempt_id: int | None = None
            self.pending: dict[str, Any] | None = None
            self.acknowledged: dict[str, str] = {}  # question id -> the option first acknowledged
            self.answered = 0
            self.score: int | None = None
            self.finished = False

        def run(self, coroutine: Any) -> Any:
            return self.loop.run_until_complete(asyncio.wait_for(coroutine, timeout=60))

        async def fresh_socket(self) -> LiveClient:
            client = await LiveClient.connect(self.url)
            client.answered |= set(self.acknowledged)
            await client.expect("auth_success")
            return client

        def teardown(self) -> None:
            if self.client is not None:
                self.run(self.client.close())
            self.loop.close()

        # -- rules ----------------------------------------------------------------------------------

        @rule()
        def connect_and_start(self) -> None:
            """A new socket (taking over any older one), then start or resume."""
            old = self.client
            self.client = self.run(self.fresh_socket())
            self.run(self.client.send("start_assessment"))
            first = self.run(self.client.recv())
            if old is not None:
                self.run(old.close())
            self.socket_started = first["type"] != "error"
            if first["type"] == "error":  # the only attempt is over: no new one may start
                assert self.answered == 6 and first["code"] == "attempts_exhausted", first
                self.finished = True
                return
            if first["type"] == "assessment_completed":
                self.finished = True
                return
            assert first["type"] == "assessment_started", first
            if self.attempt_id is None:
                self.attempt_id = first["attempt_id"]
            assert first["attempt_id"] == self.attempt_id and first["answered"] == self.answered
            self.pending = self.run(self.client.expect("question"))

        @rule(option=OPTIONS)
        def answer_the_pending_question(self, option: str) -> None:
            if self.client is None or self.pending is None or self.finished:
                return
            question = self.pending
            frames = self.run(self.client.answer(question, option))
            feedback, progress, after = frames
            assert feedback["duplicate"] is False and feedback["question_id"] == question["question_id"]
            self.acknowledged[question["question_id"]] = option
            assert progress["answered"] == self.answered + 1  # one step forward per new answer
            self.answered = progress["answered"]
            self.score = progress["score"]
            if after["type"] == "assessment_completed":
                self.finished, self.pending = True, None
            else:
                self.pending = after

        @rule(data=st.data())
        def replay_an_answered_question(self, data: st.DataObject) -> None:
            """The same answer again (a retry), or another option (a change of mind): nothing is stored."""
            if self.client is None or not self.acknowledged:
                return
            question_id = data.draw(st.sampled_from(sorted(self.acknowledged)))
            option = data.draw(OPTIONS)
            self.run(self.client.send("submit_answer", question_id=question_id, selected_option=option))
            reply = self.run(self.client.recv())
            if not self.socket_started:  # a socket answers only for the attempt it started or resumed
                assert reply["type"] == "error" and reply["code"] == "not_started", reply
            elif option == self.acknowledged[question_id]:
                assert reply["type"] == "answer_feedback" and reply["duplicate"] is True, reply
            else:
                assert reply["type"] == "error" and reply["code"] == "already_answered", reply

        @rule(question_id=st.sampled_from(["q1-0000000000000000", "q99-ffffffffffffffff", "nonsense"]))
        def answer_a_question_never_asked(self, question_id: str) -> None:
            if self.client is None:
                return
            self.run(self.client.send("submit_answer", question_id=question_id, selected_option="a"))
            reply = self.run(self.client.recv())
            assert reply["type"] == "error", reply
            expected = (
                "not_started"
                if not self.socket_started
                else "already_completed"
                if self.finished
                else "question_mismatch"
            )
            assert reply["code"] == expected, reply

        @rule(option=OPTIONS)
        def two_sockets_race_on_the_pending_question(self, option: str) -> None:
            """The old socket answers while a new one takes over and sends the same answer: whichever wins,
            one row, and the attempt moves exactly one question forward."""
            if self.client is None or self.pending is None or self.finished:
                return
            question, old = self.pending, self.client
            submit = {"question_id": question["question_id"], "selected_option": option}

            async def race() -> None:
                new = await self.fresh_socket()
                new.answered.add(question["question_id"])
                old.answered.add(question["question_id"])
                await asyncio.gather(old.send("submit_answer", **submit), new.send("start_assessment"))
                await new.send("submit_answer", **submit)
                await drain(new)
                await drain(old)
                await new.close()
                await old.close()

            self.run(race())
            self.acknowledged[question["question_id"]] = option
            self.answered += 1
            self.client, self.pending, self.score = None, None, None
            self.connect_and_start()  # resumes at the next question with `answered` one higher

        # -- invariants -------------------------------------------------------------------------------

        @invariant()
        def one_row_per_acknowledged_answer_and_the_score_matches(self) -> None:
            if self.attempt_id is None:
                return
            rows = self.run(stored_rows(server, self.attempt_id))
            assert len(rows) == len({question for question, _, _ in rows}) == len(self.acknowledged)
            assert {question: option for question, option, _ in rows} == self.acknowledged
            assert self.answered == len(rows)
            if self.score is not None:
                assert self.score == sum(correct for _, _, correct in rows)

        @invariant()
        def the_estimate_and_the_next_item_follow_from_the_stored_rows(self) -> None:
            if self.attempt_id is not None:
                self.run(check_estimates_and_next_item(server, self.attempt_id))

    run_state_machine_as_test(
        Candidate,
        settings=settings(
            max_examples=12,
            stateful_step_count=12,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # shrinking sequences of network steps takes too long
            suppress_health_check=list(HealthCheck),
        ),
    )


async def drain(client: LiveClient, quiet_s: float = 1.5) -> list[dict[str, Any]]:
    """Frames until the socket stays quiet (or closes)."""
    frames = []
    try:
        while True:
            frames.append(await asyncio.wait_for(client.recv(), timeout=quiet_s))
    except (TimeoutError, websockets.ConnectionClosed):
        return frames
