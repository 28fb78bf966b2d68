"""Rule-based checks of a drafted item, before any candidate sees it.

`schema_problems` reads the model's JSON into a draft (stem, four distinct options, one key, an
explanation); `flaw_problems` applies item-writing rules from the testing literature (Haladyna, Downing
and Rodriguez's guidelines): no "all/none of the above", no correct option that stands out by length or
by copying the stem, no negative stem without emphasis, and a stem that asks a question one could answer
with the options covered. Each problem is a short sentence: it goes into the provenance and back to the
model as the reason for a retry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from questions.items import OPTION_IDS

MAX_STEM_CHARS = 4_000
MAX_OPTION_CHARS = 500
MIN_TEXT_CHARS = 10
LONG_KEY_RATIO = 1.5  # the key at least this much longer than the distractors' mean...
LONG_KEY_LEAD = 1.25  # ...and than the longest distractor
LONG_KEY_MIN_CHARS = 20
ECHO_WORDS = 4  # a run of this many stem words copied into the key alone gives it away

CODE_BLOCK = re.compile(r"```.*?```|`[^`]*`", re.DOTALL)
ALL_OR_NONE = re.compile(r"\b(all|none|both|neither) of (the )?(above|these|them|the options)\b", re.IGNORECASE)
# A negative question: "Which ... is NOT", "What does ... never", "all of these EXCEPT", "Which is false?"
NEGATIVE_QUESTION = re.compile(
    r"\b(which|what)\b(\W+[\w-]+){0,6}?\W+(is|are|does|do|did|would|should|could|can|will|was|were)\s+"
    r"(?P<aux>(\*\*|\*|_)?(not|never)\b)"
    r"|(?P<except>(\*\*|\*|_)?\bexcept\b)"
    r"|(?P<false>(\*\*|\*|_)?\b(false|incorrect|untrue)\b)(\*\*|\*|_)?\s*\?",
    re.IGNORECASE,
)
VAGUE_STEM = re.compile(
    r"\bwhich (one )?of (the following|these)( statements?)? (is|are) (true|correct|false|incorrect|right|wrong)\b",
    re.IGNORECASE,
)
WORD = re.compile(r"[a-z0-9_]+")
SENTENCE = re.compile(r"[^.?!:]*[.?!:]?")


@dataclass(frozen=True)
class Draft:
    stem: str
    options: tuple[str, ...]
    key: str
    explanation: str

    @property
    def key_text(self) -> str:
        return self.options[OPTION_IDS.index(self.key)]


def _normalized(text: str) -> str:
    return " ".join(text.lower().split())


def _question_sentence(prose: str) -> str:
    """The last sentence that asks (ends with "?" or ":"), where a negative question would be."""
    asking = [sentence for sentence in SENTENCE.findall(prose) if sentence.rstrip().endswith(("?", ":"))]
    return asking[-1] if asking else ""


def _word_runs(text: str) -> set[tuple[str, ...]]:
    words = WORD.findall(text.lower())
    return {tuple(words[index : index + ECHO_WORDS]) for index in range(len(words) - ECHO_WORDS + 1)}


def schema_problems(content: dict[str, Any]) -> tuple[Draft | None, list[str]]:
    """The draft in the model's reply, or the reasons it is not a usable item."""
    stem, options, key, explanation = (content.get(name) for name in ("stem", "options", "key", "explanation"))
    problems = []
    if not isinstance(stem, str) or not MIN_TEXT_CHARS <= len(stem.strip()) <= MAX_STEM_CHARS:
        problems.append(f"the stem must be text of {MIN_TEXT_CHARS} to {MAX_STEM_CHARS} characters")
    if not isinstance(options, list) or len(options) != 4 or not all(isinstance(option, str) for option in options):
        problems.append("there must be exactly four options, each a string")
    elif not all(0 < len(option.strip()) <= MAX_OPTION_CHARS for option in options):
        problems.append(f"every option must be 1 to {MAX_OPTION_CHARS} characters")
    elif len({_normalized(option) for option in options}) != 4:
        problems.append("the four options must be distinct")
    if key not in OPTION_IDS:
        problems.append("the key must be one of a, b, c, d")
    if not isinstance(explanation, str) or len(explanation.strip()) < MIN_TEXT_CHARS:
        problems.append("the explanation is missing or too short")
    if problems:
        return None, problems
    assert isinstance(stem, str) and isinstance(options, list) and isinstance(key, str)
    assert isinstance(explanation, str)
    draft = Draft(stem.strip(), tuple(option.strip() for option in options), key, explanation.strip())
    return draft, []


def flaw_problems(draft: Draft) -> list[str]:
    problems = []
    if any(ALL_OR_NONE.search(option) for option in draft.options):
        problems.append('an option is "all/none of the above"')
    distractors = [option for letter, option in zip(OPTION_IDS, draft.options, strict=True) if letter != draft.key]
    mean_distractor = sum(map(len, distractors)) / len(distractors)
    if (
        len(draft.key_text) >= LONG_KEY_LEAD * max(map(len, distractors))
        and len(draft.key_text) >= LONG_KEY_RATIO * mean_distractor
        and len(draft.key_text) >= LONG_KEY_MIN_CHARS
    ):
        problems.append("the correct option stands out by its length")
    prose = CODE_BLOCK.sub(" ", draft.stem)
    copied = _word_runs(prose) & _word_runs(draft.key_text)
    copied -= {run for distractor in distractors for run in _word_runs(distractor)}
    if copied:
        problems.append(f"the correct option alone copies the stem's words ({' '.join(min(copied))!r})")
    negative = NEGATIVE_QUESTION.search(_question_sentence(prose))
    if negative is not None:
        word = next(group for group in negative.group("aux", "except", "false") if group)
        if not (word.startswith(("*", "_")) or word.isupper()):
            problems.append(f'the stem asks a negative question ("{word}") without emphasis such as NOT')
    if "?" not in prose and not prose.rstrip().endswith(":"):
        problems.append("the stem does not ask a question")
    elif VAGUE_STEM.search(prose):
        problems.append("the stem cannot be answered without the options")
    return problems
