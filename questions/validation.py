"""Checks over the item bank and the parametric families, run by `assess bank check` and the tests."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from questions.families.base import ItemFamily
from questions.items import Item

MIN_ITEMS_PER_SKILL = 20
_CATCH_ALL = re.compile(r"\b(all|none|both) of the (above|options|answers)\b", re.IGNORECASE)


def check_item(item: Item, known_skills: Iterable[str]) -> list[str]:
    problems = []
    texts = [option.text.strip() for option in item.options]  # case matters: options may be program output
    if len(set(texts)) != len(texts):
        problems.append(f"{item.id}: two options have the same text")
    if sum(option.id == item.key for option in item.options) != 1:
        problems.append(f"{item.id}: the key does not name exactly one option")
    if item.skill not in set(known_skills):
        problems.append(f"{item.id}: unknown skill {item.skill!r}")
    if any(_CATCH_ALL.search(option.text) for option in item.options):
        problems.append(f"{item.id}: an option says 'all/none of the above'")
    if not item.explanation.strip():
        problems.append(f"{item.id}: no explanation")
    return problems


def check_bank(
    items: Sequence[Item], skills: Sequence[str], min_items_per_skill: int = MIN_ITEMS_PER_SKILL
) -> list[str]:
    """Every problem found, as one line each; an empty list means the bank is sound."""
    problems: list[str] = []
    for item_id, count in Counter(item.id for item in items).items():
        if count > 1:
            problems.append(f"{item_id}: id used {count} times")
    for stem, count in Counter(item.stem.strip().casefold() for item in items).items():
        if count > 1:
            problems.append(f"the same stem appears {count} times: {stem[:60]!r}")
    for item in items:
        problems.extend(check_item(item, skills))
        if item.family is None and not item.id.startswith(f"{item.skill}-"):
            problems.append(f"{item.id}: bank ids start with their skill")
    per_skill = Counter(item.skill for item in items)
    for skill in skills:
        if per_skill[skill] < min_items_per_skill:
            problems.append(f"skill {skill!r} has {per_skill[skill]} items, fewer than {min_items_per_skill}")
    return problems


def check_families(families: Sequence[ItemFamily], skills: Sequence[str], seeds: Iterable[int]) -> list[str]:
    """Generate each family over `seeds`; every variant must be a sound, reproducible item."""
    problems: list[str] = []
    seeds = list(seeds)
    for family in families:
        if family.skill not in skills:
            problems.append(f"family {family.name}: unknown skill {family.skill!r}")
        for seed in seeds:
            try:
                item = family.generate(seed)
            except Exception as error:
                problems.append(f"family {family.name} seed {seed}: {error}")
                continue
            problems.extend(check_item(item, skills))
            if family.generate(seed) != item:
                problems.append(f"family {family.name} seed {seed}: the same seed gave a different item")
    return problems
