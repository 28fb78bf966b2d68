"""What the model is asked: draft an item for a target, and (separately, without the key) solve one.

`PROMPT_VERSION` is stored in every generated item's provenance; change it whenever the wording changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from questions.items import OPTION_IDS

PROMPT_VERSION = "draft-v1/solve-v1"
JOB_CONTEXT_CHARS = 1_500
STEMS_TO_AVOID = 12

LEVELS = {1: "entry level", 2: "junior", 3: "intermediate", 4: "senior", 5: "expert"}

DRAFT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "stem": {"type": "string"},
        "options": {"type": "array", "items": {"type": "string"}, "minItems": 4, "maxItems": 4},
        "key": {"type": "string", "enum": list(OPTION_IDS)},
        "explanation": {"type": "string"},
    },
    "required": ["stem", "options", "key", "explanation"],
    "additionalProperties": False,
}

SOLVE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string", "enum": list(OPTION_IDS)}},
    "required": ["answer"],
    "additionalProperties": False,
}

DRAFT_SYSTEM = (
    "You write multiple-choice questions for technical hiring assessments. Each question has one stem, "
    "exactly four options of which exactly one is correct, the letter of the correct option (a, b, c or d) "
    "and a short explanation. Rules: the stem is a complete question a candidate could answer before seeing "
    "the options; no 'all of the above' or 'none of the above'; the correct option is not longer or more "
    "detailed than the others and does not repeat the stem's wording; avoid negative stems, and if one is "
    "unavoidable write the negative word in capitals (NOT, EXCEPT); put code in fenced blocks. "
    "Answer with the JSON object only."
)

SOLVE_SYSTEM = (
    "You are taking a technical multiple-choice test. Read the question and the four options and answer "
    "with the letter of the one correct option as a JSON object."
)


@dataclass(frozen=True)
class Target:
    """What to write: a skill at a written difficulty, for a job, unlike the stems already used."""

    skill: str
    difficulty: int
    job_description: str = ""
    avoid_stems: tuple[str, ...] = field(default=())


def draft_messages(target: Target, feedback: list[str]) -> list[dict[str, str]]:
    lines = [
        f"Skill: {target.skill}",
        f"Level: {target.difficulty} of 5 ({LEVELS[target.difficulty]})",
    ]
    if target.job_description:
        lines.append(f"The job (for context; do not quote it): {target.job_description[:JOB_CONTEXT_CHARS]}")
    if target.avoid_stems:
        recent = target.avoid_stems[-STEMS_TO_AVOID:]
        lines.append("Do not repeat or paraphrase these questions:\n" + "\n".join(f"- {stem[:200]}" for stem in recent))
    if feedback:
        lines.append("Your previous draft was rejected: " + "; ".join(feedback) + ". Write a different question.")
    return [{"role": "system", "content": DRAFT_SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


def solve_messages(stem: str, options: list[str]) -> list[dict[str, str]]:
    lettered = "\n".join(f"{letter}) {text}" for letter, text in zip(OPTION_IDS, options, strict=True))
    return [{"role": "system", "content": SOLVE_SYSTEM}, {"role": "user", "content": f"{stem}\n\n{lettered}"}]
