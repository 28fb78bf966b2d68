"""Loop complexity: a generated loop nest, "what is its time complexity in Big-O?".

The key is computed from the generated structure. Each loop level contributes a factor n^(a/2) * log^b n
(a range over n or over an outer index that itself runs up to n: a = 2; a halving or doubling loop: b = 1;
a `while j * j <= n` loop: a = 1; a constant range: nothing). A nest costs the product of its levels, and
consecutive nests cost the larger of the two. One special shape, a doubling outer loop whose inner loop
runs `range(i)`, is a geometric series and costs O(n) in total.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from questions.families._common import fence, pick_distractors
from questions.families.base import ItemFamily

# A complexity class n^(a/2) * (log n)^b is stored as the pair (a, b).
Cls = tuple[int, int]


def render(cls: Cls) -> str:
    a, b = cls
    parts = []
    if a == 1:
        parts.append("sqrt(n)")
    elif a == 2:
        parts.append("n")
    elif a % 2 == 0 and a > 0:
        parts.append(f"n^{a // 2}")
    elif a > 0:
        parts.append(f"n^{a // 2} sqrt(n)" if a > 3 else "n sqrt(n)")
    if b == 1:
        parts.append("log n")
    elif b > 1:
        parts.append(f"(log n)^{b}")
    return f"O({' '.join(parts) or '1'})"


@dataclass(frozen=True)
class Level:
    kind: str
    var: str
    const: int = 0

    @property
    def factor(self) -> Cls:
        return {
            "linear": (2, 0),
            "step": (2, 0),
            "half": (2, 0),
            "tri_up": (2, 0),
            "tri_down": (2, 0),
            "const": (0, 0),
            "halving": (0, 1),
            "doubling": (0, 1),
            "halving_prev": (0, 1),
            "sqrt": (1, 0),
        }[self.kind]

    @property
    def describe(self) -> str:
        return {
            "linear": "runs n times",
            "step": f"runs about n/{self.const} times",
            "half": "runs n/2 times",
            "tri_up": "runs up to n times (0, 1, ..., n-1 on successive passes)",
            "tri_down": "runs up to n times (n, n-1, ..., 1 on successive passes)",
            "const": f"runs a constant {self.const} times",
            "halving": "halves its variable each pass, so it runs about log2 n times",
            "doubling": "doubles its variable each pass, so it runs about log2 n times",
            "halving_prev": "halves the outer index each pass, so it runs about log2 n times at most",
            "sqrt": "stops once its variable squared exceeds n, so it runs about sqrt(n) times",
        }[self.kind]


LINEAR_LIKE = ("linear", "step", "half", "tri_up", "tri_down")


def _open(level: Level, prev: Level | None, indent: str) -> tuple[list[str], list[str]]:
    """Lines that open a loop level and lines that close it (updates at the end of a while body)."""
    v = level.var
    p = prev.var if prev else ""
    inner = indent + "    "
    if level.kind == "linear":
        return [f"{indent}for {v} in range(n):"], []
    if level.kind == "step":
        return [f"{indent}for {v} in range(0, n, {level.const}):"], []
    if level.kind == "half":
        return [f"{indent}for {v} in range(n // 2):"], []
    if level.kind == "tri_up":
        return [f"{indent}for {v} in range({p}):"], []
    if level.kind == "tri_down":
        return [f"{indent}for {v} in range({p}, n):"], []
    if level.kind == "const":
        return [f"{indent}for {v} in range({level.const}):"], []
    if level.kind == "halving":
        return [f"{indent}{v} = n", f"{indent}while {v} > 0:"], [f"{inner}{v} //= 2"]
    if level.kind == "halving_prev":
        return [f"{indent}{v} = {p}", f"{indent}while {v} > 0:"], [f"{inner}{v} //= 2"]
    if level.kind == "doubling":
        return [f"{indent}{v} = 1", f"{indent}while {v} < n:"], [f"{inner}{v} *= 2"]
    if level.kind == "sqrt":
        return [f"{indent}{v} = 1", f"{indent}while {v} * {v} <= n:"], [f"{inner}{v} += 1"]
    raise ValueError(level.kind)


def nest_code(levels: list[Level], indent: str = "    ") -> list[str]:
    lines: list[str] = []
    closers: list[list[str]] = []
    prev: Level | None = None
    depth_indent = indent
    for level in levels:
        opening, closing = _open(level, prev, depth_indent)
        lines.extend(opening)
        closers.append(closing)
        depth_indent += "    "
        prev = level
    lines.append(f"{depth_indent}count += 1")
    for closing in reversed(closers):
        lines.extend(closing)
    return lines


def nest_class(levels: list[Level]) -> Cls:
    a = sum(level.factor[0] for level in levels)
    b = sum(level.factor[1] for level in levels)
    return a, b


def random_nest(rng: random.Random, depth: int, allow_const: bool = True) -> list[Level]:
    names = ["i", "j", "k"]
    while True:
        levels: list[Level] = []
        for d in range(depth):
            prev = levels[-1] if levels else None
            kinds = ["linear", "linear", "step", "half", "halving", "doubling", "sqrt"]
            if allow_const:
                kinds.append("const")
            if prev is not None and prev.kind in LINEAR_LIKE:
                kinds += ["tri_up", "tri_up", "tri_down", "halving_prev"]
            kind = rng.choice(kinds)
            const = rng.randint(2, 4) if kind == "step" else rng.randint(3, 10) if kind == "const" else 0
            levels.append(Level(kind, names[d], const))
        a, b = nest_class(levels)
        if a <= 6 and (a, b) != (0, 0) and sum(level.kind == "sqrt" for level in levels) <= 1:
            return levels


def _wrong_classes(key: Cls, levels: list[Level]) -> list[Cls]:
    a, b = key
    naive_depth = (2 * len(levels), 0)
    candidates: list[Cls] = [naive_depth]
    if b > 0:
        candidates += [(a + 2, b - 1), (a, b - 1)]
    if any(level.kind == "sqrt" for level in levels):
        candidates += [(a + 1, b), (a - 1, b + 1)]
    candidates += [(a + 2, b), (a, b + 1)]
    if a >= 2:
        candidates.append((a - 2, b + 1) if b == 0 else (a - 2, b))
    return [c for c in candidates if c[0] >= 0 and c[1] >= 0]


_FALLBACK: tuple[Cls, ...] = ((2, 0), (2, 1), (4, 0), (0, 1), (4, 1), (6, 0), (0, 0), (1, 0), (0, 2), (2, 2))


@dataclass
class Problem:
    code: str
    key: Cls
    wrong: list[Cls]
    explanation: str


def _single_nest(rng: random.Random) -> Problem:
    depth = rng.choice([1, 2, 2, 2, 3, 3])
    levels = random_nest(rng, depth)
    key = nest_class(levels)
    code = "\n".join(["def work(n):", "    count = 0", *nest_code(levels), "    return count"])
    steps = "; ".join(f"the loop over {level.var} {level.describe}" for level in levels)
    tri = any(level.kind in ("tri_up", "tri_down") for level in levels)
    note = (
        " A triangular range still adds a full factor of n, since the sum 1 + 2 + ... + n is about n^2/2."
        if tri
        else ""
    )
    explanation = (
        f"Multiply the iteration counts of the nested loops: {steps}. Constant factors are dropped.{note} "
        f"The total is {render(key)}."
    )
    return Problem(code, key, _wrong_classes(key, levels), explanation)


def _sequential(rng: random.Random) -> Problem:
    first = random_nest(rng, rng.choice([1, 2]), allow_const=False)
    while True:
        second = random_nest(rng, rng.choice([1, 2]), allow_const=False)
        if nest_class(second) != nest_class(first):
            break
    key = max(nest_class(first), nest_class(second))
    product = (nest_class(first)[0] + nest_class(second)[0], nest_class(first)[1] + nest_class(second)[1])
    code = "\n".join(["def work(n):", "    count = 0", *nest_code(first), *nest_code(second), "    return count"])
    explanation = (
        f"The two loop nests run one after the other, so their costs add: {render(nest_class(first))} + "
        f"{render(nest_class(second))}. A sum is dominated by its fastest-growing term, giving {render(key)}."
    )
    wrong = [product, min(nest_class(first), nest_class(second)), *_wrong_classes(key, first + second)]
    return Problem(code, key, wrong, explanation)


def _geometric(rng: random.Random) -> Problem:
    wrapped = rng.random() < 0.4
    indent = "        " if wrapped else "    "
    body = [
        f"{indent}i = 1",
        f"{indent}while i < n:",
        f"{indent}    for j in range(i):",
        f"{indent}        count += 1",
        f"{indent}    i *= 2",
    ]
    if wrapped:
        outer = rng.choice(["for k in range(n):", f"for k in range({rng.randint(3, 9)}):"])
        body = [f"    {outer}", *body]
        key: Cls = (4, 0) if "range(n)" in outer else (2, 0)
    else:
        key = (2, 0)
    code = "\n".join(["def work(n):", "    count = 0", *body, "    return count"])
    a, b = key
    explanation = (
        "The while loop runs about log2 n times, but the inner "
        "loop does not run n times on each pass: it runs "
        "i = 1, 2, 4, ... times, and this geometric series sums to less than 2n. So the doubling part is O(n)"
        + (", multiplied by the outer loop" if wrapped else "")
        + f", for a total of {render(key)}."
    )
    wrong = [(a, b + 1), (a - 2, b + 1), (a + 2, b), (a - 2, b)]
    return Problem(code, key, [c for c in wrong if c[0] >= 0], explanation)


_ASKS = (
    "What is the time complexity of work(n) as n grows?",
    "Which Big-O bound is tight for the number of steps work(n) performs?",
    "What is the tight asymptotic running time of work(n)?",
)


class LoopComplexityFamily(ItemFamily):
    name = "loop_complexity"
    skill = "algorithms"
    difficulty = 3
    tags = ("big-o", "complexity", "loops")

    def compose(self, rng: random.Random) -> tuple[str, str, list[str], str]:
        shape = rng.choices([_single_nest, _sequential, _geometric], weights=[6, 2, 1])[0]
        problem = shape(rng)
        key = render(problem.key)
        distractors = pick_distractors(key, (render(c) for c in problem.wrong), (render(c) for c in _FALLBACK))
        stem = (
            f"{rng.choice(_ASKS)} Each `count += 1` costs constant time; give the tightest bound.\n\n"
            f"{fence(problem.code, 'python')}"
        )
        return stem, key, distractors, problem.explanation
