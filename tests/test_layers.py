"""The packages form layers: nothing below the ingress imports it, and no two packages import each other,
directly or round a longer cycle (imports are read from the source, top level and inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = sorted(
    path.parent.name for path in ROOT.glob("*/__init__.py") if path.parent.name not in {"tests", "bench", "deploy"}
)
BELOW_THE_INGRESS = [
    "actors", "graphs", "adaptive", "persistence", "domain", "questions", "simulation", "generation", "config",
    "llm", "wire",
]  # fmt: skip


def imported_packages(package: str) -> set[str]:
    found: set[str] = set()
    for source in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            found |= {name.split(".")[0] for name in names if name.split(".")[0] in PACKAGES}
    return found - {package}


GRAPH = {package: imported_packages(package) for package in PACKAGES}


@pytest.mark.parametrize("package", BELOW_THE_INGRESS)
def test_nothing_below_the_ingress_imports_it(package: str) -> None:
    assert "serve_app" not in GRAPH[package]
    assert "cli" not in GRAPH[package]


def test_no_import_cycles_between_packages() -> None:
    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(GRAPH[start])
        while todo:
            package = todo.pop()
            if package not in seen:
                seen.add(package)
                todo.extend(GRAPH[package])
        return seen

    cycles = sorted(package for package in PACKAGES if package in reachable(package))
    assert cycles == [], {package: sorted(GRAPH[package]) for package in cycles}
