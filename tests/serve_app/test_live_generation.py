"""Live assessments with the LLM generator (both databases, over WebSocket), against the scripted model
server on loopback: generated items are validated, prepared while the candidate reads, stored with their
provenance; a failing or slow model never fails an assessment (the bank steps in)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import ray
from conftest import Server, invite_cohort
from fake_llm import ARITHMETIC, solve
from live_client import LiveClient, ws_url
from sqlalchemy import select

from actors.registry import NAMESPACE, registry_name
from persistence.database import Database
from persistence.models import Item as ItemRow
from persistence.models import Response

pytestmark = pytest.mark.websocket

QUESTIONS = 5


async def take(server: Server, token: str, test_id: int, think_s: float) -> dict[str, Any]:
    """Answer every question right (the fake's items are computable; bank items get "a") and note when
    each question arrived and each answer left."""
    client = await LiveClient.connect(ws_url(server.base_url, "/ws/assessment", token=token, test_id=test_id))
    await client.expect("auth_success")
    _, question = await client.start()
    seen: dict[str, Any] = {"questions": [], "answers_sent_at": [], "feedback": []}
    while question["type"] == "question":
        seen["questions"].append(question)
        await asyncio.sleep(think_s)
        text = question["text"] + "\n\n" + "\n".join(f"{o['id']}) {o['text']}" for o in question["options"])
        seen["answers_sent_at"].append(time.monotonic())
        feedback, _, question = await client.answer(question, option=solve(text))
        seen["feedback"].append(feedback)
    seen["completed"] = question
    await client.close()
    return seen


def generation_stats(server: Server) -> dict[str, Any]:
    registry = ray.get_actor(registry_name(server.settings.database_url), namespace=NAMESPACE)
    totals: dict[str, Any] = {"outcomes": {}, "rejections": {}, "served": {}}
    for host in ray.get(registry.host_stats.remote()):
        assert host["answered"], host
        for group in totals:
            for name, count in (host["generation"] or {}).get(group, {}).items():
                totals[group][name] = totals[group].get(name, 0) + count
    return totals


def test_generated_items_are_prepared_while_the_candidate_reads(model_server: Server, fake_model) -> None:  # type: ignore[no-untyped-def]
    test_id, (token,) = invite_cohort(
        model_server, 1, generator="llm", max_questions=QUESTIONS, min_questions=QUESTIONS
    )
    before = generation_stats(model_server)
    seen = asyncio.run(take(model_server, token, test_id, think_s=0.5))

    assert all(ARITHMETIC.search(question["text"]) for question in seen["questions"]), "every item was generated"
    assert all(feedback["correct"] for feedback in seen["feedback"]), "every generated key is right"
    assert (seen["completed"]["score"], seen["completed"]["max_score"]) == (QUESTIONS, QUESTIONS)
    drafted_at = {
        request["content"]["stem"]: request["at"] for request in fake_model.requests if request["content"] is not None
    }
    for index, question in enumerate(seen["questions"][1:], start=1):  # drafted before the previous answer left
        assert drafted_at[question["text"]] < seen["answers_sent_at"][index - 1], index
    after = generation_stats(model_server)
    served = {name: after["served"].get(name, 0) - before["served"].get(name, 0) for name in after["served"]}
    assert served.get("on_demand", 0) == 1 and served.get("ready", 0) + served.get("waited", 0) == QUESTIONS - 1

    stored = asyncio.run(stored_items(model_server, seen["completed"]["attempt_id"]))
    assert len(stored) == QUESTIONS
    for item_id, row in stored:
        assert item_id.startswith("llm-") and row is not None and row.source == "llm", item_id
        assert row.provenance["model"] == "fake-model" and row.provenance["validation"]["independent_solve"] == row.key


async def stored_items(server: Server, attempt_id: int) -> list[tuple[str, ItemRow | None]]:
    """Each response's item id, and that item's row in the catalogue."""
    database = Database(server.settings.database_url)
    try:
        async with database.transaction() as session:
            item_ids = (
                await session.scalars(
                    select(Response.item_id).where(Response.attempt_id == attempt_id).order_by(Response.index)
                )
            ).all()
            return [(item_id, await session.get(ItemRow, item_id)) for item_id in item_ids]
    finally:
        await database.dispose()


def test_a_bank_test_on_a_model_server_never_calls_the_model(model_server: Server, fake_model) -> None:  # type: ignore[no-untyped-def]
    test_id, (token,) = invite_cohort(model_server, 1, generator="bank", max_questions=3, min_questions=3)
    seen = asyncio.run(take(model_server, token, test_id, think_s=0.0))
    assert seen["completed"]["type"] == "assessment_completed"
    assert fake_model.requests == []


@pytest.mark.parametrize("failure", ["error500", "invalid_json", "slow:10", "wrong"])
def test_a_failing_or_slow_model_never_fails_the_assessment(  # type: ignore[no-untyped-def]
    model_server: Server, fake_model, failure: str
) -> None:
    role = "solve" if failure == "wrong" else "draft"
    fake_model.default[role] = failure
    test_id, (token,) = invite_cohort(model_server, 1, generator="llm", max_questions=3, min_questions=3)
    before = generation_stats(model_server)
    seen = asyncio.run(take(model_server, token, test_id, think_s=0.0))
    assert seen["completed"]["type"] == "assessment_completed" and seen["completed"]["reason"] == "completed"
    assert len(seen["questions"]) == 3
    assert not any(ARITHMETIC.search(question["text"]) for question in seen["questions"]), "the bank stepped in"
    after = generation_stats(model_server)
    expected = "timeout" if failure.startswith("slow") else "rejected"
    assert after["outcomes"].get(expected, 0) > before["outcomes"].get(expected, 0)
