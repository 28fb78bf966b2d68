"""Number bases: convert a value between binary, octal, decimal and hexadecimal.

Values are written in Python literal notation (0b..., 0o..., 0x..., plain decimal). The key is rendered
with format(); distractors come from typical slips (digits reversed, one bit flipped, the source digits
read in the wrong base, an off-by-one), always rendered in the target notation.
"""

from __future__ import annotations

import random

from questions.families._common import pick_distractors
from questions.families.base import ItemFamily

BASES: dict[int, tuple[str, str, str]] = {
    # base: (name, literal prefix, format spec)
    2: ("binary", "0b", "b"),
    8: ("octal", "0o", "o"),
    10: ("decimal", "", "d"),
    16: ("hexadecimal", "0x", "X"),
}
DIGITS = "0123456789ABCDEF"


def render(value: int, base: int) -> str:
    _, prefix, spec = BASES[base]
    return prefix + format(value, spec)


def parse_digits(digits: str, base: int) -> int | None:
    """The value of bare `digits` in `base`, or None when they are not valid digits of that base."""
    try:
        return int(digits, base)
    except ValueError:
        return None


def bare(value: int, base: int) -> str:
    return format(value, BASES[base][2])


def _expansion(value: int, base: int) -> str:
    digits = bare(value, base)
    terms = []
    for power, digit in enumerate(reversed(digits)):
        d = int(digit, 16)
        if d:
            terms.append(f"{d}*{base}^{power}" if power else f"{d}")
    return " + ".join(reversed(terms))


def _explain(value: int, source: int, target: int) -> str:
    src = render(value, source)
    dst = render(value, target)
    if {source, target} == {2, 16}:
        bits = bare(value, 2)
        bits = bits.zfill((len(bits) + 3) // 4 * 4)
        groups = [bits[i : i + 4] for i in range(0, len(bits), 4)]
        nibbles = ", ".join(f"{g} = {DIGITS[int(g, 2)]}" for g in groups)
        return f"Each hex digit is exactly four bits. Grouping the bits from the right: {nibbles}. So {src} = {dst}."
    if {source, target} == {2, 8}:
        bits = bare(value, 2)
        bits = bits.zfill((len(bits) + 2) // 3 * 3)
        groups = [bits[i : i + 3] for i in range(0, len(bits), 3)]
        triples = ", ".join(f"{g} = {int(g, 2)}" for g in groups)
        return f"Each octal digit is exactly three bits. Grouping the bits from the right: {triples}. So {src} = {dst}."
    steps = []
    if source != 10:
        steps.append(
            f"weighting each digit by a power of {source} (rightmost digit * {source}^0), "
            f"{src} = {_expansion(value, source)} = {value} in decimal"
        )
    if target != 10:
        rest, remainders = value, []
        while rest:
            remainders.append(DIGITS[rest % target])
            rest //= target
        steps.append(
            f"dividing {value} repeatedly by {target} leaves the remainders {', '.join(remainders)} "
            f"(least significant first), which read backwards give {dst}"
        )
    text = "; ".join(steps)
    return text[0].upper() + text[1:] + "."


class NumberBaseFamily(ItemFamily):
    name = "number_base"
    skill = "algorithms"
    difficulty = 2
    tags = ("number-bases", "binary", "hexadecimal")

    def compose(self, rng: random.Random) -> tuple[str, str, list[str], str]:
        source, target = rng.sample(sorted(BASES), 2)
        high = 1023 if 2 in (source, target) else 4095
        value = rng.randint(20, high)
        while len(set(bare(value, target))) < 2:
            value = rng.randint(20, high)
        key = render(value, target)
        target_name = BASES[target][0]

        wrong_values: list[int] = []
        reversed_digits = parse_digits(bare(value, target)[::-1], target)
        if reversed_digits is not None:
            wrong_values.append(reversed_digits)
        # The source digits misread in another base (e.g. hex digits taken as decimal), then converted.
        for other in (10, 16, 8):
            if other != source:
                misread = parse_digits(bare(value, source), other)
                if misread is not None and 0 < misread < 16**4:
                    wrong_values.append(misread)
        # The value's digits in some other base, written with the target's notation.
        for other in (16, 10, 8):
            if other not in (target,):
                copied = parse_digits(bare(value, other), target)
                if copied is not None:
                    wrong_values.append(copied)
        bit = rng.choice([0, 1, 2, 3])
        wrong_values += [value ^ (1 << bit), value + 1, value - 1, value ^ (1 << (value.bit_length() - 2))]
        rng.shuffle(wrong_values)
        distractors = pick_distractors(
            key,
            (render(v, target) for v in wrong_values if v > 0),
            (render(value + d, target) for d in range(2, 40)),
        )
        stem = rng.choice(
            [
                f"What is {render(value, source)} in {target_name}?",
                f"Convert {render(value, source)} to {target_name}. What is the result?",
                f"Which {target_name} number is equal to {render(value, source)}?",
            ]
        )
        stem += " Numbers use Python literal notation: 0b for binary, 0o for octal, 0x for hexadecimal."
        return stem, key, distractors, _explain(value, source, target)
