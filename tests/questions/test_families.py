"""Parametric item families: validity, variety, determinism and, above all, keys verified independently.

Every key is re-derived here from the item's own stem, without calling the family's helpers: the fenced
Python is executed, the fenced SQL is run in SQLite, shell commands are run in a scratch directory, numbers
are parsed out of the stem and recomputed, loop nests are timed by counting iterations, and so on.
"""

from __future__ import annotations

import ast
import contextlib
import io
import math
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from fractions import Fraction
from http import HTTPStatus
from pathlib import Path

import pytest

from questions.families import FAMILIES, FAMILIES_BY_NAME
from questions.families.base import ItemFamily
from questions.items import OPTION_IDS, Item
from questions.skills import SKILLS

SEEDS = range(200)
FAMILY_NAMES = [family.name for family in FAMILIES]
FAMILIES_DIR = Path(__file__).resolve().parents[2] / "questions" / "families"


def items_of(family: ItemFamily, seeds: range = SEEDS) -> list[Item]:
    return [family.generate(seed) for seed in seeds]


def fenced(stem: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)\n```", stem, flags=re.S)


def option_texts(item: Item) -> list[str]:
    return [option.text for option in item.options]


def others(item: Item) -> list[str]:
    return [option.text for option in item.options if option.id != item.key]


def run_python(code: str) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(code, "<stem>", "exec"), {"__name__": "__stem__"})
    return buffer.getvalue().rstrip("\n")


# ---------------------------------------------------------------- registry and purity


def test_registry_has_at_least_eight_families_with_valid_metadata() -> None:
    assert len(FAMILIES) >= 8
    assert len(set(FAMILY_NAMES)) == len(FAMILY_NAMES)
    assert {family.name: family for family in FAMILIES} == FAMILIES_BY_NAME
    for family in FAMILIES:
        assert isinstance(family, ItemFamily)
        assert family.skill in SKILLS
        assert isinstance(family.difficulty, int) and 1 <= family.difficulty <= 5
        assert re.fullmatch(r"[a-z][a-z0-9_]*", family.name), "ids are '<name>-<seed>', so no '-' in names"
        assert isinstance(family.tags, tuple)
    skills = {family.skill for family in FAMILIES}
    assert {"python", "sql", "algorithms", "http", "linux", "statistics"} <= skills


def test_required_family_modules_exist() -> None:
    for module in (
        "python_trace",
        "sql_row_count",
        "loop_complexity",
        "number_base",
        "http_status",
        "regex_match",
        "chmod_octal",
        "descriptive_stats",
    ):
        assert (FAMILIES_DIR / f"{module}.py").is_file(), module


def test_family_modules_import_only_the_standard_library() -> None:
    for path in sorted(FAMILIES_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                assert root in sys.stdlib_module_names or root in ("questions", "__future__"), (
                    path.name,
                    root,
                )


# ---------------------------------------------------------------- generic properties, every family


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_every_seed_gives_a_valid_item(name: str) -> None:
    family = FAMILIES_BY_NAME[name]
    for seed in SEEDS:
        item = family.generate(seed)
        assert isinstance(item, Item)
        assert item.id == f"{name}-{seed}"
        assert item.family == name
        assert item.skill == family.skill
        assert item.difficulty == family.difficulty
        assert tuple(option.id for option in item.options) == OPTION_IDS
        texts = option_texts(item)
        assert len(set(texts)) == 4, texts
        assert all(text.strip() == text and text for text in texts), texts
        assert item.key in OPTION_IDS
        assert item.correct_text in texts
        assert sum(text == item.correct_text for text in texts) == 1
        for text in texts:
            assert "of the above" not in text.lower()
        assert "```" not in item.explanation or item.explanation.count("```") % 2 == 0
        assert len(item.explanation) >= 40
        assert item.correct_text in item.explanation, "the explanation states the answer"
        assert item.stem.count("```") % 2 == 0, "code fences must be closed"


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_variants_differ(name: str) -> None:
    items = items_of(FAMILIES_BY_NAME[name], range(50))
    assert len({item.stem for item in items}) >= 30
    # the key's position is shuffled, not fixed
    assert len({item.key for item in items}) == 4


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_same_seed_gives_identical_item(name: str) -> None:
    family = FAMILIES_BY_NAME[name]
    fresh = type(family)()
    for seed in (0, 1, 7, 199, 123_456_789, 2**31 - 1):
        first = family.generate(seed)
        assert first == family.generate(seed)
        assert first.model_dump() == fresh.generate(seed).model_dump()


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_key_is_verified_independently_from_the_stem(name: str) -> None:
    verify = VERIFIERS[name]
    for item in items_of(FAMILIES_BY_NAME[name]):
        verify(item)


def test_every_family_has_an_independent_verifier() -> None:
    assert set(VERIFIERS) == set(FAMILY_NAMES)


# ---------------------------------------------------------------- verifiers


def verify_python_trace(item: Item) -> None:
    blocks = fenced(item.stem, "python")
    assert len(blocks) == 1
    output = run_python(blocks[0])
    assert "\n" not in output
    assert item.correct_text == output, (item.id, blocks[0], output, option_texts(item))
    assert output not in others(item)


def verify_sql(item: Item) -> None:
    blocks = fenced(item.stem, "sql")
    assert len(blocks) == 2, item.stem
    setup, query = blocks
    assert "CREATE TABLE" in setup and "INSERT INTO" in setup
    connection = sqlite3.connect(":memory:")
    try:
        connection.executescript(setup)
        rows = connection.execute(query).fetchall()
    finally:
        connection.close()
    assert item.correct_text == str(len(rows)), (item.id, query, rows)
    for text in option_texts(item):
        assert text.isdigit()


def parse_big_o(text: str) -> tuple[float, int]:
    """'O(n^2 log n)' -> (2.0, 1): exponents of n and of log n."""
    match = re.fullmatch(r"O\((.+)\)", text)
    assert match, text
    body = match.group(1)
    if body == "1":
        return 0.0, 0
    n_exp, log_exp, consumed = 0.0, 0, ""
    for token in re.finditer(r"\(log n\)\^(\d+)|log n|sqrt\(n\)|n\^(\d+)|n| ", body):
        consumed += token.group(0)
        if token.group(0) == " ":
            continue
        if token.group(1):
            log_exp += int(token.group(1))
        elif token.group(0) == "log n":
            log_exp += 1
        elif token.group(0) == "sqrt(n)":
            n_exp += 0.5
        elif token.group(2):
            n_exp += int(token.group(2))
        else:
            n_exp += 1
    assert consumed == body, text
    return n_exp, log_exp


def big_o_value(cls: tuple[float, int], n: int) -> float:
    return n ** cls[0] * math.log2(n) ** cls[1]


def iteration_counts(code: str, budget: int) -> list[tuple[int, int]]:
    """(n, work(n)) for n = 16, 32, ... as long as the next run is predicted to stay within budget."""
    namespace: dict[str, object] = {}
    exec(compile(code, "<stem>", "exec"), namespace)
    work = namespace["work"]
    assert callable(work)
    points: list[tuple[int, int]] = []
    n = 16
    while n <= 2**40:
        count = work(n)
        points.append((n, count))
        growth = count / points[-2][1] if len(points) >= 2 and points[-2][1] else 4
        if count * growth > budget:
            break
        n *= 2
    return points


def verify_loop_complexity(item: Item, budget: int = 600_000) -> None:
    blocks = fenced(item.stem, "python")
    assert len(blocks) == 1
    classes = {text: parse_big_o(text) for text in option_texts(item)}
    assert len(set(classes.values())) == 4
    points = iteration_counts(blocks[0], budget)
    assert len(points) >= 3, points
    n_hi, c_hi = points[-1]
    n_lo, c_lo = next((n, c) for n, c in points if n * 4 >= n_hi) if n_hi >= 64 else points[0]
    assert n_hi >= 4 * n_lo, points

    def drift(cls: tuple[float, int]) -> float:
        """|log| of how much count / f(n) changes between n_lo and n_hi: 0 for a perfect fit."""
        ratio_hi = c_hi / big_o_value(cls, n_hi)
        ratio_lo = c_lo / big_o_value(cls, n_lo)
        return abs(math.log(ratio_hi / ratio_lo))

    drifts = {text: drift(cls) for text, cls in classes.items()}
    best = min(drifts, key=drifts.__getitem__)
    assert best == item.correct_text, (item.id, blocks[0], points, drifts)
    assert drifts[item.correct_text] < math.log(1.5), (item.id, points, drifts)


def verify_number_base(item: Item) -> None:
    bases = {"binary": (2, "0b"), "octal": (8, "0o"), "decimal": (10, ""), "hexadecimal": (16, "0x")}
    question = item.stem.split("?")[0].split(". ")[0]
    literals = re.findall(r"\b(0b[01]+|0o[0-7]+|0x[0-9A-Fa-f]+|[1-9]\d*)\b", question)
    assert len(literals) == 1, question
    value = int(literals[0], 0)
    named = [word for word in bases if re.search(rf"\b{word}\b", question)]
    assert len(named) == 1, question
    base, prefix = bases[named[0]]
    for text in option_texts(item):
        assert text.startswith(prefix) and (prefix or text.isdigit()), text
        digits = text[len(prefix) :]
        assert (digits and digits[0] != "0") or digits == "0", text
    assert int(item.correct_text[len(prefix) :], base) == value
    assert all(int(text[len(prefix) :], base) != value for text in others(item))
    # the literal itself is written in a different base than the one asked for
    assert not (literals[0].startswith(prefix) and (prefix or literals[0].isdigit()))


HTTP_RULES: tuple[tuple[str, int], ...] = (
    (r"Location header", 201),
    (r"nothing to put in the response body|deliberately sends back an empty body", 204),
    (r"not even syntactically valid JSON|malformed and cannot be parsed", 400),
    (r"without sending any credentials|bearer token that has expired", 401),
    (r"role does not permit|lacks the permission", 403),
    (r"with that id has ever existed|there is no such resource", 404),
    (r"supports only GET and POST|does not support that method", 405),
    (r"quota|rate limit", 429),
    (r"planned maintenance|temporarily overloaded", 503),
    (r"background job|asynchronous processing", 202),
    (r"If-None-Match|If-Modified-Since", 304),
    (r"temporarily moved|temporary location", 307),
    (r"permanently moved", 308),
    (r"confirmation page with a GET", 303),
    (r'"version": 5|already uses', 409),
    (r"If-Match header carrying an ETag|If-Unmodified-Since", 412),
    (r"without any If-Match header", 428),
    (r"2 GB attachment|far larger than the limit", 413),
    (r"Content-Type: application/xml|form-encoded body", 415),
    (r"Accept: application/pdf", 406),
    (r"fails validation|fails the semantic validation", 422),
    (r"deliberately and permanently removed", 410),
    (r"garbled, invalid response", 502),
    (r"does not answer before the gateway's timeout", 504),
)


def verify_http_status(item: Item) -> None:
    codes = [code for pattern, code in HTTP_RULES if re.search(pattern, item.stem)]
    assert len(codes) == 1, (item.stem, codes)
    expected = HTTPStatus(codes[0])
    assert item.correct_text == f"{expected.value} {expected.phrase}"
    for text in option_texts(item):
        code, _, phrase = text.partition(" ")
        assert HTTPStatus(int(code)).phrase == phrase, text


def verify_regex_match(item: Item) -> None:
    blocks = fenced(item.stem, "python")
    assert len(blocks) == 1
    namespace: dict[str, object] = {}
    exec(blocks[0], namespace)
    pattern = namespace["pattern"]
    assert isinstance(pattern, str)
    if "re.search(pattern, s)" in item.stem:
        test: Callable[[str, str], object] = re.search
    else:
        assert "re.fullmatch(pattern, s)" in item.stem
        test = re.fullmatch
    matching = []
    for text in option_texts(item):
        candidate = ast.literal_eval(text)
        assert isinstance(candidate, str) and candidate
        if test(pattern, candidate) is not None:
            matching.append(text)
    assert matching == [item.correct_text], (pattern, option_texts(item))


def verify_chmod_octal(item: Item) -> None:
    texts = option_texts(item)
    shown = re.search(r"shows the permissions `(-[rwx-]{9})`", item.stem)
    if shown:
        assert all(re.fullmatch(r"[0-7]{3}", text) for text in texts), texts
        assert stat.filemode(stat.S_IFREG | int(item.correct_text, 8)) == shown.group(1)
        assert all(stat.filemode(stat.S_IFREG | int(t, 8)) != shown.group(1) for t in others(item))
        return
    chmod = re.search(r"After `chmod ([0-7]{3}) ", item.stem)
    assert chmod, item.stem
    assert all(re.fullmatch(r"[rwx-]{9}", text) for text in texts), texts
    assert "-" + item.correct_text == stat.filemode(stat.S_IFREG | int(chmod.group(1), 8))


def verify_chmod_umask(item: Item) -> None:
    blocks = fenced(item.stem, "bash")
    assert len(blocks) == 1
    target = re.search(r"permission bits of `([^`]+)`", item.stem)
    assert target
    octal_answer = "Answer in octal." in item.stem
    form = r"[0-7]{3}" if octal_answer else r"[rwx-]{9}"
    assert all(re.fullmatch(form, text) for text in option_texts(item))
    assert shutil.which("bash"), "the umask check runs the item's shell commands in bash"
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(["bash", "-e", "-c", blocks[0]], cwd=scratch, check=True, capture_output=True)
        mode = os.stat(os.path.join(scratch, target.group(1))).st_mode
    expected = format(stat.S_IMODE(mode), "03o") if octal_answer else stat.filemode(mode)[1:]
    assert item.correct_text == expected, (item.id, blocks[0], expected, option_texts(item))


def verify_descriptive_stats(item: Item) -> None:
    blocks = fenced(item.stem, "text")
    assert len(blocks) == 1
    data = [int(v) for v in blocks[0].split(",")]
    n = len(data)
    question = item.stem.rsplit("```", 1)[1]
    if "mode" in question:
        (top, top_count), (_, runner_up) = Counter(data).most_common(2)
        assert top_count > runner_up
        assert item.correct_text == str(top)
        assert all(re.fullmatch(r"-?\d+", text) for text in option_texts(item))
        return
    ordered = sorted(data)
    if "median" in question:
        truth = Fraction(ordered[n // 2]) if n % 2 else Fraction(ordered[n // 2 - 1] + ordered[n // 2], 2)
    elif "mean" in question:
        truth = Fraction(sum(data), n)
    else:
        assert "sample standard deviation" in question and "n - 1" in question
        mean = Fraction(sum(data), n)
        truth = Fraction(math.sqrt(sum((x - mean) ** 2 for x in data) / (n - 1)))
    texts = option_texts(item)
    assert all(re.fullmatch(r"-?\d+\.\d\d", text) for text in texts), texts
    assert abs(Fraction(item.correct_text) - truth) <= Fraction(5, 1000) + Fraction(1, 10**9)
    nearest = min(texts, key=lambda text: abs(Fraction(text) - truth))
    assert nearest == item.correct_text


def _worst_probes_by_recursion(size: int) -> int:
    """Worst case of the shown loop: a miss leaves (size - 1) // 2 or size // 2 elements."""
    probes = 0
    while size > 0:
        probes += 1
        size = max((size - 1) // 2, size // 2)
    return probes


def verify_binary_search_steps(item: Item) -> None:
    blocks = fenced(item.stem, "python")
    assert len(blocks) == 1
    code = blocks[0]
    if "print(binary_search(" in code:
        assert item.correct_text == run_python(code)
        return
    size_text = re.search(r"sorted list of ([\d,]+) distinct integers", item.stem)
    assert size_text
    n = int(size_text.group(1).replace(",", ""))
    assert all(text.isdigit() for text in option_texts(item))
    if n <= 5000:
        namespace: dict[str, object] = {}
        exec(code, namespace)
        search = namespace["binary_search"]
        assert callable(search)
        items = range(0, 2 * n, 2)  # n sorted distinct integers; odd targets are absent
        worst = max(search(items, target)[1] for target in range(-1, 2 * n + 1))
    else:
        worst = _worst_probes_by_recursion(n)
    assert item.correct_text == str(worst), (n, worst, option_texts(item))


VERIFIERS: dict[str, Callable[[Item], None]] = {
    "python_trace_basic": verify_python_trace,
    "python_trace_nested": verify_python_trace,
    "sql_row_count": verify_sql,
    "sql_join_row_count": verify_sql,
    "loop_complexity": verify_loop_complexity,
    "number_base": verify_number_base,
    "http_status_common": verify_http_status,
    "http_status_advanced": verify_http_status,
    "regex_match": verify_regex_match,
    "chmod_octal": verify_chmod_octal,
    "chmod_umask": verify_chmod_umask,
    "descriptive_stats": verify_descriptive_stats,
    "binary_search_steps": verify_binary_search_steps,
}


# ---------------------------------------------------------------- family-specific checks


def test_python_trace_stems_fence_the_code_and_distractors_are_not_the_output() -> None:
    for name in ("python_trace_basic", "python_trace_nested"):
        for item in items_of(FAMILIES_BY_NAME[name], range(60)):
            assert item.stem.count("```python") == 1
            assert item.correct_text in item.explanation


def test_python_trace_executes_with_restricted_builtins() -> None:
    from questions.families.python_trace import run_snippet

    with pytest.raises(NameError):
        run_snippet("open('/etc/passwd')\n")
    with pytest.raises(NameError):
        run_snippet("__import__('os')\n")
    assert run_snippet("print(sum(range(4)))\n")[0] == "6"


def test_sql_queries_cover_the_advertised_constructs() -> None:
    queries = " ".join(
        fenced(item.stem, "sql")[1]
        for name in ("sql_row_count", "sql_join_row_count")
        for item in items_of(FAMILIES_BY_NAME[name])
    )
    for construct in ("LEFT JOIN", "GROUP BY", "HAVING", "DISTINCT", "NULL", " OR ", " AND ", "NOT IN"):
        assert construct in queries, construct


def test_loop_complexity_covers_logs_squares_and_triangular_nests() -> None:
    keys = Counter(item.correct_text for item in items_of(FAMILIES_BY_NAME["loop_complexity"]))
    for cls in ("O(n)", "O(n log n)", "O(n^2)", "O(log n)"):
        assert keys[cls] > 0, keys
    code = " ".join(fenced(item.stem, "python")[0] for item in items_of(FAMILIES_BY_NAME["loop_complexity"]))
    assert "//= 2" in code and "*= 2" in code and "range(i)" in code


def test_http_options_never_hand_typed() -> None:
    for name in ("http_status_common", "http_status_advanced"):
        keys = set()
        for item in items_of(FAMILIES_BY_NAME[name]):
            keys.add(int(item.correct_text.split()[0]))
        assert len(keys) >= 8, keys
    advanced = {int(item.correct_text.split()[0]) for item in items_of(FAMILIES_BY_NAME["http_status_advanced"])}
    assert {304, 307, 409, 412, 415, 422} <= advanced


def test_chmod_umask_covers_both_shapes() -> None:
    stems = [item.stem for item in items_of(FAMILIES_BY_NAME["chmod_umask"], range(60))]
    assert any("umask " in stem for stem in stems)
    assert any(re.search(r"chmod [ugoa]+[+=-]", stem) for stem in stems)


def test_descriptive_stats_asks_each_statistic() -> None:
    stems = [item.stem for item in items_of(FAMILIES_BY_NAME["descriptive_stats"], range(80))]
    for word in ("median", "arithmetic mean", "sample standard deviation", "mode"):
        assert any(word in stem for stem in stems), word


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_verifiers_reject_a_wrong_key(name: str) -> None:
    """The independent checks are not vacuous: pointing the key at a distractor makes them fail."""
    verify = VERIFIERS[name]
    for item in items_of(FAMILIES_BY_NAME[name], range(25)):
        for wrong in (option.id for option in item.options if option.id != item.key):
            tampered = item.model_copy(update={"key": wrong})
            with pytest.raises(AssertionError):
                verify(tampered)
