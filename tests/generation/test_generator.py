"""The generation graph and the generator service against a scripted OpenAI-compatible server on
loopback (tests/fake_llm.py), storing into the real database (both backends)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import make_database_url
from fake_llm import FakeModel

from generation.service import Generated, ItemGenerator
from llm.client import ChatModel
from llm.prompts import PROMPT_VERSION, Target
from persistence.database import Database
from persistence.migrate import upgrade
from persistence.models import Item as ItemRow
from questions.items import Item
from questions.source import QuestionSource


@pytest.fixture(scope="module")
def store_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this module's own: generated items stay out of the session's shared store."""
    url, scratch = make_database_url(backend, tmp_path_factory.mktemp("generated"))
    upgrade(url)
    yield url
    if scratch is not None:
        scratch.drop()


TARGET = Target(skill="python", difficulty=3, job_description="Backend engineer on a payments API in Python.")
PARAMETERS = (1.0, 0.0, 0.2)


def generate_with(
    fake: FakeModel, store_url: str, *, timeout_s: float = 5.0, budget_s: float = 10.0, concurrency: int = 16
) -> Callable[..., Any]:
    """Run a coroutine that receives a fresh generator (its own client and store) and clean up after."""

    def run(scenario: Callable[[ItemGenerator], Any]) -> Any:
        async def go() -> Any:
            model = ChatModel(
                fake.base_url, "fake-model", api_key="k", timeout_s=timeout_s, max_concurrency=concurrency
            )
            database = Database(store_url)
            bank = [item.stem for item in QuestionSource().items]
            try:
                return await scenario(ItemGenerator(model, database, bank, max_tries=3, budget_s=budget_s))
            finally:
                await model.aclose()
                await database.dispose()

        return asyncio.run(go())

    return run


async def stored(store_url: str, item_id: str) -> ItemRow | None:
    database = Database(store_url)
    try:
        async with database.transaction() as session:
            return await session.get(ItemRow, item_id)
    finally:
        await database.dispose()


def test_a_valid_item_is_solved_independently_and_stored_with_provenance(fake_model, store_url) -> None:  # type: ignore[no-untyped-def]
    generated: Generated = generate_with(fake_model, store_url)(
        lambda generator: generator.generate(TARGET, PARAMETERS, fills="python-007")
    )
    assert generated.outcome == "accepted" and generated.item is not None
    item = generated.item
    assert item.skill == "python" and item.difficulty == 3 and item.id.startswith("llm-python-")
    assert fake_model.roles() == ["draft", "solve"]
    solve_request = fake_model.requests[1]["body"]
    assert "key" not in solve_request["messages"][1]["content"].lower() and item.key not in str(solve_request)[-5:]
    row = asyncio.run(stored(store_url, item.id))
    assert row is not None and row.source == "llm" and row.stem == item.stem and row.key == item.key
    assert (row.irt_a, row.irt_b, row.irt_c) == PARAMETERS
    provenance = row.provenance
    assert provenance["model"] == "fake-model" and provenance["prompt_version"] == PROMPT_VERSION
    assert provenance["outcome"] == "accepted" and provenance["tries"] == 1 and provenance["fills"] == "python-007"
    assert provenance["validation"]["independent_solve"] == item.key
    assert [call["role"] for call in provenance["calls"]] == ["draft", "solve"] and provenance["latency_s"] > 0


def test_the_draft_request_carries_the_target_and_asks_for_structured_json(fake_model, store_url) -> None:  # type: ignore[no-untyped-def]
    target = Target("sql", 5, job_description="Data engineer.", avoid_stems=("What does GROUP BY do?",))
    generate_with(fake_model, store_url)(lambda generator: generator.generate(target, PARAMETERS, fills="sql-001"))
    body = fake_model.requests[0]["body"]
    assert body["model"] == "fake-model"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["stem", "options", "key", "explanation"]
    prompt = body["messages"][1]["content"]
    assert "Skill: sql" in prompt and "expert" in prompt and "Data engineer." in prompt
    assert "What does GROUP BY do?" in prompt


@pytest.mark.parametrize(
    ("draft_script", "solve_script", "stage"),
    [
        (["invalid_json"], [], "model"),
        (["three_options"], [], "schema"),
        (["flawed"], [], "flaws"),
        (["wrong_key"], [], "solve"),
        ([], ["wrong"], "solve"),
        (["error500"], [], "model"),
        ([], ["error500"], "model"),
    ],
)
def test_a_bad_draft_is_rejected_and_the_next_try_succeeds(  # type: ignore[no-untyped-def]
    fake_model, store_url, draft_script: list[str], solve_script: list[str], stage: str
) -> None:
    fake_model.script("draft", *draft_script)
    fake_model.script("solve", *solve_script)
    generated = generate_with(fake_model, store_url)(
        lambda generator: generator.generate(TARGET, PARAMETERS, fills="python-001")
    )
    assert generated.outcome == "accepted" and generated.item is not None
    rejections = generated.provenance["rejections"]
    assert [rejection["stage"] for rejection in rejections] == [stage], rejections
    assert generated.provenance["tries"] == 2
    retry_prompt = [request for request in fake_model.requests if request["role"] == "draft"][1]["body"]
    assert "previous draft was rejected" in retry_prompt["messages"][1]["content"]


def test_a_duplicate_of_an_earlier_generated_item_is_refused(fake_model, store_url) -> None:  # type: ignore[no-untyped-def]
    fake_model.script("draft", "well", "duplicate")

    async def twice(generator: ItemGenerator) -> tuple[Generated, Generated]:
        first = await generator.generate(TARGET, PARAMETERS, fills="python-001")
        return first, await generator.generate(TARGET, PARAMETERS, fills="python-002")

    first, second = generate_with(fake_model, store_url)(twice)
    assert first.item is not None and second.item is not None and first.item.stem != second.item.stem
    assert [rejection["stage"] for rejection in second.provenance["rejections"]] == ["duplicate"]


def as_draft(item: Item) -> dict[str, Any]:
    return {
        "stem": item.stem,
        "options": [option.text for option in item.options],
        "key": item.key,
        "explanation": item.explanation,
    }


def test_a_copy_of_a_bank_item_is_refused(fake_model, store_url) -> None:  # type: ignore[no-untyped-def]
    fake_model.canned["bank"] = as_draft(QuestionSource().get("python-003"))
    fake_model.script("draft", "canned:bank")
    generated = generate_with(fake_model, store_url)(
        lambda generator: generator.generate(TARGET, PARAMETERS, fills="python-002")
    )
    assert generated.item is not None
    assert [rejection["stage"] for rejection in generated.provenance["rejections"]] == ["duplicate"]


def test_a_stem_already_used_in_the_attempt_is_refused(fake_model, store_url) -> None:  # type: ignore[no-untyped-def]
    used = "In Python, what does `print(5 * 5 + 500)` print?"
    fake_model.canned["used"] = {
        "stem": used,
        "options": ["2525", "525", "3000", "510"],
        "key": "b",
        "explanation": "5 * 5 is 25, plus 500 gives 525.",
    }
    fake_model.script("draft", "canned:used")
    attempt = Target("python", 3, avoid_stems=(used,))
    generated = generate_with(fake_model, store_url)(
        lambda generator: generator.generate(attempt, PARAMETERS, fills="python-002")
    )
    assert generated.item is not None and generated.item.stem != used
    assert [rejection["stage"] for rejection in generated.provenance["rejections"]] == ["duplicate"]


def test_three_failures_fall_back_and_store_nothing(fake_model, store_url) -> None:  # type: ignore[no-untyped-def]
    fake_model.script("draft", "flawed", "invalid_json", "wrong_key")
    generated = generate_with(fake_model, store_url)(
        lambda generator: generator.generate(TARGET, PARAMETERS, fills="python-001")
    )
    assert generated.outcome == "rejected" and generated.item is None
    assert [rejection["stage"] for rejection in generated.provenance["rejections"]] == ["flaws", "model", "solve"]
    assert fake_model.roles() == ["draft", "draft", "draft", "solve"]


def test_a_hanging_model_is_cut_off_by_the_client_timeout(fake_model, store_url) -> None:  # type: ignore[no-untyped-def]
    fake_model.script("draft", "hang", "hang", "hang")
    generated = generate_with(fake_model, store_url, timeout_s=0.3)(
        lambda generator: generator.generate(TARGET, PARAMETERS, fills="python-001")
    )
    assert generated.outcome == "rejected" and generated.item is None
    assert all("no reply within" in rejection["problems"][0] for rejection in generated.provenance["rejections"])


def test_a_slow_model_is_cut_off_by_the_time_budget(fake_model, store_url) -> None:  # type: ignore[no-untyped-def]
    fake_model.script("draft", "slow:5")

    async def timed(generator: ItemGenerator) -> tuple[Generated, float]:
        began = asyncio.get_running_loop().time()
        generated = await generator.generate(TARGET, PARAMETERS, fills="python-001")
        return generated, asyncio.get_running_loop().time() - began

    generated, seconds = generate_with(fake_model, store_url, budget_s=0.5)(timed)
    assert generated.outcome == "timeout" and generated.item is None
    assert seconds < 5  # cut off by the budget, not by the model's 5 s (a bound on behaviour, not speed)


def test_concurrency_towards_the_model_is_bounded_not_serialized(fake_model, store_url) -> None:  # type: ignore[no-untyped-def]
    fake_model.latency_s = 0.2

    async def many(generator: ItemGenerator) -> list[Generated]:
        targets = [Target("python", 1 + index % 5) for index in range(12)]
        return list(await asyncio.gather(*(generator.generate(target, PARAMETERS, "x") for target in targets)))

    generated = generate_with(fake_model, store_url, concurrency=4)(many)
    assert all(result.outcome == "accepted" for result in generated)
    assert fake_model.max_in_flight == 4  # never more than the bound, and the bound is used
