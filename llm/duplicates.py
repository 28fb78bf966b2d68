"""Near-duplicate stems: a drafted stem too close to a bank item, an earlier generated item, or a stem
already used in the attempt is refused.

Stems are compared as sets of word trigrams after normalisation (case, punctuation and spacing ignored,
code kept): the Jaccard overlap of two paraphrases of one question is high, that of two different
questions on one topic low.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DUPLICATE_OVERLAP = 0.6
TOKEN = re.compile(r"[a-z0-9_]+|[^\sa-z0-9_]")


def shingles(stem: str, size: int = 3) -> frozenset[tuple[str, ...]]:
    tokens = [token for token in TOKEN.findall(stem.lower()) if token.isalnum() or token == "_" or len(token) > 1]
    if len(tokens) < size:
        return frozenset({tuple(tokens)})
    return frozenset(tuple(tokens[index : index + size]) for index in range(len(tokens) - size + 1))


def overlap(first: frozenset[tuple[str, ...]], second: frozenset[tuple[str, ...]]) -> float:
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


class StemIndex:
    """The stems a new item must not repeat."""

    def __init__(self, stems: Iterable[str] = ()) -> None:
        self._stems: list[tuple[str, frozenset[tuple[str, ...]]]] = []
        for stem in stems:
            self.add(stem)

    def add(self, stem: str) -> None:
        self._stems.append((stem, shingles(stem)))

    def __len__(self) -> int:
        return len(self._stems)

    def closest(self, stem: str, also: Iterable[str] = ()) -> tuple[float, str | None]:
        """The highest overlap with a known stem (or one of `also`), and that stem."""
        probe = shingles(stem)
        best: tuple[float, str | None] = (0.0, None)
        for known, known_shingles in [*self._stems, *((other, shingles(other)) for other in also)]:
            score = overlap(probe, known_shingles)
            if score > best[0]:
                best = (score, known)
        return best

    def duplicate_problem(self, stem: str, also: Iterable[str] = ()) -> str | None:
        score, known = self.closest(stem, also)
        if known is None or score < DUPLICATE_OVERLAP:
            return None
        return f"the stem repeats an existing question ({score:.0%} overlap with: {known[:80]!r})"
