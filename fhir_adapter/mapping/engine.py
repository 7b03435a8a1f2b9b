"""Apply a structure mapping: each element of the target resource comes from a value, a field or a function."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fhir_adapter.mapping.errors import MappingConfigError
from fhir_adapter.mapping.terminology import CodeTable

if TYPE_CHECKING:
    from fhir_adapter.mapping.catalogue import Catalogue, Structure
    from fhir_adapter.mapping.identity import Identity

JSON = dict[str, Any]
Function = Callable[["Scope"], Any]
FUNCTIONS: dict[str, Function] = {}


def mapping_function(fn: Function) -> Function:
    """Register a function that structure files may name with `fn:`."""
    FUNCTIONS[fn.__name__] = fn
    return fn


@dataclass
class MapContext:
    """What every mapping needs: the catalogue, our identity, the client, and the Bundle's reference index."""

    catalogue: Catalogue
    identity: Identity
    client_id: str
    in_bundle: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, record id) → fullUrl

    def reference(self, kind: str, record_id: str, resource_type: str, display: str | None = None) -> JSON:
        """A reference to one of our records: literal inside the Bundle, else logical by business identifier."""
        ref: JSON
        url = self.in_bundle.get((kind, record_id))
        if url:
            ref = {"reference": url}
        else:
            ref = {"type": resource_type, "identifier": self.identity.identifier(kind, record_id)}
        if display:
            ref["display"] = display
        return ref


@dataclass(frozen=True)
class Scope:
    """The record being mapped, its parent record (a goal's plan), and what the mapping is about within it."""

    record: Any
    ctx: MapContext
    structure: Structure
    parent: Any = None
    detail: Any = None
    path: str = ""


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def apply_structure(scope: Scope) -> JSON:
    """Build one resource; elements without a value are left out (never empty strings, arrays or nulls)."""
    resource: JSON = {"resourceType": scope.structure.resource}
    for element, rule in scope.structure.rules:
        value = rule(scope)
        if is_empty(value):
            continue
        if element.endswith("[x]"):
            resource.update(value)
        else:
            resource[element] = value
    return resource


def _getter(path: str) -> Callable[[Any], Any]:
    parts = path.split(".")

    def get(record: Any) -> Any:
        for part in parts:
            record = getattr(record, part, None)
            if record is None:
                return None
        return record

    return get


def _table_rule(get: Callable[[Any], Any], table: CodeTable, spec: JSON) -> Callable[[Scope], Any]:
    column, style = spec.get("column"), spec.get("as", "code" if spec.get("column") else "concept")

    def lookup(scope: Scope) -> Any:
        key = get(scope.record)
        if key is None:
            return None
        if column:
            return table.code(key, column)
        return table.coding(key) if style == "coding" else table.concept(key)

    return lookup


def compile_rule(where: str, spec: JSON, tables: dict[str, CodeTable]) -> Callable[[Scope], Any]:
    if "value" in spec:
        constant = spec["value"]
        if isinstance(constant, (dict, list)):  # every resource gets its own copy
            return lambda _scope: copy.deepcopy(constant)
        return lambda _scope: constant
    if "fn" in spec:
        if spec["fn"] not in FUNCTIONS:
            raise MappingConfigError(f"{where}: no mapping function named {spec['fn']}")
        return FUNCTIONS[spec["fn"]]
    get = _getter(spec["field"])
    if "table" not in spec:
        return lambda scope: get(scope.record)
    table = tables.get(spec["table"])
    if table is None:
        raise MappingConfigError(f"{where}: no table {spec['table']}")
    if spec.get("column") and spec["column"] not in table.columns:
        raise MappingConfigError(f"{where}: table {table.name} has no column {spec['column']}")
    return _table_rule(get, table, spec)


def compile_structure(path: Path, data: JSON, tables: dict[str, CodeTable]) -> Structure:
    from fhir_adapter.mapping.catalogue import Structure

    rules = tuple(
        (element, compile_rule(f"{path}: elements/{element}", spec, tables))
        for element, spec in data["elements"].items()
    )
    return Structure(path.stem, data["resource"], data["identity"], rules, data.get("profile"))
