"""Binary search: the worst-case number of probes for n elements, or a concrete trace of one search.

Worst case: binary search on n sorted elements makes at most floor(log2 n) + 1 = n.bit_length() probes.
Trace: the key is what the shown code prints, obtained by executing it; distractors come from executing
variants with typical slips (upper middle, 1-based index, an off-by-one upper bound).
"""

from __future__ import annotations

import math
import random

from questions.families._common import fence, int_perturbations, pick_distractors
from questions.families.base import ItemFamily
from questions.families.python_trace import run_snippet

SEARCH = """\
def binary_search(items, target):
    lo, hi = 0, len(items) - 1
    probes = 0
    while lo <= hi:
        mid = (lo + hi) // 2
        probes += 1
        if items[mid] == target:
            return mid, probes
        if items[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1, probes
"""


def _worst_case(rng: random.Random) -> tuple[str, str, list[str], str]:
    shape = rng.choice(["power", "power_minus_one", "power_plus", "random", "random"])
    k = rng.randint(4, 20)
    if shape == "power":
        n = 2**k
    elif shape == "power_minus_one":
        n = 2**k - 1
    elif shape == "power_plus":
        n = 2**k + rng.randint(1, 2 ** (k - 1))
    else:
        n = rng.randint(10, 2_000_000)
    key = n.bit_length()
    wrong = [math.ceil(math.log2(n)), key - 1, key + 1, math.floor(math.log2(n)), key + 2, key - 2]
    distractors = pick_distractors(str(key), (str(v) for v in wrong if v > 0))
    stem = (
        f"`items` is a sorted list of {n:,} distinct integers. "
        "Over all possible targets, present in the list "
        f"or not, what is the largest `probes` value the function below can return?\n\n"
        f"{fence(SEARCH, 'python')}"
    )
    explanation = (
        "Each probe that misses discards the middle element "
        "and at least half of the rest, so a range of size "
        "s shrinks to at most floor(s / 2). Starting from "
        f"{n:,} it takes floor(log2 {n:,}) = {key - 1} halvings "
        f"to reach a single element, plus the probe of that element: {key} probes in the worst case "
        f"(that is, the bit length of {n:,})."
    )
    return stem, str(key), distractors, explanation


def _trace(rng: random.Random) -> tuple[str, str, list[str], str]:
    n = rng.randint(7, 15)
    items = sorted(rng.sample(range(1, 100), n))
    if rng.random() < 0.7:
        target = items[rng.randrange(n)]
    else:
        target = rng.choice([v for v in range(items[0] - 1, items[-1] + 2) if v not in items])
    call = f"items = {items!r}\nprint(binary_search(items, {target}))\n"
    code = SEARCH + "\n\n" + call
    mutants = [
        SEARCH.replace("(lo + hi) // 2", "(lo + hi + 1) // 2") + "\n\n" + call,
        SEARCH.replace("return mid, probes", "return mid + 1, probes") + "\n\n" + call,
        SEARCH.replace("len(items) - 1", "len(items)").replace("while lo <= hi", "while lo < hi") + "\n\n" + call,
        SEARCH.replace("probes = 0", "probes = 1") + "\n\n" + call,
    ]
    output, _ = run_snippet(code)
    outputs = []
    for mutant in mutants:
        try:
            outputs.append(run_snippet(mutant)[0])
        except Exception:  # an out-of-range mutant is not a usable distractor
            continue
    distractors = pick_distractors(output, outputs, int_perturbations(output))
    lo, hi, visited = 0, n - 1, []
    while lo <= hi:
        mid = (lo + hi) // 2
        visited.append(f"index {mid} ({items[mid]})")
        if items[mid] == target:
            break
        if items[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    found = target in items
    explanation = (
        f"The search probes {', then '.join(visited)}. "
        + (
            f"It finds {target} at index {items.index(target)} after {len(visited)} probes"
            if found
            else f"{target} is not in the list, so after {len(visited)} probes lo passes hi and it returns -1"
        )
        + f"; the output is {output}."
    )
    stem = f"What does this code print?\n\n{fence(code, 'python')}"
    return stem, output, distractors, explanation


class BinarySearchStepsFamily(ItemFamily):
    name = "binary_search_steps"
    skill = "algorithms"
    difficulty = 3
    tags = ("binary-search", "logarithms")

    def compose(self, rng: random.Random) -> tuple[str, str, list[str], str]:
        return (_worst_case if rng.random() < 0.5 else _trace)(rng)
