"""Hostile input on /ws/assessment: 10,000 random and mutated frames over many connections while
well-behaved candidates take their assessments on the same server.

Every fuzz frame is followed by a sentinel `heartbeat`; the frames the server sends before the sentinel's
`heartbeat_ack` are its answer to the fuzz frame. Frames known to be invalid must get exactly one `error`
with a code their kind allows; anything else may get any valid reply; none may get `internal`. The only
closes allowed are 1009 for an oversized frame and 1007 for a text frame that is not UTF-8. The server must
not restart (its process start time is unchanged) and the well-behaved candidates finish unaffected.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import websockets
from conftest import Server, execute_sql, invite_cohort
from live_client import PINNED_SERVER_TYPES, LiveClient, ws_url
from prometheus_scrape import SCRAPE_HEADERS
from sqlalchemy import func, select

from persistence.models import Response
from wire.protocol import CLIENT_TYPES, MAX_FRAME_BYTES

pytestmark = pytest.mark.websocket

FUZZ_CONNECTIONS = 20
FRAMES_PER_CONNECTION = 500  # 10,000 in all
WELL_BEHAVED = 5
INVALID = frozenset({"invalid_message"})
SENTINEL = json.dumps({"type": "heartbeat"})


@dataclass(frozen=True)
class Fuzz:
    frame: str | bytes
    errors: frozenset[str] | None  # None: any valid reply is fine
    close: int | None = None  # the close code this frame must cause
    acks: int = 1  # heartbeat_acks to wait for (2 when the fuzz frame is itself a heartbeat)
    as_text_bytes: bool = False  # bytes sent in a text frame (invalid UTF-8)


class FrameMaker:
    """Seeded generator of hostile frames, and of valid-looking ones aimed at the current question."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.question: dict[str, Any] | None = None

    def valid_message(self) -> dict[str, Any]:
        rng = self.rng
        kind = rng.choice(["start_assessment", "get_state", "submit_answer", "submit_answer"])
        if kind != "submit_answer":
            return {"type": kind}
        if self.question is not None and rng.random() < 0.7:
            return {
                "type": "submit_answer",
                "question_id": self.question["question_id"],
                "selected_option": rng.choice(["a", "b", "c", "d", "e", "z"]),
            }
        return {"type": "submit_answer", "question_id": f"q{rng.randrange(99)}-x", "selected_option": "a"}

    def next(self) -> Fuzz:
        rng = self.rng
        kind = rng.randrange(16)
        if kind == 0:  # a valid message cut short
            text = json.dumps(self.valid_message())
            return Fuzz(text[: rng.randrange(1, len(text))], INVALID)
        if kind == 1:  # random printable noise
            noise = "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(1, 200)))
            return Fuzz(noise, None if noise.strip().startswith("{") else frozenset({"invalid_message"}))
        if kind == 2:  # JSON that is not an object
            value = rng.choice([[], [1, 2], 3, -0.5, "start_assessment", None, True, [{"type": "heartbeat"}]])
            return Fuzz(json.dumps(value), INVALID)
        if kind == 3:  # a type that is not a string
            return Fuzz(json.dumps({"type": rng.choice([5, None, ["start_assessment"], {"x": 1}, 1.5])}), INVALID)
        if kind == 4:  # an unknown type
            name = rng.choice(["", "START", "submit", "admin", "drop_tables", "x" * 300, "heartbeat "])
            assert name not in CLIENT_TYPES
            return Fuzz(json.dumps({"type": name}), frozenset({"unknown_type"}))
        if kind == 5:  # a known type with wrong-typed or out-of-range fields
            field = rng.choice(
                [
                    {"question_id": 7},
                    {"question_id": None},
                    {"question_id": ["q1"]},
                    {"question_id": "q" * 201},
                    {"selected_option": ""},
                    {"selected_option": "a" * 17},
                    {"selected_option": {"id": "a"}},
                ]
            )
            message = {"type": "submit_answer", "question_id": "q1-x", "selected_option": "a", **field}
            return Fuzz(json.dumps(message), INVALID)
        if kind == 6:  # deep nesting
            depth = rng.choice([1_000, 5_000, 20_000])
            return Fuzz('{"type":"heartbeat","x":' + "[" * depth + "]" * depth + "}", INVALID)
        if kind == 7:  # numbers too big for anything
            digits = "9" * rng.choice([5_000, 20_000])
            return Fuzz('{"type":"submit_answer","question_id":' + digits + ',"selected_option":"a"}', INVALID)
        if kind == 8:  # infinities and huge floats where strings belong
            value = rng.choice(["1e400", "-1e400", "NaN", "Infinity"])
            return Fuzz('{"type":"submit_answer","question_id":' + value + ',"selected_option":"a"}', INVALID)
        if kind == 9:  # binary frames, valid UTF-8 or not
            payload = rng.choice([b"\xff\xfe\x00", json.dumps({"type": "heartbeat"}).encode(), rng.randbytes(64)])
            return Fuzz(payload, INVALID)
        if kind == 10:  # an over-long request id
            return Fuzz(json.dumps({"type": "get_state", "request_id": "r" * 129}), INVALID)
        if kind == 11:  # an oversized frame
            return Fuzz(json.dumps({"type": "heartbeat", "pad": "x" * (MAX_FRAME_BYTES + 10)}), None, close=1009)
        if kind == 12 and rng.random() < 0.2:  # a text frame that is not UTF-8
            return Fuzz(b'{"type":"heartbeat","x":"\xc3\x28"}', None, close=1007, as_text_bytes=True)
        if kind == 12:  # NUL characters, which the store cannot hold
            message = {"type": "submit_answer", "question_id": rng.choice(["q1-\x00", "\x00"]), "selected_option": "a"}
            return Fuzz(json.dumps(message), INVALID)
        if kind == 13:  # a valid heartbeat with junk beside it (unknown fields are ignored)
            junk = {"junk": rng.choice([10**300, -1, [1] * 50, {"nested": {"deep": [None]}}, "\u202e\ufeff"])}
            return Fuzz(json.dumps({"type": "heartbeat", **junk}), None, acks=2)
        message = self.valid_message()
        if rng.random() < 0.3:
            message["request_id"] = "".join(rng.choice("abc-_/\\'\"<>") for _ in range(rng.randrange(1, 128)))
        return Fuzz(json.dumps(message), None)


async def fuzz_connection(url: str, seed: int, frames: int) -> dict[str, int]:
    maker = FrameMaker(random.Random(seed))
    seen = {"frames": 0, "errors": 0, "closes": 0}
    client = await LiveClient.connect(url)
    await client.expect("auth_success")
    while seen["frames"] < frames:
        fuzz = maker.next()
        seen["frames"] += 1
        if fuzz.as_text_bytes:
            await client.socket.send(fuzz.frame, text=True)
        else:
            client.answered.add(submitted_question(fuzz.frame))  # feedback may follow only an answer
            await client.send_raw(fuzz.frame)
        if fuzz.close is None:
            await client.send_raw(SENTINEL)
        replies, closed = await replies_until_sentinel(client, fuzz.acks)
        if closed is not None:
            assert fuzz.close == closed, f"closed with {closed} after {str(fuzz.frame)[:120]!r}"
            seen["closes"] += 1
            client = await LiveClient.connect(url)
            await client.expect("auth_success")
            continue
        assert fuzz.close is None, f"expected close {fuzz.close} after {str(fuzz.frame)[:120]!r}, got {replies}"
        for reply in replies:
            assert reply["type"] in PINNED_SERVER_TYPES, reply
            assert not (reply["type"] == "error" and reply["code"] == "internal"), (str(fuzz.frame)[:200], reply)
            if reply["type"] == "question":
                maker.question = reply
        if fuzz.errors is not None:
            errors = [reply for reply in replies if reply["type"] == "error"]
            assert len(replies) == len(errors) == 1, (str(fuzz.frame)[:200], replies)
            assert errors[0]["code"] in fuzz.errors, (str(fuzz.frame)[:200], errors[0])
            seen["errors"] += 1
    await client.close()
    return seen


def submitted_question(frame: str | bytes) -> str:
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):
        return ""
    return str(message.get("question_id", "")) if isinstance(message, dict) else ""


async def replies_until_sentinel(client: LiveClient, acks: int) -> tuple[list[dict[str, Any]], int | None]:
    replies: list[dict[str, Any]] = []
    try:
        while acks:
            frame = await asyncio.wait_for(client.recv(), timeout=60)
            if frame["type"] == "heartbeat_ack":
                acks -= 1
                if acks == 0:
                    break
            replies.append(frame)
    except websockets.ConnectionClosed as closed:
        return replies, closed.rcvd.code if closed.rcvd else None
    return replies, None


async def take_whole_assessment(url: str) -> dict[str, Any]:
    client = await LiveClient.connect(url)
    await client.expect("auth_success")
    _, frame = await client.start()
    while frame["type"] == "question":
        await asyncio.sleep(0.05)
        frame = (await client.answer(frame, option=random.choice("abcd")))[2]
    await client.close()
    return frame


def process_start_time(server: Server) -> str:
    metrics = httpx.get(f"{server.base_url}/metrics", headers=SCRAPE_HEADERS, timeout=30).text
    match = re.search(r"^process_start_time_seconds (\S+)$", metrics, re.MULTILINE)
    assert match, "the replica reports its start time"
    return match.group(1)


def test_ten_thousand_hostile_frames_beside_well_behaved_candidates(isolated_server) -> None:  # type: ignore[no-untyped-def]
    server = isolated_server(ASSESS_RATE_LIMIT_PER_S=100_000, ASSESS_RATE_LIMIT_BURST=100_000)
    test_id, tokens = invite_cohort(
        server, FUZZ_CONNECTIONS + WELL_BEHAVED, max_questions=6, min_questions=6, max_attempts=20
    )
    started_at = process_start_time(server)

    def url(token: str) -> str:
        return ws_url(server.base_url, "/ws/assessment", token=token, test_id=test_id)

    async def scenario() -> tuple[list[dict[str, int]], list[dict[str, Any]]]:
        fuzzers = [
            fuzz_connection(url(token), seed, FRAMES_PER_CONNECTION)
            for seed, token in enumerate(tokens[:FUZZ_CONNECTIONS])
        ]
        candidates = [take_whole_assessment(url(token)) for token in tokens[FUZZ_CONNECTIONS:]]
        results = await asyncio.gather(*fuzzers, *candidates)
        return results[:FUZZ_CONNECTIONS], results[FUZZ_CONNECTIONS:]  # type: ignore[return-value]

    fuzzed, finished = asyncio.run(scenario())
    assert sum(seen["frames"] for seen in fuzzed) == FUZZ_CONNECTIONS * FRAMES_PER_CONNECTION
    assert sum(seen["errors"] for seen in fuzzed) > 5_000  # most frames are invalid and were told so
    assert sum(seen["closes"] for seen in fuzzed) > 50
    for completed in finished:
        assert completed["type"] == "assessment_completed" and completed["reason"] == "completed"
        stored = asyncio.run(
            execute_sql(
                server.settings.database_url,
                select(func.count(Response.id)).where(Response.attempt_id == completed["attempt_id"]),
            )
        )
        assert stored == 6
    assert process_start_time(server) == started_at  # the replica never restarted
