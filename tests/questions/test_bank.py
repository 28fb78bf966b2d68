"""The shipped bank, its validator and the question source."""

import pytest

from questions.bank import load_bank
from questions.families import FAMILIES
from questions.items import Item, lettered_options
from questions.skills import SKILLS
from questions.source import QuestionSource
from questions.validation import check_bank, check_families


def test_the_shipped_bank_is_sound() -> None:
    items = load_bank()
    assert len(items) >= 200
    assert len({item.skill for item in items}) >= 10
    assert check_bank(items, SKILLS) == []
    assert all(len(item.options) == 4 and item.explanation for item in items)


def test_keys_are_spread_over_the_option_positions() -> None:
    counts = {letter: sum(item.key == letter for item in load_bank()) for letter in "abcd"}
    assert min(counts.values()) >= len(load_bank()) // 6, counts


def test_every_family_is_sound_over_many_seeds() -> None:
    assert len(FAMILIES) >= 6
    assert check_families(FAMILIES, SKILLS, range(100)) == []


def _item(
    item_id: str,
    skill: str = "python",
    texts: tuple[str, ...] = ("1", "2", "3", "4"),
    key: str = "a",
    stem: str | None = None,
) -> Item:
    return Item(
        id=item_id,
        skill=skill,
        difficulty=2,
        stem=stem or f"What is asked in {item_id}?",
        options=lettered_options(list(texts)),
        key=key,
        explanation="Because it is so.",
    )


def test_the_validator_finds_each_kind_of_defect() -> None:
    items = [
        _item("python-001"),
        _item("python-001", stem="Another stem for the same id?"),
        _item("python-002", texts=("same", "same ", "x", "y")),
        _item("python-003", texts=("1", "2", "3", "All of the above")),
        _item("sql-001", skill="cooking"),
        _item("python-004", stem="What is asked in python-001?"),
    ]
    problems = "\n".join(check_bank(items, ["python", "sql"], min_items_per_skill=2))
    assert "python-001: id used 2 times" in problems
    assert "python-002: two options have the same text" in problems
    assert "python-003: an option says 'all/none of the above'" in problems
    assert "sql-001: unknown skill 'cooking'" in problems
    assert "the same stem appears 2 times" in problems
    assert "skill 'sql' has 0 items" in problems


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"key": "e"}, "key"),
        ({"options": lettered_options(["1", "2", "3", "4"])[:3]}, "option"),
        ({"difficulty": 6}, "difficulty"),
    ],
)
def test_the_item_model_refuses_malformed_items(changes: dict[str, object], message: str) -> None:
    values = _item("python-001").model_dump()
    values.update(changes)
    with pytest.raises(ValueError, match=message):
        Item.model_validate(values)


def test_public_view_never_carries_the_key() -> None:
    item = load_bank()[0]
    view = item.public_view()
    assert set(view) == {"text", "options", "skill"}
    assert item.explanation not in str(view)


def test_family_variants_are_regenerated_from_their_id() -> None:
    source = QuestionSource()
    variant = source.families[0].generate(12345)
    assert source.get(variant.id) == variant
    with pytest.raises(KeyError):
        source.get("no-such-family-3")
