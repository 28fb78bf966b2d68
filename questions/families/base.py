"""A parametric item family: a template that produces unlimited fresh variants with a computed key."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod

from questions.items import Item, lettered_options


class ItemFamily(ABC):
    """Subclasses draw the variant's parameters from `rng`, compute the answer, and build distractors.

    A variant is fully determined by its seed, so an item id (`<family>-<seed>`) regenerates the same
    item anywhere: the live graph, a replay in a report, the simulator.
    """

    name: str
    skill: str
    difficulty: int
    tags: tuple[str, ...] = ()

    def generate(self, seed: int) -> Item:
        rng = random.Random(f"{self.name}:{seed}")
        stem, correct, distractors, explanation = self.compose(rng)
        texts = [correct, *distractors]
        if len(set(texts)) != 4:
            raise ValueError(f"{self.name} seed {seed}: options are not four distinct texts: {texts}")
        rng.shuffle(texts)
        options = lettered_options(texts)
        key = next(option.id for option in options if option.text == correct)
        return Item(
            id=f"{self.name}-{seed}",
            skill=self.skill,
            difficulty=self.difficulty,
            stem=stem,
            options=options,
            key=key,
            explanation=explanation,
            tags=self.tags,
            family=self.name,
        )

    @abstractmethod
    def compose(self, rng: random.Random) -> tuple[str, str, list[str], str]:
        """Return (stem, correct option text, three distinct wrong option texts, explanation)."""
