"""The skill graph of a test (skills with weights and prerequisites) and the blueprint drawn from it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any

from domain.errors import InvalidRequest


@dataclass(frozen=True)
class SkillNode:
    name: str
    weight: float
    prerequisites: tuple[str, ...] = ()


def skill_nodes(skills: Sequence[Mapping[str, Any]]) -> list[SkillNode]:
    """Nodes from the stored form `[{"name", "weight", "prerequisites"}]`."""
    return [SkillNode(s["name"], float(s["weight"]), tuple(s.get("prerequisites", ()))) for s in skills]


def stored_skills(skills: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The stored form of a skill list, every field present (a definition may leave out weights and
    prerequisites; what is stored is read back as a whole test)."""
    return [
        {"name": node.name, "weight": node.weight, "prerequisites": list(node.prerequisites)}
        for node in skill_nodes([{"weight": 1.0, **skill} for skill in skills])
    ]


def check_skill_graph(skills: Sequence[SkillNode]) -> tuple[str, ...]:
    """Validate the graph and return the skill names in prerequisite order (prerequisites first)."""
    if not skills:
        raise InvalidRequest("a test needs at least one skill")
    names = [skill.name for skill in skills]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidRequest(f"duplicate skills: {', '.join(duplicates)}")
    known = set(names)
    for skill in skills:
        if skill.weight <= 0:
            raise InvalidRequest(f"skill {skill.name!r} needs a positive weight")
        unknown = sorted(set(skill.prerequisites) - known)
        if unknown:
            raise InvalidRequest(
                f"skill {skill.name!r} has prerequisites that are not skills of this test: " + ", ".join(unknown)
            )
        if skill.name in skill.prerequisites:
            raise InvalidRequest(f"skill {skill.name!r} cannot be its own prerequisite")
    try:
        order = TopologicalSorter({skill.name: skill.prerequisites for skill in skills}).static_order()
        return tuple(order)
    except CycleError as error:
        cycle = " -> ".join(error.args[1])
        raise InvalidRequest(f"skill prerequisites form a cycle: {cycle}") from None


def blueprint(skills: Sequence[SkillNode], questions: int) -> dict[str, int]:
    """Questions per skill in proportion to the weights (largest remainder), at least one each if possible."""
    total_weight = sum(skill.weight for skill in skills)
    shares = {skill.name: questions * skill.weight / total_weight for skill in skills}
    counts = {name: int(share) for name, share in shares.items()}
    if questions >= len(skills):
        for name in counts:
            counts[name] = max(counts[name], 1)
    leftover = questions - sum(counts.values())
    by_remainder = sorted(shares, key=lambda name: (shares[name] - int(shares[name]), shares[name]), reverse=True)
    for name in by_remainder[: max(leftover, 0)]:
        counts[name] += 1
    while sum(counts.values()) > questions:  # minimum-one rounding overshot: take from the largest
        largest = max(counts, key=lambda name: (counts[name], -shares[name]))
        counts[largest] -= 1
    return counts
