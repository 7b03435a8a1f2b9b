"""The case-management API: clients, case episodes, assessments, service plans and referrals.

Each collection takes POST (create), GET (list, filtered and paged), and per record GET and PUT (update).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from flask import Response, request

from fhir_adapter.api.http import int_arg, json_body, json_response, require, services, touched
from fhir_adapter.api.http_errors import bad_request
from fhir_adapter.api.idempotency import run_write
from fhir_adapter.api.numbers import MAX_VERSION, whole_number
from fhir_adapter.api.registry import ApiBlueprint, Operation, path_param, query
from fhir_adapter.api.schemas.common import RECORD_ID_RE
from fhir_adapter.api.schemas.contract import SCHEMAS
from fhir_adapter.domain.stored import StoredRecord
from fhir_adapter.mapping.kinds import RECORD_KINDS, RecordKind
from fhir_adapter.service import records
from fhir_adapter.service.context import Principal
from fhir_adapter.service.projection import patient_id

bp = ApiBlueprint("records", __name__)
MAX_LIMIT, MAX_OFFSET = 200, 10**9
PAGE = (
    query("limit", "records per page (default 50)", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
    query("offset", "records to skip (default 0)", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}),
)


def _one_of(values: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


CLIENT_ID = {"type": "string", "pattern": RECORD_ID_RE.pattern}


def _filters(kind: RecordKind) -> dict[str, dict[str, Any]]:
    """The query filters of a collection: its client, its status, and its subtype (mapping/kinds.py); a
    kind without statuses (the client) has none."""
    if not kind.statuses:
        return {}
    out: dict[str, dict[str, Any]] = {"client_id": CLIENT_ID, "status": _one_of(kind.statuses)}
    if kind.subtype:
        values = kind.subtypes
        out[kind.subtype] = (
            {"type": "string", "pattern": values} if isinstance(values, str) else _one_of(values)
        )
    return out


FILTERS = {name: _filters(kind) for name, kind in RECORD_KINDS.items()}


def _check_filter(name: str, value: str, schema: dict[str, Any]) -> None:
    if "enum" in schema and value not in schema["enum"]:
        raise bad_request(f"one of {', '.join(schema['enum'])}", name)
    if "pattern" in schema and not re.match(schema["pattern"], value):
        raise bad_request(f"does not match {schema['pattern']}", name)


def schema_name(kind: RecordKind) -> str:
    return SCHEMAS[kind.name].__name__.removesuffix("Schema")


def record_response(
    principal: Principal, stored: StoredRecord, kind: RecordKind, status: int = 200
) -> Response:
    touched(patient_id(stored.client_id, principal.org.identity))
    headers = {"ETag": f'W/"{stored.version}"'}
    if status == 201:
        headers["Location"] = f"/api/v1/{kind.collection}/{quote(stored.record_id, safe='')}"
    return json_response(stored.data, status, headers)


def _if_match() -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    value = whole_number(raw.strip().removeprefix("W/").strip('"'), MAX_VERSION)
    if value is None:
        raise bad_request('If-Match takes a version as the ETag gave it: W/"3"', "If-Match")
    return value


REFUSALS = (400, 401, 403, 409, 413, 415, 422)


def _operations(kind: RecordKind) -> dict[str, tuple[str, Operation]]:
    """The four operations of a collection: endpoint suffix → (Flask rule, OpenAPI operation)."""
    base, one = f"/{kind.collection}", f"/{kind.collection}/<record_id>"
    return {
        "create": (base, _create_op(kind)),
        "list": (base, _list_op(kind)),
        "read": (one, _read_op(kind)),
        "update": (one, _update_op(kind)),
    }


def _scope(kind: RecordKind, access: str) -> str:
    """The SMART system scope that reads or writes the kind's FHIR type."""
    return f"system/{kind.fhir_type}.{access}"


def _record_id(kind: RecordKind) -> dict[str, Any]:
    """The path parameter naming one record."""
    return path_param("record_id", f"the {kind.label}'s id in the case-management system")


def _create_op(kind: RecordKind) -> Operation:
    """POST to the collection: create a record."""
    name, label = schema_name(kind), kind.label
    return Operation(
        f"/{kind.collection}",
        "post",
        f"Create a {label}",
        label,
        _scope(kind, "write"),
        name,
        name,
        201,
        errors=REFUSALS,
        idempotent=True,
    )


def _list_op(kind: RecordKind) -> Operation:
    """GET the collection: its records, filtered and paged."""
    name, label = schema_name(kind), kind.label
    filters = tuple(
        query(field, f"only {label}s with this {field.replace('_', ' ')}", schema)
        for field, schema in FILTERS[kind.name].items()
    )
    scope, page = _scope(kind, "read"), f"{name}Page"
    path = f"/{kind.collection}"
    return Operation(path, "get", f"List {label}s", label, scope, None, page, parameters=(*filters, *PAGE))


def _read_op(kind: RecordKind) -> Operation:
    """GET one record."""
    name, label, one = schema_name(kind), kind.label, f"/{kind.collection}/{{record_id}}"
    rid = _record_id(kind)
    return Operation(
        one, "get", f"Read a {label}", label, _scope(kind, "read"), None, name, parameters=(rid,)
    )


def _update_op(kind: RecordKind) -> Operation:
    """PUT one record: update it, If-Match naming the version it changes."""
    name, label = schema_name(kind), kind.label
    return Operation(
        f"/{kind.collection}/{{record_id}}",
        "put",
        f"Update a {label}",
        label,
        _scope(kind, "write"),
        name,
        name,
        parameters=(_record_id(kind),),
        errors=(*REFUSALS, 404, 412),
    )


def _create_view(kind: RecordKind) -> Callable[[], Response]:
    """The view that creates a record of the kind."""

    def create() -> Response:
        principal = require(kind.fhir_type, "create", "create")
        payload = json_body()
        return run_write(
            principal,
            lambda work: record_response(
                principal, records.create(work, services().deps, principal, kind, payload), kind, 201
            ),
        )

    return create


def _list_view(kind: RecordKind) -> Callable[[], Response]:
    """The view that lists the kind's records, filtered and paged."""
    allowed_filters = list(FILTERS[kind.name])

    def listing() -> Response:
        principal = require(kind.fhir_type, "search", "search-type")
        unknown = sorted(set(request.args) - set(allowed_filters) - {"limit", "offset"})
        if unknown:
            raise bad_request(f"unknown parameter (filters: {', '.join(allowed_filters)})", unknown[0])
        limit, offset = int_arg("limit", 50, 1, MAX_LIMIT), int_arg("offset", 0, 0, MAX_OFFSET)
        filters_given = {k: v for k, v in request.args.items() if k in allowed_filters}
        for name, value in filters_given.items():
            _check_filter(name, value, FILTERS[kind.name][name])
        with services().storage.reading() as work:
            total, found = records.listing(work, principal, kind, filters_given, limit, offset)
        touched(*(patient_id(s.client_id, principal.org.identity) for s in found))
        page: dict[str, Any] = {
            "total": total,
            "limit": limit,
            "offset": offset,
            "items": [s.data for s in found],
        }
        if offset + limit < total:
            following = {**filters_given, "limit": limit, "offset": offset + limit}
            page["next"] = f"/api/v1/{kind.collection}?{urlencode(following)}"
        return json_response(page)

    return listing


def _read_view(kind: RecordKind) -> Callable[[str], Response]:
    """The view that reads one record of the kind."""

    def read(record_id: str) -> Response:
        principal = require(kind.fhir_type, "read", "read")
        with services().storage.reading() as work:
            return record_response(principal, records.get(work, principal, kind, record_id), kind)

    return read


def _update_view(kind: RecordKind) -> Callable[[str], Response]:
    """The view that updates one record of the kind."""

    def update(record_id: str) -> Response:
        principal = require(kind.fhir_type, "update", "update")
        payload, if_match = json_body(), _if_match()
        return run_write(
            principal,
            lambda work: record_response(
                principal,
                records.update(work, services().deps, principal, kind, record_id, payload, if_match),
                kind,
            ),
        )

    return update


def _register(kind: RecordKind) -> None:
    """Serve a collection's four operations on the blueprint, each documented."""
    views: dict[str, Callable[..., Response]] = {
        "create": _create_view(kind),
        "list": _list_view(kind),
        "read": _read_view(kind),
        "update": _update_view(kind),
    }
    for suffix, (rule, op) in _operations(kind).items():
        bp.add_operation(rule, op, f"{kind.name}_{suffix}", views[suffix])


for _kind in RECORD_KINDS.values():
    _register(_kind)
