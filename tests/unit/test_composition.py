"""The composition: nothing happens at import time (importing every module of the package makes no engine,
no app and no catalogue, opens no mapping file and connects nowhere), and the app factory registers every
blueprint of the API by name."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

from fhir_adapter import api
from fhir_adapter.api.registry import ApiBlueprint
from fhir_adapter.app import create_app
from fhir_adapter.bootstrap import bootstrap
from fhir_adapter.config import Settings
from fhir_adapter.mapping.catalogue import Catalogue
from tests.conftest import ROOT

# The guards go in before the package is imported: a module that builds at import meets them.
GUARDED_IMPORTS = r"""
import importlib, os, pkgutil, sys

import flask
import sqlalchemy
import sqlalchemy.engine

MAPPINGS = os.path.realpath(sys.argv[1])


class Refused(BaseException):
    # Not an Exception: a module catching Exception around its work at import cannot swallow it.
    pass


def refuse(what):
    def refused(*args, **kwargs):
        raise Refused(what)

    return refused


def under_mappings(path):
    try:
        path = os.fsdecode(os.fspath(path))
    except TypeError:  # a file descriptor
        return False
    return os.path.realpath(path).startswith(MAPPINGS + os.sep)


def audit(event, args):
    if event == "open" and under_mappings(args[0]):
        raise Refused(f"opened {args[0]}")
    if event in ("sqlite3.connect", "socket.connect"):
        raise Refused(event)


sqlalchemy.create_engine = sqlalchemy.engine.create_engine = refuse("an engine")
flask.Flask.__init__ = refuse("a Flask app")
sys.addaudithook(audit)
import fhir_adapter.mapping.loader as loader

loader.load_catalogue = refuse("the catalogue")

import fhir_adapter


def failed(name):
    raise ImportError(name)


names = [m.name for m in pkgutil.walk_packages(fhir_adapter.__path__, "fhir_adapter.", onerror=failed)]
for name in names:
    importlib.import_module(name)
print("\n".join(names))

# The guards were live all along: each of them refuses when used now.
from fhir_adapter.adapters.db import make_engine
from fhir_adapter.mapping.loader import load_catalogue

for attempt in (
    lambda: make_engine("sqlite://"),
    lambda: load_catalogue(None, None),
    lambda: flask.Flask("x"),
    lambda: open(os.path.join(sys.argv[1], "project.yaml"), "rb"),
):
    try:
        attempt()
    except Refused as refusal:
        print(f"refused: {refusal}")
"""


def test_importing_every_module_builds_nothing() -> None:
    """In a fresh interpreter, so that what the test run imported before cannot hide an import that works."""
    done = subprocess.run(
        [sys.executable, "-c", GUARDED_IMPORTS, str(ROOT / "mappings")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    imported = {line for line in lines if line.startswith("fhir_adapter.")}
    for module in (
        "fhir_adapter.app",
        "fhir_adapter.bootstrap",
        "fhir_adapter.cli",
        "fhir_adapter.api.records",
    ):
        assert module in imported
    assert len(imported) > 80
    assert [line for line in lines if line.startswith("refused: ")] == [
        "refused: an engine",
        "refused: the catalogue",
        "refused: a Flask app",
        f"refused: opened {ROOT / 'mappings' / 'project.yaml'}",
    ]


def test_the_app_registers_every_api_blueprint_and_documents_every_route(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    """Registration is explicit in create_app: a blueprint left out would take its routes out of the API
    and of its document together, so this compares both with the modules that define blueprints."""
    services = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'app.db'}"), catalogue=catalogue)
    try:
        app = create_app(services=services)
        document = app.test_client().get("/api/v1/openapi.json").get_json()
    finally:
        services.close()
    defined = {
        module.bp.name
        for info in pkgutil.iter_modules(api.__path__, "fhir_adapter.api.")
        if isinstance(getattr(module := importlib.import_module(info.name), "bp", None), ApiBlueprint)
    }
    assert defined == {"records", "documents", "delivery", "history", "intake", "inbound"}
    assert defined <= set(app.blueprints)
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1")), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in defined
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert served == documented
    assert {rule.endpoint.split(".")[0] for rule in app.url_map.iter_rules()} >= defined  # each serves


def test_only_the_composition_root_builds() -> None:
    """Engines, the mappings, apps and workers are made in bootstrap.py alone (the commands ask it)."""
    builders = {"make_engine", "load_catalogue", "create_app", "Worker"}
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "fhir_adapter").rglob("*.py")):
        calls = {
            node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            for node in ast.walk(ast.parse(path.read_text(), str(path)))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute)
        }
        if calls & builders:
            found[path.relative_to(ROOT).as_posix()] = calls & builders
    assert found == {"fhir_adapter/bootstrap.py": builders}
