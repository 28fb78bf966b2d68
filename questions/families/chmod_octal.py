"""Unix permissions: symbolic <-> octal modes, umask on new files, and symbolic chmod changes.

Every answer is computed bitwise: r/w/x are 4/2/1 within a triad, the owner triad is the high one,
a new file gets 0o666 & ~umask (a directory 0o777 & ~umask), and `chmod who+perms` sets, clears or
replaces bits per class.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from questions.families._common import fence, pick_distractors
from questions.families.base import ItemFamily

FILES = ("report.txt", "notes.md", "deploy.sh", "backup.tar", "config.yml", "run.py", "data.csv", "app.log")
DIRS = ("logs", "cache", "build", "releases", "uploads", "tmpdata")
CLASS_SHIFT = {"u": 6, "g": 3, "o": 0}
PERM_BITS = {"r": 4, "w": 2, "x": 1}


def symbolic(mode: int) -> str:
    out = []
    for shift in (6, 3, 0):
        triad = (mode >> shift) & 7
        out.append(("r" if triad & 4 else "-") + ("w" if triad & 2 else "-") + ("x" if triad & 1 else "-"))
    return "".join(out)


def octal(mode: int) -> str:
    return format(mode & 0o777, "03o")


def swapped_weights(mode: int) -> int:
    """The mode someone gets by weighting r=1 and x=4 (reading the triad backwards)."""
    out = 0
    for shift in (6, 3, 0):
        triad = (mode >> shift) & 7
        out |= (((triad & 4) >> 2) | (triad & 2) | ((triad & 1) << 2)) << shift
    return out


def reversed_triads(mode: int) -> int:
    return ((mode & 7) << 6) | (mode & 0o70) | ((mode >> 6) & 7)


def random_mode(rng: random.Random) -> int:
    while True:
        mode = (rng.choice([4, 5, 6, 7]) << 6) | (rng.randrange(8) << 3) | rng.randrange(8)
        if len(set(octal(mode))) >= 2:
            return mode


def _triad_sum(triad: str) -> str:
    terms = [str(PERM_BITS[c]) for c in triad if c != "-"]
    digit = sum(int(t) for t in terms)
    return f"{triad} = {'+'.join(terms)} = {digit}" if len(terms) > 1 else f"{triad} = {digit}"


class ChmodOctalFamily(ItemFamily):
    name = "chmod_octal"
    skill = "linux"
    difficulty = 2
    tags = ("permissions", "chmod", "octal")

    def compose(self, rng: random.Random) -> tuple[str, str, list[str], str]:
        mode = random_mode(rng)
        name = rng.choice(FILES)
        wrong_modes = [swapped_weights(mode), reversed_triads(mode), mode ^ 0o777]
        flips = [mode ^ (1 << bit) for bit in range(9)]
        rng.shuffle(flips)
        triads = ", ".join(_triad_sum(symbolic(mode)[i : i + 3]) for i in (0, 3, 6))
        explanation = (
            f"Each triad (owner, group, others) is one octal digit with r = 4, w = 2, x = 1: {triads}. "
            f"So {symbolic(mode)} is {octal(mode)}."
        )
        if rng.random() < 0.5:
            stem = (
                f"`ls -l {name}` shows the permissions `-{symbolic(mode)}`. Which octal mode, passed to "
                f"`chmod`, sets exactly these permission bits?"
            )
            key = octal(mode)
            distractors = pick_distractors(key, (octal(m) for m in wrong_modes + flips))
        else:
            stem = (
                f"After `chmod {octal(mode)} {name}`, what does `ls -l` show for its permission bits "
                f"(the nine characters after the file-type character)?"
            )
            key = symbolic(mode)
            distractors = pick_distractors(key, (symbolic(m) for m in wrong_modes + flips))
        return stem, key, distractors, explanation


def parse_clause(clause: str) -> tuple[str, str, str]:
    for op in "+-=":
        if op in clause:
            who, perms = clause.split(op, 1)
            return who, op, perms
    raise ValueError(clause)


def apply_clause(mode: int, clause: str) -> int:
    who, op, perms = parse_clause(clause)
    classes = "ugo" if who == "a" else who
    for cls in classes:
        shift = CLASS_SHIFT[cls]
        bits = sum(PERM_BITS[p] for p in perms) << shift
        if op == "+":
            mode |= bits
        elif op == "-":
            mode &= ~bits
        else:
            mode = (mode & ~(7 << shift)) | bits
    return mode & 0o777


def apply_spec(mode: int, spec: str) -> int:
    for clause in spec.split(","):
        mode = apply_clause(mode, clause)
    return mode


def _random_clause(rng: random.Random) -> str:
    who = rng.choice(["u", "g", "o", "a", "ug", "go", "g", "o"])
    op = rng.choice("+-=")
    perms = "".join(p for p in "rwx" if rng.random() < 0.45)
    if not perms:
        perms = rng.choice("rwx")
    return f"{who}{op}{perms}"


class ChmodUmaskFamily(ItemFamily):
    name = "chmod_umask"
    skill = "linux"
    difficulty = 3
    tags = ("permissions", "umask", "chmod")

    def compose(self, rng: random.Random) -> tuple[str, str, list[str], str]:
        as_octal = rng.random() < 0.6
        fmt = octal if as_octal else symbolic
        answer_form = (
            "Answer in octal." if as_octal else "Answer with the nine permission characters as `ls -l` shows them."
        )
        if rng.random() < 0.5:
            return self._umask(rng, fmt, answer_form)
        return self._chmod(rng, fmt, answer_form)

    def _umask(
        self, rng: random.Random, fmt: Callable[[int], str], answer_form: str
    ) -> tuple[str, str, list[str], str]:
        while True:
            umask = (rng.choice([0, 0, 0, 2]) << 6) | (rng.randrange(8) << 3) | rng.randrange(8)
            if umask & 0o111 and umask != 0:
                break
        file_name = rng.choice(FILES)
        dir_name = rng.choice(DIRS)
        is_dir = rng.random() < 0.4
        target = dir_name if is_dir else file_name
        base = 0o777 if is_dir else 0o666
        other_base = 0o666 if is_dir else 0o777
        mode = base & ~umask
        script = f"umask {umask:03o}\ntouch {file_name}\nmkdir {dir_name}"
        stem = (
            "A shell runs the following commands in an empty "
            f"directory on Linux.\n\n{fence(script, 'bash')}\n\n"
            f"What are the permission bits of `{target}`? {answer_form}"
        )
        wrong = [other_base & ~umask, umask, 0o777 ^ umask]
        if base - umask >= 0:
            wrong.insert(0, base - umask)
        wrong += [mode ^ bit for bit in (0o001, 0o010, 0o100, 0o002, 0o020)]
        key = fmt(mode)
        distractors = pick_distractors(key, (fmt(m) for m in wrong))
        kind = "directory" if is_dir else "regular file"
        explanation = (
            f"A new {kind} is requested with mode {base:03o}, and the umask clears the bits it has set: "
            f"{base:03o} & ~{umask:03o} = {mode:03o} "
            f"({symbolic(mode)}). The umask is a mask, not a number to "
            f"subtract{' (files never get x bits from touch)' if not is_dir else ''}."
        )
        return stem, key, distractors, explanation

    def _chmod(
        self, rng: random.Random, fmt: Callable[[int], str], answer_form: str
    ) -> tuple[str, str, list[str], str]:
        start = rng.choice([0o644, 0o600, 0o755, 0o640, 0o664, 0o700, 0o750, 0o444, 0o775, 0o660])
        while True:
            clauses = [_random_clause(rng) for _ in range(rng.randint(2, 3))]
            spec = ",".join(clauses)
            mode = apply_spec(start, spec)
            # every clause should matter, and the result should differ from the start
            if mode != start and all(
                apply_spec(start, ",".join(c for j, c in enumerate(clauses) if j != i)) != mode
                for i in range(len(clauses))
            ):
                break
        name = rng.choice(FILES)
        script = f"touch {name}\nchmod {start:03o} {name}\nchmod {spec} {name}"
        stem = (
            f"A shell runs the following commands on Linux.\n\n{fence(script, 'bash')}\n\n"
            f"What are the permission bits of `{name}` afterwards? {answer_form}"
        )
        wrong: list[int] = []
        wrong.append(apply_spec(start, spec.replace("=", "+")))
        for i in range(len(clauses)):
            wrong.append(apply_spec(start, ",".join(c for j, c in enumerate(clauses) if j != i)))
        swapped = spec.translate(str.maketrans("go", "og"))
        wrong.append(apply_spec(start, swapped))
        wrong.append(start)
        wrong += [mode ^ bit for bit in (0o001, 0o010, 0o100, 0o004, 0o040, 0o002, 0o020)]
        key = fmt(mode)
        distractors = pick_distractors(key, (fmt(m) for m in wrong))
        steps = []
        current = start
        for clause in clauses:
            current = apply_clause(current, clause)
            steps.append(f"{clause} -> {current:03o}")
        explanation = (
            f"Start from {start:03o} ({symbolic(start)}) and apply the clauses left to right; + adds bits, - "
            f"removes them and = replaces the whole triad of the named classes (a = u, g and o): "
            f"{'; '.join(steps)}. Result: {mode:03o} ({symbolic(mode)})."
        )
        return stem, key, distractors, explanation
