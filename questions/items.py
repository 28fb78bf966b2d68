"""The multiple-choice item: what a candidate is shown, plus the key and explanation kept server-side."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

OPTION_IDS: tuple[str, ...] = ("a", "b", "c", "d")

# Written difficulty on a five-step scale: 1 entry level, 2 junior, 3 intermediate, 4 senior, 5 expert.
Difficulty = Annotated[int, Field(ge=1, le=5)]


class Option(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    text: Annotated[str, Field(min_length=1)]


class Item(BaseModel):
    """One multiple-choice question with exactly four options and one correct key.

    `stem` is plain text; code appears in fenced blocks (```python ... ```).
    `family` is set for variants produced by a parametric family and names it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(min_length=1, max_length=120)]
    skill: str
    difficulty: Difficulty
    stem: Annotated[str, Field(min_length=10)]
    options: tuple[Option, ...]
    key: str
    explanation: Annotated[str, Field(min_length=10)]
    tags: tuple[str, ...] = ()
    family: str | None = None

    @field_validator("options")
    @classmethod
    def _four_lettered_options(cls, options: tuple[Option, ...]) -> tuple[Option, ...]:
        ids = tuple(option.id for option in options)
        if ids != OPTION_IDS:
            raise ValueError(f"expected options with ids {OPTION_IDS}, got {ids}")
        return options

    @model_validator(mode="after")
    def _key_names_an_option(self) -> Item:
        if self.key not in OPTION_IDS:
            raise ValueError(f"key {self.key!r} is not one of the option ids {OPTION_IDS}")
        return self

    @property
    def correct_text(self) -> str:
        return next(option.text for option in self.options if option.id == self.key)

    def public_view(self) -> dict[str, object]:
        """What a candidate may see: never the key, the explanation or the difficulty."""
        return {
            "text": self.stem,
            "options": [option.model_dump() for option in self.options],
            "skill": self.skill,
        }


def lettered_options(texts: list[str]) -> tuple[Option, ...]:
    """Four option texts in display order, lettered a-d."""
    return tuple(Option(id=letter, text=text) for letter, text in zip(OPTION_IDS, texts, strict=True))
