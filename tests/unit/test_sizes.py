"""Small pieces: every module of the package (the migrations aside) is at most 300 lines, and every function
at most 40, from its `def` to its last line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "fhir_adapter"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.relative_to(PACKAGE).parts)
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 40


def lines(source: str) -> int:
    return len(source.splitlines())


def long_functions(source: str, limit: int) -> dict[str, int]:
    """The functions and methods (nested ones too) longer than `limit` lines, by name: their spans."""
    return {
        node.name: span
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (span := (node.end_lineno or node.lineno) - node.lineno + 1) > limit
    }


def test_there_are_modules_to_measure() -> None:
    assert len(MODULES) > 100 and not any("migrations" in str(p) for p in MODULES)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_is_at_most_300_lines(path: Path) -> None:
    assert lines(path.read_text(encoding="utf-8")) <= MAX_MODULE_LINES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_function_is_at_most_40_lines(path: Path) -> None:
    assert long_functions(path.read_text(encoding="utf-8"), MAX_FUNCTION_LINES) == {}


def test_the_measures_see_what_is_too_long() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(40))
    source = f"def long():\n{body}\n\nclass C:\n    async def short(self):\n        return 1\n\n"
    source += f"    def method(self):\n        def inner():\n{body.replace('    ', '            ')}\n"
    assert long_functions(source, MAX_FUNCTION_LINES) == {"long": 41, "method": 42, "inner": 41}
    assert long_functions(source, 42) == {}
    assert lines("a\nb\n") == 2 and lines("a\nb") == 2
