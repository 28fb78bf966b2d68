"""The question source: the bank items and the parametric families, by id and by skill."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from questions.bank import load_bank
from questions.families import FAMILIES
from questions.families.base import ItemFamily
from questions.items import Item
from questions.skills import SKILL_TITLES

# Family variant ids are "<family>-<seed>"; seeds are drawn from this range.
_SEED_SPACE = 2**31


@dataclass(frozen=True)
class SkillCoverage:
    name: str
    title: str
    items: int
    families: int


class QuestionSource:
    """Pure and deterministic given its inputs: no Ray, no database, randomness only through `rng`."""

    def __init__(self, items: Sequence[Item] | None = None, families: Sequence[ItemFamily] | None = None) -> None:
        self._items = tuple(load_bank() if items is None else items)
        self._families = tuple(FAMILIES if families is None else families)
        self._by_id = {item.id: item for item in self._items}
        self._families_by_name = {family.name: family for family in self._families}
        self._items_by_skill: dict[str, list[Item]] = defaultdict(list)
        for item in self._items:
            self._items_by_skill[item.skill].append(item)
        self._families_by_skill: dict[str, list[ItemFamily]] = defaultdict(list)
        for family in self._families:
            self._families_by_skill[family.skill].append(family)

    @property
    def items(self) -> tuple[Item, ...]:
        return self._items

    @property
    def families(self) -> tuple[ItemFamily, ...]:
        return self._families

    def skills(self) -> list[SkillCoverage]:
        names = sorted(set(self._items_by_skill) | set(self._families_by_skill))
        return [
            SkillCoverage(
                name=name,
                title=SKILL_TITLES.get(name, name),
                items=len(self._items_by_skill[name]),
                families=len(self._families_by_skill[name]),
            )
            for name in names
        ]

    def covers(self, skill: str) -> bool:
        return bool(self._items_by_skill.get(skill) or self._families_by_skill.get(skill))

    def get(self, item_id: str) -> Item:
        """A bank item by id, or a family variant regenerated from its `<family>-<seed>` id."""
        if item_id in self._by_id:
            return self._by_id[item_id]
        name, _, seed = item_id.rpartition("-")
        family = self._families_by_name.get(name)
        if family is None or not seed.isdigit():
            raise KeyError(item_id)
        return family.generate(int(seed))

    def family(self, name: str) -> ItemFamily:
        return self._families_by_name[name]
