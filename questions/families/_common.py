"""Small helpers shared by the item families (standard library only)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_INT = re.compile(r"-?\d+")


def fence(code: str, language: str = "") -> str:
    """A fenced code block for a stem."""
    return f"```{language}\n{code.strip(chr(10))}\n```"


def pick_distractors(correct: str, *sources: Iterable[str], count: int = 3) -> list[str]:
    """The first `count` distinct texts from `sources` (in order) that differ from `correct`.

    Sources are consumed lazily, so a long (or endless) fallback generator may come last.
    """
    chosen: list[str] = []
    for source in sources:
        for text in source:
            if text and text != correct and text not in chosen:
                chosen.append(text)
                if len(chosen) == count:
                    return chosen
    raise ValueError(f"could not find {count} distractors for {correct!r}; got {chosen!r}")


def int_perturbations(text: str, deltas: Iterable[int] = (1, -1, 2, -2, 3, -3, 5, -5, 10, -10)) -> list[str]:
    """Variants of `text` with one of its integers shifted by a small delta (last integer first)."""
    matches = list(_INT.finditer(text))
    out: list[str] = []
    for delta in deltas:
        for match in reversed(matches):
            value = int(match.group()) + delta
            out.append(text[: match.start()] + str(value) + text[match.end() :])
    return out


def text_perturbations(text: str) -> list[str]:
    """Plausible-looking variants of a short output text that has no integer to shift."""
    out = [text.swapcase(), text.upper(), text.lower(), text.title(), text[:-1], text + text[-1:], text[::-1]]
    out.append(text[1:])
    out.append(text[:1] + text)
    return [variant for variant in out if variant.strip()]


def numbered(values: Iterable[object]) -> str:
    """'3, 6 and 9' style enumeration."""
    items = [str(value) for value in values]
    if not items:
        return "none"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]
