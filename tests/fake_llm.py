"""A real OpenAI-compatible chat-completions server on loopback that the tests (and bench/generation.py)
start and script.

It tells its three roles apart by their system prompt. Drafts are arithmetic items, unique per request, whose
key a solver can compute; the solver computes it; the chat assistant rewords the answer composed from the
candidate's records. A test queues behaviours per role (`script`); when the
queue is empty the server behaves well. Every reply can be delayed (`latency_s`), and the server records
each request and the most requests it had in flight at once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from graphs.chat_phrasing import COMPOSED_MARKER
from llm.prompts import DRAFT_SYSTEM, SOLVE_SYSTEM

ARITHMETIC = re.compile(r"print\((\d+) \* (\d+) \+ (\d+)\)")
LETTERS = "abcd"
ROLES = ("draft", "solve", "chat")
# What the chat role says for a behaviour other than "well" (which rewords the composed answer).
CHAT_REPLIES = {
    "invented": "You scored 97 out of 100 on your last attempt.",
    "about_keys": "The correct answer to question 2 was option c.",
    "empty": "   ",
}


def arithmetic_item(number: int) -> dict[str, Any]:
    x, y, z = 2 + number % 7, 3 + number % 11, 10 + number
    right = x * y + z
    distractors = [x * (y + z), x * y - z, x + y + z]
    key = LETTERS[number % 4]
    options = list(map(str, distractors))
    options.insert(LETTERS.index(key), str(right))
    return {
        "stem": f"In Python, what does `print({x} * {y} + {z})` print?",
        "options": options,
        "key": key,
        "explanation": f"Multiplication binds tighter: {x} * {y} is {x * y}, plus {z} gives {right}.",
    }


def solve(stem_and_options: str) -> str:
    match = ARITHMETIC.search(stem_and_options)
    if match is None:
        return "a"
    x, y, z = map(int, match.groups())
    for line in stem_and_options.splitlines():
        if re.fullmatch(rf"[abcd]\) {x * y + z}", line.strip()):
            return line.strip()[0]
    return "a"


@dataclass
class FakeModel:
    base_url: str = ""
    latency_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    max_in_flight: int = 0
    _queues: dict[str, deque[str]] = field(default_factory=lambda: {role: deque() for role in ROLES})
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _in_flight: Counter[int] = field(default_factory=Counter)  # by epoch: a reset leaves hung requests behind
    _epoch: int = 0
    _last_draft: dict[str, Any] | None = None
    default: dict[str, str] = field(default_factory=dict)  # behaviour per role once its queue is empty
    bad_draft_share: float = 0.0  # drafts that are flawed, wrongly keyed or not JSON, at random
    _random: random.Random = field(default_factory=lambda: random.Random(0))
    canned: dict[str, dict[str, Any]] = field(default_factory=dict)  # behaviour "canned:NAME" drafts canned[NAME]

    def script(self, role: str, *behaviours: str) -> None:
        self._queues[role].extend(behaviours)

    def reset(self) -> None:
        for queue in self._queues.values():
            queue.clear()
        self.canned.clear()
        self.default.clear()
        self.requests.clear()
        self.max_in_flight = 0
        self.latency_s = 0.0
        self.bad_draft_share = 0.0
        self._epoch += 1

    def roles(self) -> list[str]:
        return [request["role"] for request in self.requests]

    async def reply(self, body: dict[str, Any]) -> Response:
        system = body["messages"][0]["content"]
        role = "draft" if system == DRAFT_SYSTEM else "solve" if system == SOLVE_SYSTEM else "chat"
        request = {"role": role, "body": body, "at": time.monotonic(), "content": None}
        self.requests.append(request)
        behaviour = self._queues[role].popleft() if self._queues.get(role) else self.default.get(role, "well")
        if role == "draft" and behaviour == "well" and self._random.random() < self.bad_draft_share:
            behaviour = self._random.choice(["flawed", "wrong_key", "invalid_json"])
        epoch = self._epoch
        self._in_flight[epoch] += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight[epoch])
        try:
            await asyncio.sleep(self.latency_s)
            if behaviour.startswith("slow:"):
                await asyncio.sleep(float(behaviour.split(":")[1]))
            if behaviour == "hang":
                await asyncio.sleep(3600)
            if behaviour == "error500":
                return JSONResponse({"error": {"message": "overloaded"}}, status_code=500)
            if behaviour == "invalid_json":
                return completion("Sure! Here is your question: {stem: ...")
            if role == "chat":
                composed = body["messages"][1]["content"].split(COMPOSED_MARKER, 1)[1].strip()
                reply = CHAT_REPLIES.get(behaviour, f"From your records: {composed}")
                return completion(json.dumps({"reply": reply}))
            if role == "solve":
                user = body["messages"][1]["content"]
                answer = solve(user) if behaviour != "wrong" else LETTERS[(LETTERS.index(solve(user)) + 1) % 4]
                return completion(json.dumps({"answer": answer}))
            request["content"] = self._draft(behaviour)
            return completion(json.dumps(request["content"]))
        finally:
            self._in_flight[epoch] -= 1

    def _draft(self, behaviour: str) -> dict[str, Any]:
        if behaviour.startswith("canned:"):
            return self.canned[behaviour.removeprefix("canned:")]
        if behaviour == "duplicate" and self._last_draft is not None:
            return {**self._last_draft, "key": self._last_draft["key"]}
        item = arithmetic_item(next(self._numbers))
        if behaviour == "wrong_key":
            item["key"] = LETTERS[(LETTERS.index(item["key"]) + 1) % 4]
        elif behaviour == "flawed":
            wrong = next(letter for letter in LETTERS if letter != item["key"])
            item["options"][LETTERS.index(wrong)] = "All of the above"
        elif behaviour == "three_options":
            item["options"] = item["options"][:3]
        else:
            self._last_draft = item
        return item


def completion(content: str) -> Response:
    return JSONResponse(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        }
    )


def start_fake_model() -> tuple[FakeModel, uvicorn.Server, threading.Thread]:
    model = FakeModel()
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        return await model.reply(await request.json())

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    model.base_url = f"http://127.0.0.1:{port}/v1"
    return model, server, thread
