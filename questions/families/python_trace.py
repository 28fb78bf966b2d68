"""Python tracing: a short generated snippet, "what does it print?".

The key is obtained by executing the generated code in a fresh namespace with a restricted set of
builtins and capturing stdout. Distractors come from executing *mutants* of the snippet that encode a
typical misreading (inclusive range end, break vs continue, aliasing vs copying, ...), topped up with
small perturbations of the real output when the mutants do not yield three distinct values.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from questions.families._common import (
    fence,
    int_perturbations,
    numbered,
    pick_distractors,
    text_perturbations,
)
from questions.families.base import ItemFamily

_SAFE_BUILTIN_NAMES = (
    "abs",
    "all",
    "any",
    "bool",
    "dict",
    "divmod",
    "enumerate",
    "float",
    "int",
    "isinstance",
    "len",
    "list",
    "max",
    "min",
    "print",
    "range",
    "reversed",
    "round",
    "set",
    "sorted",
    "str",
    "sum",
    "tuple",
    "zip",
)


def run_snippet(code: str) -> tuple[str, dict[str, object]]:
    """Execute `code` with controlled builtins; return (stdout without the final newline, namespace)."""
    namespace: dict[str, object] = {
        "__builtins__": {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES},
        "__name__": "__snippet__",
    }
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(code, "<snippet>", "exec"), namespace)
    return buffer.getvalue().rstrip("\n"), namespace


Explain = Callable[[str, dict[str, object]], str]


@dataclass
class Snippet:
    code: str
    explain: Explain
    mutants: list[str] = field(default_factory=list)


WORDS = (
    "banana",
    "cabbage",
    "pepper",
    "avocado",
    "tomato",
    "parallel",
    "balloon",
    "coconut",
    "mississippi",
    "referee",
    "committee",
    "abracadabra",
)
FRUITS = ("apples", "pears", "plums", "figs", "kiwis", "limes", "dates", "grapes", "cherries", "mangos")
COLORS = ("red", "green", "blue", "amber", "teal", "violet", "ochre", "black", "white", "coral")
PHRASES = (
    "data pipeline",
    "hello world",
    "quick brown fox",
    "unit test runner",
    "open source",
    "merge request",
    "load balancer",
    "message queue",
)
TOKENS = ("cat", "dog", "owl", "emu", "yak", "ant", "bee", "elk")


# ---------------------------------------------------------------- basic templates


def _accumulate(rng: random.Random) -> Snippet:
    while True:
        start = rng.randint(0, 5)
        stop = start + rng.randint(7, 13)
        k = rng.choice([2, 3, 4, 5])
        r = rng.randrange(k)
        if len([i for i in range(start, stop) if i % k == r]) >= 2:
            break
    op, what = rng.choice([("i", "i"), ("2 * i", "2 * i"), ("1", "1 (a count)")])
    acc = rng.choice(["total", "acc", "result"])

    def build(lo: int, hi: int, cmp: str, add: str) -> str:
        return (
            f"{acc} = 0\nfor i in range({lo}, {hi}):\n    if i % {k} {cmp} {r}:\n        {acc} += {add}\nprint({acc})\n"
        )

    other_op = "i" if op == "1" else "1"
    mutants = [
        build(start, stop + 1, "==", op),
        build(start, stop, "!=", op),
        build(start, stop, "==", other_op),
    ]
    hits = [i for i in range(start, stop) if i % k == r]

    def explain(out: str, ns: dict[str, object]) -> str:
        return (
            f"range({start}, {stop}) yields {start} to {stop - 1} ({stop} itself is excluded). "
            f"The values with i % {k} == {r} are {numbered(hits)}; adding {what} for each of them "
            f"gives {out}, which is printed."
        )

    return Snippet(build(start, stop, "==", op), explain, mutants)


def _slicing(rng: random.Random) -> Snippet:
    n = rng.randint(6, 8)
    nums = rng.sample(range(1, 60), n)
    form = rng.choice(["range", "tail", "head", "step", "reverse"])
    if form == "range":
        s = rng.randint(0, 2)
        e = rng.randint(s + 2, n - 1)
        expr = f"nums[{s}:{e}]"
        wrong = [f"nums[{s}:{e + 1}]", f"nums[{s + 1}:{e + 1}]", f"nums[{s + 1}:{e}]"]
        rule = f"from index {s} up to but not including index {e}"
    elif form == "tail":
        k = rng.randint(2, 4)
        expr = f"nums[-{k}:]"
        wrong = [f"nums[-{k + 1}:]", f"nums[-{k - 1}:]", f"nums[:-{k}]"]
        rule = f"the last {k} elements"
    elif form == "head":
        k = rng.randint(2, 4)
        expr = f"nums[:-{k}]"
        wrong = [f"nums[-{k}:]", f"nums[:-{k + 1}]", f"nums[:-{k - 1}]"]
        rule = f"everything except the last {k} elements"
    elif form == "step":
        s = rng.randint(0, 1)
        st = rng.randint(2, 3)
        expr = f"nums[{s}::{st}]"
        wrong = [f"nums[{s + 1}::{st}]", f"nums[{s}::{st + 1}]", f"nums[{s}:{n - 1}:{st}]"]
        rule = f"every {st}{'nd' if st == 2 else 'rd'} element starting at index {s}"
    else:
        s = rng.randint(0, 2)
        e = rng.randint(s + 2, n - 1)
        expr = f"nums[{e}:{s}:-1]"
        wrong = [f"nums[{s}:{e}][::-1]", f"nums[{e}:{s}:-1][::-1]", f"nums[{e - 1}:{s}:-1]"]
        rule = f"from index {e} down to but not including index {s}, stepping backwards"
    indices = list(range(n))
    picked = eval(expr.replace("nums", "indices"), {"__builtins__": {}}, {"indices": indices})

    def code_for(expression: str) -> str:
        return f"nums = {nums!r}\nprint({expression})\n"

    def explain(out: str, ns: dict[str, object]) -> str:
        return (
            f"{expr} selects {rule}, i.e. the indices {numbered(picked)} of a list with {n} elements "
            f"(indices 0 to {n - 1}). Those elements are {out}."
        )

    return Snippet(code_for(expr), explain, [code_for(w) for w in wrong])


def _dict_updates(rng: random.Random) -> Snippet:
    k0, k1, k2, k3 = rng.sample(FRUITS, 4)
    v0, v1, v2, v3, v4 = (rng.randint(1, 9) for _ in range(5))
    inc = rng.randint(2, 6)
    while v3 == v1:
        v3 = rng.randint(1, 9)
    first = f'stock = {{"{k0}": {v0}, "{k1}": {v1}}}'
    ops = [
        f'stock["{k2}"] = {v2}',
        f'stock["{k0}"] += {inc}',
        f'stock.update({{"{k1}": {v3}, "{k3}": {v4}}})',
    ]
    rng.shuffle(ops)
    removed = rng.choice([k0, k2, k3])
    removal = rng.choice([f'del stock["{removed}"]', f'stock.pop("{removed}")'])
    ops.append(removal)
    printer = rng.choice(
        [
            "print(len(stock), sum(stock.values()))",
            f'print(stock.get("{k1}"), len(stock))',
            "print(sorted(stock.values()))",
        ]
    )
    lines = [first, *ops, printer]
    code = "\n".join(lines) + "\n"
    mutants = []
    for skip in range(1, len(lines) - 1):
        mutants.append("\n".join(line for i, line in enumerate(lines) if i != skip) + "\n")
    additive = [
        (f'stock["{k1}"] = stock["{k1}"] + {v3}\nstock["{k3}"] = {v4}' if line.startswith("stock.update") else line)
        for line in lines
    ]
    mutants.insert(0, "\n".join(additive) + "\n")

    def explain(out: str, ns: dict[str, object]) -> str:
        return (
            "update() overwrites the value of an existing key "
            "and adds new keys, += changes a value in place, "
            f"and {'del' if removal.startswith('del') else 'pop()'} removes {removed!r}. The final dict is "
            f"{ns['stock']!r}, so the print call outputs {out}."
        )

    return Snippet(code, explain, mutants)


def _string_methods(rng: random.Random) -> Snippet:
    form = rng.choice(["split", "title", "find"])
    if form == "split":
        w0, w1, w2 = rng.sample(COLORS, 3)
        lead = " " * rng.randint(0, 2)
        trail = " " * rng.randint(1, 2)
        s = f"{lead}{w0}  {w1} {w2}{trail}"
        code = f's = "{s}"\nprint(len(s.split(" ")), len(s.split()))\n'
        mutants = [
            f's = "{s}"\nprint(len(s.split()), len(s.split()))\n',
            f's = "{s}"\nprint(len(s.strip().split(" ")), len(s.split()))\n',
            f's = "{s}"\nprint(len(s.split(" ")) - 1, len(s.split()))\n',
        ]
        parts = s.split(" ")

        def explain(out: str, ns: dict[str, object]) -> str:
            return (
                f's.split(" ") cuts at every single space and keeps the empty strings produced by leading, '
                f"trailing and doubled spaces: {parts!r} has {len(parts)} items. s.split() with no argument "
                f"splits on runs of whitespace and drops empty strings, giving {len(s.split())} words. "
                f"Output: {out}."
            )

        return Snippet(code, explain, mutants)
    if form == "title":
        phrase = rng.choice(PHRASES)
        pad_l = " " * rng.randint(1, 2)
        pad_r = " " * rng.randint(1, 2)
        sep = rng.choice(["_", "-"])
        s = f"{pad_l}{phrase}{pad_r}"
        code = f's = "{s}"\nprint(s.strip().title().replace(" ", "{sep}"))\n'
        mutants = [
            f's = "{s}"\nprint(s.title().replace(" ", "{sep}"))\n',
            f's = "{s}"\nprint(s.strip().capitalize().replace(" ", "{sep}"))\n',
            f's = "{s}"\nprint(s.strip().upper().replace(" ", "{sep}"))\n',
            f's = "{s}"\nprint(s.strip().replace(" ", "{sep}"))\n',
        ]

        def explain(out: str, ns: dict[str, object]) -> str:
            return (
                "strip() removes the surrounding spaces first, "
                "title() capitalises the first letter of every "
                f"word, and replace() turns the remaining inner spaces into {sep!r}: the result is {out}."
            )

        return Snippet(code, explain, mutants)
    word = rng.choice(WORDS)
    counts = {ch: word.count(ch) for ch in word}
    ch = rng.choice([c for c, count in counts.items() if count >= 2])
    missing = rng.choice([c for c in "qxzjw" if c not in word])
    code = f'w = "{word}"\nprint(w.find("{ch}"), w.rfind("{ch}"), w.find("{missing}"))\n'
    mutants = [
        f'w = "{word}"\nprint(w.find("{ch}") + 1, w.rfind("{ch}") + 1, w.find("{missing}"))\n',
        f'w = "{word}"\nprint(w.find("{ch}"), w.rfind("{ch}"), w.count("{missing}"))\n',
        f'w = "{word}"\nprint(w.find("{ch}"), len(w) - 1 - w.rfind("{ch}"), w.find("{missing}"))\n',
        f'w = "{word}"\nprint(w.find("{ch}"), w.count("{ch}"), w.find("{missing}"))\n',
    ]

    def explain_find(out: str, ns: dict[str, object]) -> str:
        return (
            "Indices start at 0. find() returns the index of "
            f"the first {ch!r} in {word!r}, rfind() the index "
            f"of the last one (still counted from the left), and find() returns -1 when the substring "
            f"({missing!r}) is absent. Output: {out}."
        )

    return Snippet(code, explain_find, mutants)


def _int_arith(rng: random.Random) -> Snippet:
    if rng.random() < 0.5:
        a = rng.randint(11, 60)
        b = rng.randint(3, 9)
        while a % b == 0:
            a += 1
        if rng.random() < 0.5:
            a = -a
        else:
            b = -b
        head = f"a, b = {a}, {b}\n"
        code = head + "print(a // b, a % b)\n"
        mutants = [
            head + "print(int(a / b), a - b * int(a / b))\n",
            head + "print(int(a / b), a % b)\n",
            head + "print(a // b, a - b * int(a / b))\n",
            head + "print(abs(a) // abs(b), abs(a) % abs(b))\n",
        ]

        def explain(out: str, ns: dict[str, object]) -> str:
            return (
                f"// floors the quotient towards negative infinity: {a} / {b} = {a / b:.2f}, so {a} // {b} = "
                f"{a // b}, not {int(a / b)}. The remainder "
                "satisfies a == b * (a // b) + a % b and takes the "
                f"sign of the divisor: {a} % {b} = {a % b}. Output: {out}."
            )

        return Snippet(code, explain, mutants)
    a, b, c, d, e, f = (rng.randint(2, 9) for _ in range(6))
    while d == e or (b * c) % d == b * (c % d):
        d = rng.randint(2, 9)
        c = rng.randint(2, 9)
    expr = f"{a} + {b} * {c} % {d} - {e} // {f}"
    wrongs = [
        f"({a} + {b}) * {c} % {d} - {e} // {f}",
        f"{a} + {b} * ({c} % {d}) - {e} // {f}",
        f"({a} + {b} * {c}) % {d} - {e} // {f}",
        f"{a} + {b} * {c} % ({d} - {e}) // {f}",
        f"({a} + {b} * {c} % {d} - {e}) // {f}",
    ]

    def explain_prec(out: str, ns: dict[str, object]) -> str:
        return (
            f"*, % and // share one precedence level, above + and -, and group left to right. So the "
            f"expression is {a} + (({b} * {c}) % {d}) - ({e} // "
            f"{f}) = {a} + {(b * c) % d} - {e // f} = {out}."
        )

    return Snippet(f"x = {expr}\nprint(x)\n", explain_prec, [f"x = {w}\nprint(x)\n" for w in wrongs])


def _comprehension(rng: random.Random) -> Snippet:
    for _ in range(100):
        values = rng.sample(range(1, 20), 6)
        t = rng.randint(6, 12)
        m = rng.randint(2, 4)
        cond, cond_text = rng.choice(
            [
                ("v % 2 == 1", "odd"),
                ("v % 2 == 0", "even"),
                (f"v > {t}", f"greater than {t}"),
                ("v % 3 == 0", "divisible by 3"),
            ]
        )
        expr = rng.choice([f"v * {m}", f"v + {m}", "v * v"])
        kept = [v for v in values if eval(cond, {"__builtins__": {}}, {"v": v})]
        if 1 <= len(kept) < len(values):
            break
    printer = rng.choice(["print(result)", "print(len(result), sum(result))"])

    def build(expression: str, condition: str) -> str:
        return f"values = {values!r}\nresult = [{expression} for v in values if {condition}]\n{printer}\n"

    mutants = [
        build(expr, f"not ({cond})"),
        build("v", cond),
        build(expr, cond.replace("v", f"({expr})")),
    ]
    if ">" in cond:
        mutants.append(build(expr, cond.replace(">", ">=")))

    def explain(out: str, ns: dict[str, object]) -> str:
        return (
            f"The condition is tested on the original element, and only the kept elements are transformed. "
            f"The values that are {cond_text} are {numbered(kept)}; applying {expr} to each gives "
            f"{ns['result']!r}, so the output is {out}."
        )

    return Snippet(build(expr, cond), explain, mutants)


# ---------------------------------------------------------------- nested / trickier templates


def _nested_break(rng: random.Random) -> Snippet:
    n = rng.randint(3, 5)
    m = rng.randint(4, 6)
    k = rng.randint(2, 4)
    keyword = rng.choice(["break", "continue"])
    inner, inner_plus = rng.choice(
        [
            (f"range({m})", f"range({m + 1})"),
            (f"range(i, {m})", f"range(i, {m + 1})"),
            ("range(i)", "range(i + 1)"),
        ]
    )
    cond = rng.choice([f"(i + j) % {k} == 0", f"i * j > {k + 1}", f"j - i == {k - 1}"])

    def build(inner_range: str, kw: str) -> str:
        return (
            "count = 0\n"
            f"for i in range({n}):\n"
            f"    for j in {inner_range}:\n"
            f"        if {cond}:\n"
            f"            {kw}\n"
            "        count += 1\n"
            "print(count)\n"
        )

    other = "continue" if keyword == "break" else "break"
    mutants = [build(inner, other), build(inner_plus, keyword)]
    if keyword == "break":
        mutants.append(
            "def run():\n"
            "    count = 0\n"
            f"    for i in range({n}):\n"
            f"        for j in {inner}:\n"
            f"            if {cond}:\n"
            "                return count\n"
            "            count += 1\n"
            "    return count\n"
            "print(run())\n"
        )
    env = {"__builtins__": {"range": range}}
    per_i = []
    for i in range(n):
        added = 0
        for j in eval(inner, env, {"i": i}):
            if eval(cond, env, {"i": i, "j": j}):
                if keyword == "break":
                    break
                continue
            added += 1
        per_i.append(added)

    def explain(out: str, ns: dict[str, object]) -> str:
        effect = (
            "break leaves only the inner loop, and the outer loop carries on with the next i"
            if keyword == "break"
            else "continue skips just the current j"
        )
        parts = ", ".join(f"i={i} adds {c}" for i, c in enumerate(per_i))
        return f"{effect}. Counting the increments: {parts}; in total {out}."

    return Snippet(build(inner, keyword), explain, mutants)


def _aliasing(rng: random.Random) -> Snippet:
    x, y, z, p, q, r = rng.sample(range(1, 40), 6)
    copy_expr = rng.choice(["a[:]", "list(a)", "a.copy()"])
    printer = rng.choice(["print(a, c)", "print(len(a), len(b), len(c))", "print(b[0], c[0], len(a))", "print(b, c)"])

    def build(b_expr: str, c_expr: str) -> str:
        return f"a = [{x}, {y}, {z}]\nb = {b_expr}\nc = {c_expr}\nb.append({p})\nc.append({q})\na[0] = {r}\n{printer}\n"

    mutants = [build(copy_expr, copy_expr), build("a", "a"), build(copy_expr, "a")]

    def explain(out: str, ns: dict[str, object]) -> str:
        return (
            f"b = a makes b a second name for the same list, while c = {copy_expr} builds a new list. So "
            f"b.append({p}) and a[0] = {r} both change the shared list {ns['a']!r}, and only c receives {q}: "
            f"c is {ns['c']!r}. Output: {out}."
        )

    return Snippet(build("a", copy_expr), explain, mutants)


def _digit_loop(rng: random.Random) -> Snippet:
    number = rng.randint(1000, 99999)
    while "0" in str(number) or len(set(str(number))) < 3:
        number = rng.randint(1000, 99999)
    form = rng.choice(["sum", "reverse", "odd"])
    if form == "sum":
        body, var, init, what = "    acc += n % 10\n", "acc", "0", "adds up the digits"
        alt_bodies = ["    acc = n % 10\n", "    acc += n // 10 % 10\n"]
    elif form == "reverse":
        body, var, init, what = (
            "    acc = acc * 10 + n % 10\n",
            "acc",
            "0",
            "builds the digits in reverse order",
        )
        alt_bodies = ["    acc = acc + n % 10 * 10\n", "    acc = acc * 10 + n // 10 % 10\n"]
    else:
        body, var, init, what = (
            "    if n % 2 == 1:\n        acc += 1\n",
            "acc",
            "0",
            "counts the odd digits",
        )
        alt_bodies = ["    if n % 2 == 0:\n        acc += 1\n", "    if n % 2 == 1:\n        acc += n % 10\n"]

    def build(loop_body: str, cond: str = "n > 0") -> str:
        return f"n = {number}\n{var} = {init}\nwhile {cond}:\n{loop_body}    n //= 10\nprint({var})\n"

    mutants = [build(body, "n > 9"), *(build(b) for b in alt_bodies)]

    def explain(out: str, ns: dict[str, object]) -> str:
        digits = [int(d) for d in reversed(str(number))]
        return (
            "n % 10 is the last digit and n //= 10 drops it, "
            f"so the loop visits the digits {numbered(digits)} "
            f"(right to left) and stops once n reaches 0. The loop {what}, giving {out}."
        )

    return Snippet(build(body), explain, mutants)


def _recursion(rng: random.Random) -> Snippet:
    form = rng.choice(["sum", "fib", "double_fact", "halve"])
    if form == "sum":
        k = rng.randint(4, 9)
        base, base_ret, rec = "n <= 0", "0", "n + f(n - 1)"
        alts = [
            ("n <= 0", "1", "n + f(n - 1)"),
            ("n <= 0", "0", "n + f(n - 2)"),
            ("n <= 1", "0", "n + f(n - 1)"),
        ]
        idea = "adds n, n-1, ... down to 1"
    elif form == "fib":
        k = rng.randint(5, 10)
        base, base_ret, rec = "n < 2", "n", "f(n - 1) + f(n - 2)"
        alts = [
            ("n < 2", "1", "f(n - 1) + f(n - 2)"),
            ("n < 2", "n", "f(n - 1) + f(n - 1)"),
            ("n < 3", "n", "f(n - 1) + f(n - 2)"),
        ]
        idea = "is the Fibonacci recurrence with f(0) = 0 and f(1) = 1"
    elif form == "double_fact":
        k = rng.randint(5, 9)
        base, base_ret, rec = "n <= 1", "1", "n * f(n - 2)"
        alts = [
            ("n <= 1", "1", "n * f(n - 1)"),
            ("n <= 1", "n", "n * f(n - 2)"),
            ("n <= 2", "1", "n * f(n - 2)"),
        ]
        idea = "multiplies n, n-2, n-4, ... until it reaches 1 or 0"
    else:
        k = rng.randint(9, 200)
        base, base_ret, rec = "n <= 1", "0", "1 + f(n // 2)"
        alts = [
            ("n <= 1", "1", "1 + f(n // 2)"),
            ("n <= 0", "0", "1 + f(n // 2 - 1)"),
            ("n <= 1", "0", "2 + f(n // 2)"),
        ]
        idea = "counts how many times n can be halved (with //) before it drops to 1"

    def build(b: str, ret: str, recursive: str) -> str:
        return f"def f(n):\n    if {b}:\n        return {ret}\n    return {recursive}\n\nprint(f({k}))\n"

    mutants = [build(*alt) for alt in alts]

    def explain(out: str, ns: dict[str, object]) -> str:
        return (
            f"f stops at the base case ({base} returns {base_ret}) and otherwise returns {rec}: it {idea}. "
            f"Unwinding the calls for f({k}) gives {out}."
        )

    return Snippet(build(base, base_ret, rec), explain, mutants)


def _enumerate_build(rng: random.Random) -> Snippet:
    word = rng.choice(WORDS)
    if rng.random() < 0.5:
        parity = rng.choice([0, 1])

        def build(start: str, par: int) -> str:
            return (
                f'word = "{word}"\n'
                'out = ""\n'
                f"for i, ch in enumerate(word{start}):\n"
                f"    if i % 2 == {par}:\n"
                "        out += ch.upper()\n"
                "    else:\n"
                "        out += ch\n"
                "print(out)\n"
            )

        mutants = [build(", 1", parity), build("", 1 - parity), build(", 1", 1 - parity)]
        mutants.append(build("", parity).replace("    else:\n        out += ch\n", ""))

        def explain(out: str, ns: dict[str, object]) -> str:
            which = "even" if parity == 0 else "odd"
            return (
                f"enumerate() numbers the characters from 0, so the characters at {which} positions are "
                f"upper-cased: {out}."
            )

        return Snippet(build("", parity), explain, mutants)

    def build_vowels(start: str, test: str) -> str:
        return (
            f'word = "{word}"\n'
            'out = ""\n'
            f"for i, ch in enumerate(word{start}):\n"
            f'    if ch {test} "aeiou":\n'
            "        out += str(i)\n"
            "    else:\n"
            "        out += ch\n"
            "print(out)\n"
        )

    mutants = [build_vowels(", 1", "in"), build_vowels("", "not in"), build_vowels(", 1", "not in")]

    def explain_vowels(out: str, ns: dict[str, object]) -> str:
        return (
            f"Every vowel of {word!r} is replaced by its index, counted from 0 by enumerate(); consonants "
            f"are kept. Result: {out}."
        )

    return Snippet(build_vowels("", "in"), explain_vowels, mutants)


def _counting_dict(rng: random.Random) -> Snippet:
    while True:
        pool = rng.sample(TOKENS, rng.randint(3, 4))
        words = [rng.choice(pool) for _ in range(rng.randint(7, 9))]
        tally = sorted((words.count(w) for w in set(words)), reverse=True)
        if len(tally) >= 3 and tally[0] != tally[1] and tally[-1] != tally[-2]:
            break
    lines_head = f"words = {words!r}\ncounts = {{}}\nfor w in words:\n"

    def build(update: str, pick: str, size: str) -> str:
        return (
            lines_head
            + f"    counts[w] = {update}\n"
            + f"top = {pick}(counts, key=counts.get)\n"
            + f"print(top, counts[top], {size})\n"
        )

    code = build("counts.get(w, 0) + 1", "max", "len(counts)")
    mutants = [
        build("counts.get(w, 0) + 1", "max", "len(words)"),
        build("counts.get(w, 1) + 1", "max", "len(counts)"),
        build("counts.get(w, 0) + 1", "min", "len(counts)"),
    ]

    def explain(out: str, ns: dict[str, object]) -> str:
        return (
            f"counts.get(w, 0) + 1 tallies each word, giving {ns['counts']!r}. max(counts, key=counts.get) "
            f"returns the key with the largest count, and len(counts) is the number of distinct words. "
            f"Output: {out}."
        )

    return Snippet(code, explain, mutants)


def _mutable_default(rng: random.Random) -> Snippet:
    v1, v2, v3, v4 = rng.sample(range(1, 30), 4)
    explicit = rng.random() < 0.6
    calls = [f"add({v1})", f"add({v2}, [])" if explicit else f"add({v2})", f"add({v3})"]
    printer = rng.choice([f"print(add({v4}))", f"print(len(add({v4})))"])

    def build(header: str, body: str, call_lines: list[str]) -> str:
        return (
            header + body + "    bucket.append(item)\n    return bucket\n\n" + "\n".join(call_lines) + f"\n{printer}\n"
        )

    shared = ("def add(item, bucket=[]):\n", "")
    fresh = ("def add(item, bucket=None):\n", "    if bucket is None:\n        bucket = []\n")
    code = build(*shared, calls)
    mutants = [build(*fresh, calls)]
    if explicit:
        mutants.append(build(*shared, [f"add({v1})", f"add({v2})", f"add({v3})"]))
    mutants.append(build(*shared, calls[1:]))

    def explain(out: str, ns: dict[str, object]) -> str:
        extra = f" The call add({v2}, []) uses its own new list and does not touch the default." if explicit else ""
        return (
            "The default list is created once, when def runs, and every call that omits bucket appends to "
            f"that same list.{extra} So the last call sees the accumulated list, and the output is {out}."
        )

    return Snippet(code, explain, mutants)


# ---------------------------------------------------------------- families

_INTROS = (
    "What does the following Python code print?",
    "What is printed when this Python snippet runs?",
    "Run this Python 3 code. What appears on standard output?",
)


class _PythonTraceFamily(ItemFamily):
    templates: tuple[Callable[[random.Random], Snippet], ...] = ()

    def compose(self, rng: random.Random) -> tuple[str, str, list[str], str]:
        template = rng.choice(self.templates)
        snippet = template(rng)
        output, namespace = run_snippet(snippet.code)
        if not output or "\n" in output:
            raise ValueError(f"{self.name}: snippet must print exactly one non-empty line, got {output!r}")
        mutant_outputs = []
        for mutant in snippet.mutants:
            try:
                mutant_output, _ = run_snippet(mutant)
            except Exception:  # a mutant that crashes is simply not a usable distractor
                continue
            if mutant_output and "\n" not in mutant_output:
                mutant_outputs.append(mutant_output)
        fallback = int_perturbations(output) if any(ch.isdigit() for ch in output) else text_perturbations(output)
        distractors = pick_distractors(output, mutant_outputs, fallback)
        stem = f"{rng.choice(_INTROS)}\n\n{fence(snippet.code, 'python')}"
        return stem, output, distractors, snippet.explain(output, namespace)


class PythonTraceBasicFamily(_PythonTraceFamily):
    name = "python_trace_basic"
    skill = "python"
    difficulty = 2
    tags = ("tracing", "python-basics")
    templates = (_accumulate, _slicing, _dict_updates, _string_methods, _int_arith, _comprehension)


class PythonTraceNestedFamily(_PythonTraceFamily):
    name = "python_trace_nested"
    skill = "python"
    difficulty = 3
    tags = ("tracing", "control-flow", "references")
    templates = (
        _nested_break,
        _aliasing,
        _digit_loop,
        _recursion,
        _enumerate_build,
        _counting_dict,
        _mutable_default,
    )
