"""A protocol client for the tests: real WebSocket frames, and a key-leak check on every frame received."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import websockets
from jsonschema import Draft202012Validator
from websockets.asyncio.client import ClientConnection

from wire.protocol import ERROR_CODES, json_schema

# The server frames of /ws/assessment (DESIGN.md section 4).
PINNED_SERVER_TYPES = {
    "auth_success",
    "assessment_started",
    "question",
    "answer_feedback",
    "progress_update",
    "assessment_completed",
    "assessment_state",
    "heartbeat_ack",
    "error",
}
QUESTION_FIELDS = {"type", "question_id", "index", "text", "options", "skill", "deadline"}
# Frames that may carry a key, and only for a question the client has already answered.
KEY_BEARING = {"answer_feedback"}
KEY_WORDS = ("correct_option", '"key"', "explanation", "difficulty", "is_correct")
# Every frame a test receives must match the schema /ws/schema.json serves (tests/serve_app/test_protocol_schema.py
# checks that the served schema is this one).
SERVER_MESSAGE = Draft202012Validator({"$defs": json_schema()["$defs"], "$ref": "#/$defs/ServerToClient"})


def ws_url(base_url: str, path: str, **query: object) -> str:
    url = base_url.replace("http://", "ws://", 1) + path
    if query:
        url += "?" + "&".join(f"{name}={value}" for name, value in query.items())
    return url


@dataclass
class LiveClient:
    socket: ClientConnection
    answered: set[str] = field(default_factory=set)
    received: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def connect(cls, url: str, **options: Any) -> LiveClient:
        return cls(await websockets.connect(url, max_size=2**22, open_timeout=60, **options))

    async def send(self, kind: str, **fields: Any) -> None:
        if kind == "submit_answer":
            self.answered.add(str(fields.get("question_id")))
        await self.socket.send(json.dumps({"type": kind, **fields}))

    async def send_raw(self, frame: str | bytes) -> None:
        await self.socket.send(frame)

    async def recv(self) -> dict[str, Any]:
        raw = await self.socket.recv()
        assert isinstance(raw, str), "the server sends text frames only"
        frame = json.loads(raw)
        SERVER_MESSAGE.validate(frame)
        self.check_no_key_leak(raw, frame)
        self.received.append(frame)
        return frame  # type: ignore[no-any-return]

    async def expect(self, kind: str) -> dict[str, Any]:
        frame = await self.recv()
        assert frame["type"] == kind, frame
        return frame

    def check_no_key_leak(self, raw: str, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "question":
            assert set(frame) == QUESTION_FIELDS, frame
            assert all(set(option) == {"id", "text"} for option in frame["options"]), frame
        elif kind == "error":
            assert frame["code"] in ERROR_CODES, f"an error code outside the protocol: {frame}"
        elif kind in KEY_BEARING:
            assert frame["question_id"] in self.answered, f"feedback before an answer: {frame}"
        elif kind != "assessment_completed":
            assert not any(word in raw for word in KEY_WORDS), f"key material in {kind}: {raw}"

    async def start(self) -> tuple[dict[str, Any], dict[str, Any]]:
        await self.send("start_assessment")
        started = await self.expect("assessment_started")
        return started, await self.expect("question")

    async def answer(self, question: dict[str, Any], option: str = "a") -> list[dict[str, Any]]:
        """Submit and read feedback, progress, and the next question or the result."""
        await self.send("submit_answer", question_id=question["question_id"], selected_option=option)
        frames = [
            await self.expect("answer_feedback"),
            await self.expect("progress_update"),
            await self.recv(),
        ]
        assert frames[2]["type"] in ("question", "assessment_completed"), frames[2]
        return frames

    async def close(self) -> None:
        await self.socket.close()
