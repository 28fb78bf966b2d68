"""Regular expressions: a generated pattern and four strings, "which one does it match in full?".

The pattern is assembled from safe building blocks (character classes, quantifiers, alternation groups,
optional anchors). One candidate is produced by expanding the pattern; the others are near misses
(one character replaced, dropped, inserted or swapped). Every candidate is checked with `re`, and the
candidates are regenerated until exactly one of them matches.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from questions.families._common import fence
from questions.families.base import ItemFamily


@dataclass(frozen=True)
class Atom:
    pattern: str
    choices: tuple[str, ...]
    meaning: str


ATOMS: tuple[Atom, ...] = (
    Atom("[a-c]", ("a", "b", "c"), "one of a, b, c"),
    Atom("[xyz]", ("x", "y", "z"), "one of x, y, z"),
    Atom(r"\d", tuple("0123456789"), "a digit"),
    Atom("[A-F]", tuple("ABCDEF"), "an uppercase letter from A to F"),
    Atom("[0-9a-f]", tuple("0123456789abcdef"), "a lowercase hex digit"),
    Atom("[^0-9]", tuple("abkxyzAQ-_"), "any character that is not a digit"),
    Atom("k", ("k",), "the letter k"),
    Atom("-", ("-",), "a hyphen"),
    Atom("_", ("_",), "an underscore"),
    Atom("(ab|cd)", ("ab", "cd"), "ab or cd"),
    Atom("(x|yz)", ("x", "yz"), "x or yz"),
    Atom("(id|key)", ("id", "key"), "id or key"),
    Atom(r"[a-z]", tuple("abcdefghijklmnopqrstuvwxyz"), "a lowercase letter"),
)

# quantifier: (text, min repeats, max repeats used when expanding, meaning)
QUANTIFIERS: tuple[tuple[str, int, int, str], ...] = (
    ("", 1, 1, "exactly once"),
    ("?", 0, 1, "optionally"),
    ("+", 1, 3, "one or more times"),
    ("*", 0, 3, "zero or more times"),
    ("{2}", 2, 2, "exactly twice"),
    ("{1,3}", 1, 3, "one to three times"),
    ("{2,}", 2, 4, "at least twice"),
    ("{3}", 3, 3, "exactly three times"),
)

ALPHABET = "abcdkxyzAFQ0123579-_"


@dataclass(frozen=True)
class Token:
    atom: Atom
    quantifier: tuple[str, int, int, str]

    @property
    def pattern(self) -> str:
        return self.atom.pattern + self.quantifier[0]

    def expand(self, rng: random.Random) -> str:
        _, low, high, _ = self.quantifier
        return "".join(rng.choice(self.atom.choices) for _ in range(rng.randint(low, high)))

    @property
    def meaning(self) -> str:
        return f"{self.atom.meaning}, {self.quantifier[3]}"


def _tokens(rng: random.Random) -> list[Token]:
    while True:
        tokens = []
        for _ in range(rng.randint(3, 5)):
            atom = rng.choice(ATOMS)
            quantifier = rng.choice(QUANTIFIERS)
            if atom.pattern in ("-", "_") and quantifier[0]:
                quantifier = QUANTIFIERS[0]
            tokens.append(Token(atom, quantifier))
        mandatory = sum(1 for t in tokens if t.quantifier[1] > 0)
        if mandatory >= 2 and len({t.atom.pattern for t in tokens}) == len(tokens):
            return tokens


def _mutate(s: str, rng: random.Random) -> str:
    kind = rng.choice(["replace", "replace", "delete", "insert", "swap", "double"])
    i = rng.randrange(len(s))
    if kind == "replace":
        return s[:i] + rng.choice(ALPHABET) + s[i + 1 :]
    if kind == "delete":
        return s[:i] + s[i + 1 :]
    if kind == "insert":
        return s[:i] + rng.choice(ALPHABET) + s[i:]
    if kind == "swap" and len(s) > 1:
        i = min(i, len(s) - 2)
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    return s[:i] + s[i] + s[i:]


def quoted(s: str) -> str:
    return f'"{s}"'


class RegexMatchFamily(ItemFamily):
    name = "regex_match"
    skill = "python"
    difficulty = 3
    tags = ("regex", "re-module")

    def compose(self, rng: random.Random) -> tuple[str, str, list[str], str]:
        while True:
            tokens = _tokens(rng)
            body = "".join(t.pattern for t in tokens)
            anchored = rng.random() < 0.35
            pattern = f"^{body}$" if anchored else body
            compiled = re.compile(pattern)

            def matches(s: str, compiled: re.Pattern[str] = compiled, anchored: bool = anchored) -> bool:
                return bool(compiled.search(s) if anchored else compiled.fullmatch(s))

            correct = "".join(t.expand(rng) for t in tokens)
            if not correct or not matches(correct):
                continue
            wrong: list[str] = []
            for _ in range(200):
                base = "".join(t.expand(rng) for t in tokens) if rng.random() < 0.5 else correct
                if not base:
                    continue
                candidate = _mutate(base, rng)
                if candidate and candidate != correct and candidate not in wrong and not matches(candidate):
                    wrong.append(candidate)
                if len(wrong) == 3:
                    break
            if len(wrong) == 3:
                break

        call = "re.search(pattern, s)" if anchored else "re.fullmatch(pattern, s)"
        code = f'import re\n\npattern = r"{pattern}"'
        stem = (
            f"For which of the following strings `s` does `{call}` return a match object (not None)?\n\n"
            f"{fence(code, 'python')}"
        )
        parts = re.fullmatch("".join(f"({t.pattern})" for t in tokens), correct)
        assert parts is not None
        pieces = []
        for index, token in enumerate(tokens):
            group = parts.group(1 + sum(1 + t.pattern.count("(") for t in tokens[:index]))
            pieces.append(f'"{group}" for {token.pattern} ({token.meaning})')
        anchor_note = (
            " The ^ and $ anchors force the match to cover the whole string, like fullmatch."
            if anchored
            else " fullmatch requires the pattern to cover the whole string."
        )
        explanation = (
            f"{quoted(correct)} splits into "
            + "; ".join(pieces)
            + "."
            + anchor_note
            + " Each of the other strings has a character or a repetition count that no part of the pattern "
            "allows at that position, so it does not match."
        )
        return stem, quoted(correct), [quoted(w) for w in wrong], explanation
