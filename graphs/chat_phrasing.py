"""A model's wording of a chat answer, kept to the candidate's own records.

The model is shown the candidate's message, the facts read from the database for this candidate (tests,
windows, durations, attempts, results of finished attempts) and the answer composed from them without a
model. It never sees a question, an option or a key: the chat graph does not read them. Its reply is used
only when it passes the checks below (every number it states is one of the records', it does not talk
about answers or keys, it is short); otherwise the composed answer stands, as it does when the model is
slow, down or not JSON.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from llm.client import ChatModel, ModelError

if TYPE_CHECKING:
    from graphs.chat import TestFacts

logger = logging.getLogger(__name__)

CHAT_PROMPT_VERSION = "chat-v1"
MAX_REPLY_CHARS = 1_500
MAX_MESSAGE_CHARS = 1_000
CHAT_TEMPERATURE = 0.3
COMPOSED_MARKER = "Answer composed from the records:"
NUMBER = re.compile(r"\d+(?:\.\d+)?")
ABOUT_ITEMS = re.compile(
    r"\b(answer keys?|keys?|solutions?|(correct|right) (answers?|options?|choices?)|options? [a-d]|questions? #?\d+)\b",
    re.IGNORECASE,
)

CHAT_SYSTEM = (
    "You are the assistant of an online hiring assessment platform, talking to one candidate. Answer the "
    "candidate's message using only the records given (their tests, windows, durations, attempts and "
    "results). If the records do not answer it, say so and say what you can help with. Never invent a date, "
    "a number or a test; never discuss questions, options, answers or keys. Be brief and friendly. "
    "Answer with a JSON object whose `reply` is the text for the candidate."
)

REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"reply": {"type": "string"}},
    "required": ["reply"],
    "additionalProperties": False,
}


def records(facts: list[TestFacts], now: datetime) -> list[dict[str, Any]]:
    """The candidate's records as the model sees them (and the grounding check reads them)."""
    return [
        {
            "test_id": fact.test.test_id,
            "title": fact.test.title,
            "window": fact.test.window.value,
            "opens_at": fact.test.starts_at.isoformat() if fact.test.starts_at else None,
            "closes_at": fact.test.ends_at.isoformat() if fact.test.ends_at else None,
            "duration_minutes": fact.test.duration_minutes,
            "extra_time_minutes": fact.test.extra_time_minutes,
            "attempts_used": fact.test.attempts_used,
            "attempts_left": fact.test.attempts_left,
            "attempt_in_progress": fact.test.active_attempt_id is not None,
            "last_result": fact.last_result,
        }
        for fact in facts
    ] + [{"now": now.isoformat(timespec="minutes")}]


def chat_messages(message: str, facts: list[TestFacts], composed: str, now: datetime) -> list[dict[str, str]]:
    user = (
        f"Candidate's message: {message[:MAX_MESSAGE_CHARS]}\n\n"
        f"Records (JSON): {json.dumps(records(facts, now), default=str)}\n\n"
        f"{COMPOSED_MARKER}\n{composed}"
    )
    return [{"role": "system", "content": CHAT_SYSTEM}, {"role": "user", "content": user}]


def _numbers(text: str) -> set[float]:
    return {float(number) for number in NUMBER.findall(text)}


def reply_problems(reply: object, sources: str) -> list[str]:
    """Why a model's reply may not be sent: `sources` is everything the model was shown."""
    if not isinstance(reply, str) or not reply.strip():
        return ["the reply is empty"]
    problems = []
    if len(reply) > MAX_REPLY_CHARS:
        problems.append(f"the reply is longer than {MAX_REPLY_CHARS} characters")
    if unsupported := _numbers(reply) - _numbers(sources):
        problems.append(f"the reply states numbers not in the records: {sorted(unsupported)[:5]}")
    if ABOUT_ITEMS.search(reply):
        problems.append("the reply talks about questions, answers or keys")
    return problems


async def phrase(
    model: ChatModel, message: str, facts: list[TestFacts], composed: str, now: datetime, budget_s: float
) -> str | None:
    """The model's reply when it passes the checks, else None (the composed answer is sent)."""
    messages = chat_messages(message, facts, composed, now)
    try:
        reply = await asyncio.wait_for(
            model.complete_json(messages, "chat_reply", REPLY_SCHEMA, CHAT_TEMPERATURE), budget_s
        )
    except (ModelError, TimeoutError) as error:
        logger.info("chat answered without the model", extra={"reason": str(error) or "time budget spent"})
        return None
    text = reply.content.get("reply")
    if problems := reply_problems(text, messages[1]["content"]):
        logger.info("chat reply of the model refused", extra={"problems": problems})
        return None
    assert isinstance(text, str)
    return text.strip()
