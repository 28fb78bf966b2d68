"""The candidate's assistant on /ws/chat (LangGraph): answers from the candidate's own records only.

classify ──> (secret? refuse) ──> look_up ──> compose ──> (a model configured?) phrase ──> END

It knows which tests the candidate may take, their windows and durations, attempts used and left, and
the results of finished attempts; it says plainly what it cannot answer, and it never reveals questions
or keys (it has no access to them: `look_up` reads applications and attempt summaries, not responses).
When a model is configured, `phrase` lets it word the answer from the same records (graphs/chat_phrasing.py
checks what it says); the composed answer is the fallback, and a request for secrets never reaches it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from domain.scoring import percentage
from graphs.chat_phrasing import phrase
from llm.client import ChatModel
from persistence import catalog, results
from persistence.catalog import CandidateTest
from persistence.database import Database

Intent = Literal["secret", "results", "attempts", "duration", "window", "tests", "help", "unknown"]

# First match wins, so the refusal comes before anything that might quote a test's contents.
_PATTERNS: tuple[tuple[Intent, str], ...] = (
    ("secret", r"\b(answers?|keys?|solutions?|cheat|correct (option|choice)|questions? (text|content))\b"),
    ("results", r"\b(results?|scores?|passed|pass|fail(ed)?|grade|how did i do|marks?)\b"),
    ("attempts", r"\b(attempts?|retakes?|retry|tries|try again|how many times)\b"),
    ("duration", r"\b(how long|duration|minutes|time limit|extra time|how much time)\b"),
    ("window", r"\b(window|when|opens?|closes?|deadline|until|available|start)\b"),
    ("tests", r"\b(tests?|assessments?|exams?|invited|invitations?|take)\b"),
    ("help", r"\b(hi|hello|hey|help|what can you)\b"),
)
INTENT_PATTERNS = tuple((intent, re.compile(pattern, re.IGNORECASE)) for intent, pattern in _PATTERNS)
CAPABILITIES = (
    "I can tell you which tests you may take, when their windows open and close, how long they last, "
    "how many attempts you have left, and the results of attempts you finished."
)


class ChatState(TypedDict, total=False):
    user_id: int
    message: str
    intent: Intent
    facts: list[TestFacts]
    reply: str
    phrased: bool  # the model's wording was sent


@dataclass(frozen=True)
class TestFacts:
    """What the assistant may say about one test: the candidate's view of it and their last result."""

    __test__ = False

    test: CandidateTest
    last_result: dict[str, Any] | None


def classify(message: str) -> Intent:
    return next((intent for intent, pattern in INTENT_PATTERNS if pattern.search(message)), "unknown")


def _when(moment: datetime | None, missing: str) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else missing


def _about(facts: list[TestFacts], message: str) -> list[TestFacts]:
    """The tests the message names (by title or `test N`), or all of them."""
    lowered = message.lower()
    named = [
        fact
        for fact in facts
        if fact.test.title.lower() in lowered or re.search(rf"\btest\s*#?{fact.test.test_id}\b", lowered)
    ]
    return named or facts


def compose(intent: Intent, facts: list[TestFacts], message: str) -> str:
    if intent == "secret":
        return "I can't share questions, answers or keys. " + CAPABILITIES
    if intent in ("help", "unknown"):
        prefix = "I can't answer that from your records. " if intent == "unknown" else "Hello! "
        return prefix + CAPABILITIES
    if not facts:
        return "You have no tests at the moment: nobody has invited you to a published test yet."
    lines = []
    for fact in _about(facts, message):
        test = fact.test
        if intent == "tests":
            state = {"open": "open now", "not_open": "not open yet", "closed": "closed"}[test.window.value]
            lines.append(f"{test.title} (test {test.test_id}): {state}, {test.attempts_left} attempt(s) left.")
        elif intent == "window":
            lines.append(
                f"{test.title}: opens {_when(test.starts_at, 'any time')}, closes {_when(test.ends_at, 'never')}."
            )
        elif intent == "duration":
            extra = f" plus {test.extra_time_minutes} minutes of extra time" if test.extra_time_minutes else ""
            lines.append(f"{test.title}: {test.duration_minutes} minutes{extra} from the moment you start.")
        elif intent == "attempts":
            running = " One is in progress now." if test.active_attempt_id is not None else ""
            lines.append(
                f"{test.title}: you have used {test.attempts_used} and have {test.attempts_left} left.{running}"
            )
        else:  # results
            result = fact.last_result
            if result is None:
                lines.append(f"{test.title}: no finished attempt yet.")
            else:
                verdict = "passed" if result["passed"] else "did not pass"
                lines.append(
                    f"{test.title}: attempt {result['number']} scored {result['score']}/{result['max_score']} "
                    f"({result['percentage']}%), which {verdict}."
                )
    return "\n".join(lines)


def build_chat_graph(
    database: Database, model: ChatModel | None = None, budget_s: float = 10.0
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """`model`: words the answers when given (within `budget_s`), else the composed answers are sent."""

    async def look_up(state: ChatState) -> ChatState:
        async with database.transaction() as session:
            tests = await catalog.candidate_tests(session, state["user_id"], datetime.now(UTC))
            finished = await results.finished_attempts_of_candidate(session, state["user_id"])
        last_by_test: dict[int, dict[str, Any]] = {}
        for attempt, test in finished:  # oldest first: the last one per test wins
            share = percentage(attempt.score, attempt.max_score)
            last_by_test[test.id] = {
                "number": attempt.number,
                "score": attempt.score,
                "max_score": attempt.max_score,
                "percentage": share,
                "passed": share >= test.passing_score,
            }
        return {"facts": [TestFacts(test, last_by_test.get(test.test_id)) for test in tests]}

    def classify_node(state: ChatState) -> ChatState:
        return {"intent": classify(state["message"])}

    def compose_node(state: ChatState) -> ChatState:
        return {"reply": compose(state["intent"], state.get("facts", []), state["message"])}

    async def phrase_node(state: ChatState) -> ChatState:
        assert model is not None
        facts, now = state.get("facts", []), datetime.now(UTC)
        worded = await phrase(model, state["message"], facts, state["reply"], now, budget_s)
        return {"reply": worded, "phrased": True} if worded is not None else {"phrased": False}

    def needs_records(state: ChatState) -> Literal["look_up", "compose"]:
        if state["intent"] == "secret":
            return "compose"
        # A model may understand what the patterns did not: it gets the records whatever the intent.
        return "look_up" if model is not None or state["intent"] not in ("help", "unknown") else "compose"

    def needs_wording(state: ChatState) -> Literal["phrase", "__end__"]:
        return "phrase" if model is not None and state["intent"] != "secret" else "__end__"

    builder = StateGraph(ChatState)
    builder.add_node("classify", classify_node)
    builder.add_node("look_up", look_up)
    builder.add_node("compose", compose_node)
    builder.add_node("phrase", phrase_node)
    builder.add_edge(START, "classify")
    builder.add_conditional_edges("classify", needs_records)
    builder.add_edge("look_up", "compose")
    builder.add_conditional_edges("compose", needs_wording)
    builder.add_edge("phrase", END)
    return builder.compile()
