"""Dependencies point inward: the domain imports the standard library and itself, nothing else; the
mapping imports no framework and nothing but the domain; the services no framework (web, contract, HTTP
client or database), no adapter and no entry point; and no two parts of the package import each other,
however indirectly."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "fhir_adapter"
DOMAIN = sorted((PACKAGE / "domain").rglob("*.py"))


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module the source imports, wherever the import stands (functions, TYPE_CHECKING blocks),
    relative imports resolved against `module`."""
    found: set[str] = set()
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, node.module] if node.module else base)
            found.add(name)
            if node.module is None:  # `from . import x`: x is a module of the package
                found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def outside(names: set[str]) -> set[str]:
    """Those that are neither the standard library nor the domain."""
    return {
        n
        for n in names
        if n.split(".")[0] not in sys.stdlib_module_names
        and n != "fhir_adapter.domain"
        and not n.startswith("fhir_adapter.domain.")
    }


def test_the_domain_has_modules_to_check() -> None:
    assert {p.stem for p in DOMAIN} >= {"__init__", "audit", "events", "sync", "inbound", "records"}


@pytest.mark.parametrize("path", DOMAIN, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_domain_module_imports_only_the_standard_library_and_the_domain(path: Path) -> None:
    names = imported(path.read_text(encoding="utf-8"), _module(path), path.name == "__init__.py")
    assert outside(names) == set(), f"{path.relative_to(PACKAGE)} imports {sorted(outside(names))}"


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("import sqlalchemy", {"sqlalchemy"}),
        ("import os.path, orjson", {"orjson"}),
        ("from fhir_adapter.adapters.outbox_store import Job", {"fhir_adapter.adapters.outbox_store"}),
        ("from ..adapters import ehr_store", {"fhir_adapter.adapters"}),
        ("from .. import config", {"fhir_adapter", "fhir_adapter.config"}),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from flask import Response", {"flask"}),
        ("def f():\n    import requests", {"requests"}),
        ("from . import events\nfrom .records import CaseFile\nimport enum, dataclasses", set()),
        ("from __future__ import annotations\nfrom fhir_adapter.domain import sync", set()),
    ],
)
def test_the_check_finds_every_import_from_outside(source: str, bad: set[str]) -> None:
    assert outside(imported(source, "fhir_adapter.domain.sync")) == bad


FRAMEWORKS = ("flask", "werkzeug", "marshmallow", "requests", "sqlalchemy", "psycopg", "alembic")
MAPPING = sorted((PACKAGE / "mapping").rglob("*.py"))
SERVICE = sorted((PACKAGE / "service").rglob("*.py"))
ENTRY_POINTS = (
    "api",
    "fhir_api",
    "delivery",
    "cli",
    "cli_service",
    "cli_delivery",
    "cli_events",
    "bootstrap",
    "app",
)


def _imports_of(path: Path) -> set[str]:
    return imported(path.read_text(encoding="utf-8"), _module(path), path.name == "__init__.py")


def _part(name: str) -> str:
    """The part of the package a module belongs to: fhir_adapter.service.records → service."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


@pytest.mark.parametrize("path", MAPPING, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_mapping_module_imports_no_framework_and_only_the_domain(path: Path) -> None:
    names = _imports_of(path)
    assert {n for n in names if n.split(".")[0] in FRAMEWORKS} == set()
    ours = {_part(n) for n in names if n.startswith("fhir_adapter.")}
    assert ours <= {"domain", "mapping"}, f"{path.relative_to(PACKAGE)} imports {sorted(ours)}"


@pytest.mark.parametrize("path", SERVICE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_service_module_imports_no_framework_adapter_or_entry_point(path: Path) -> None:
    """The services reach the database, the EHRs and the contract only through the interfaces they are
    handed (service/ports.py, service/stores.py)."""
    names = _imports_of(path)
    frameworks = {n for n in names if n.split(".")[0] in FRAMEWORKS}
    outer = {n for n in names if n.startswith("fhir_adapter.") and _part(n) in (*ENTRY_POINTS, "adapters")}
    assert frameworks == set() and outer == set(), (
        f"{path.relative_to(PACKAGE)} imports {sorted(frameworks | outer)}"
    )


def test_no_two_parts_of_the_package_import_each_other() -> None:
    edges: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        source = _part(_module(path))
        targets = {_part(n) for n in _imports_of(path) if n.startswith("fhir_adapter.")}
        edges.setdefault(source, set()).update(targets - {source, "fhir_adapter"})

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(
            t == goal or (t not in seen and reaches(t, goal, seen | {t})) for t in edges.get(start, ())
        )

    cycles = sorted(a for a in edges if reaches(a, a, {a}))
    assert cycles == [], {a: sorted(edges[a]) for a in cycles}
