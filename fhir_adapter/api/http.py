"""What every route shares: the services, the JSON body with its limits, the caller and its scopes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from flask import Response, current_app, g, request
from sqlalchemy import Engine
from werkzeug.exceptions import RequestEntityTooLarge

from fhir_adapter.adapters.audit_writer import AuditWriter
from fhir_adapter.adapters.unit_of_work import SqlStorage
from fhir_adapter.api.http_errors import HttpError, bad_request
from fhir_adapter.api.limits import body_limit, first_violation
from fhir_adapter.api.numbers import number_arg
from fhir_adapter.api.registry import query
from fhir_adapter.api.schemas.common import RECORD_ID_RE
from fhir_adapter.config import Settings
from fhir_adapter.service import scopes
from fhir_adapter.service.auth import Authenticator
from fhir_adapter.service.context import Principal
from fhir_adapter.service.errors import Problem, invalid, not_found
from fhir_adapter.service.records import Deps

JSON_TYPES = ("application/json", "application/fhir+json")


@dataclass(frozen=True)
class Services:
    """Everything the routes use; built once by bootstrap, overridable by tests."""

    settings: Settings
    engine: Engine
    deps: Deps
    auth: Authenticator
    audit: AuditWriter
    # What the next admission push would write: (org, EHR, client) → the preview (delivery/preview.py).
    previews: Callable[[str, str, str], dict[str, Any]] | None = None

    @property
    def storage(self) -> SqlStorage:
        """Units of work on the web app's database, as the services take them."""
        return SqlStorage(self.engine)

    def close(self) -> None:
        """Write what is queued and let go of the database."""
        self.audit.close()
        self.engine.dispose()


def services() -> Services:
    return current_app.extensions["fhir_adapter"]  # type: ignore[no-any-return]


def refuse_nul() -> None:
    """A NUL in the path, the query or a header is never meant (and PostgreSQL text cannot hold it): 400."""
    if "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
        raise HttpError(400, [Problem("", "a NUL character in the URL", "invalid")])
    for name, value in request.headers.items():
        if "\x00" in value:
            raise HttpError(400, [Problem(name, f"a NUL character in the header {name}", "invalid")])


def limit_body() -> None:
    """413 for a body over its limit (limits.body_limit), however it came. Werkzeug refuses a Content-Length
    over the largest limit but cuts a chunked body at it without a word, so the body is read here, once,
    with a byte to spare (MAX_CONTENT_LENGTH is that limit + 1): a body longer shows itself by its length."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    limit = body_limit(request.path, services().settings.attachment_max_bytes)
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    if len(request.get_data(cache=True)) > limit:
        raise RequestEntityTooLarge()


def json_body() -> Any:
    """The request's JSON: 415 for another media type, 400 when it does not parse, 422 beyond the bounds."""
    mimetype = request.mimetype
    if mimetype not in JSON_TYPES:
        raise HttpError(
            415,
            [
                Problem(
                    "",
                    f"send JSON (Content-Type: application/json), not {mimetype or 'nothing'}",
                    "not-supported",
                )
            ],
        )
    raw = request.get_data(cache=True)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        if "depth limit" in str(err).lower() or "recursion" in str(err).lower():
            raise invalid("nested too deeply") from err
        raise HttpError(400, [Problem("", f"not JSON: {err}", "structure")]) from err
    violation = first_violation(data, services().settings.attachment_max_bytes)
    if violation:
        raise invalid(violation[1], violation[0])
    return data


def require(resource_type: str, action: str, interaction: str) -> Principal:
    """The caller, who must hold a scope for `action` on `resource_type`; the request is audited either way."""
    g.audit = {"action": action, "interaction": interaction, "patients": set()}
    target = request.view_args or {}
    if isinstance(target.get("rtype"), str) and isinstance(target.get("rid"), str):
        # The resource asked for, also when the access is refused: Type/id or Type/id/_history/n.
        version = f"/_history/{target['vid']}" if "vid" in target else ""
        g.audit["entities"] = [f"{target['rtype']}/{target['rid']}{version}"]
    principal = services().auth.authenticate(request.headers.get("Authorization"))
    g.principal = principal
    if not scopes.allows(principal.grants, resource_type, action):
        needed = scopes.needed(resource_type, action)
        raise HttpError(403, [Problem("", f"this needs the scope {needed}", "forbidden")])
    return principal


def touched(*patient_ids: str | None) -> None:
    """Record which patients' data the request read or wrote, for its AuditEvent."""
    audit = g.get("audit")
    if audit is not None:
        audit["patients"].update(p for p in patient_ids if p)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None, mimetype: str = "application/json"
) -> Response:
    body = data if isinstance(data, bytes) else orjson.dumps(data)
    return Response(body, status=status, headers=headers, mimetype=mimetype)


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    return default if raw is None else number_arg(raw, name, high, low)


def client_id_arg() -> str | None:
    """The `client_id` query filter, which must look like a record id (400 otherwise)."""
    value = request.args.get("client_id")
    if value is not None and not RECORD_ID_RE.fullmatch(value):
        raise bad_request("not a record id", "client_id")
    return value


MAX_ROW_ID = 2**31 - 1


@dataclass(frozen=True)
class ListQuery:
    """The filters and keyset page of a list of jobs or messages: ?state=&client_id=&after=&limit=."""

    state: str | None
    client_id: str | None
    after: int
    limit: int

    def page(
        self, rows: list[Any], key: Callable[[Any], int], to_json: Callable[[Any], Any], path: str
    ) -> Response:
        """`rows` fetched with limit + 1: the page, and a next link when there is more."""
        out: dict[str, Any] = {"items": [to_json(row) for row in rows[: self.limit]]}
        if len(rows) > self.limit:
            args = {k: v for k, v in request.args.items() if k != "after"}
            out["next"] = f"{path}?{urlencode({**args, 'after': key(rows[self.limit - 1])})}"
        return json_response(out)


def list_query(states: tuple[str, ...]) -> ListQuery:
    state = request.args.get("state")
    if state is not None and state not in states:
        raise bad_request(f"state is one of {', '.join(states)}", "state")
    after, limit = int_arg("after", 0, 0, MAX_ROW_ID), int_arg("limit", 50, 1, 200)
    return ListQuery(state, client_id_arg(), after, limit)


def list_parameters(states: tuple[str, ...], noun: str) -> tuple[dict[str, Any], ...]:
    """The OpenAPI parameters `list_query` reads."""
    return (
        query("state", f"only {noun} in this state", {"type": "string", "enum": list(states)}),
        query(
            "client_id", f"only {noun} about this client", {"type": "string", "pattern": RECORD_ID_RE.pattern}
        ),
        query(
            "after",
            f"{noun} after this id (paging)",
            {"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID},
        ),
        query("limit", f"{noun} per page (default 50)", {"type": "integer", "minimum": 1, "maximum": 200}),
    )


def row_id(value: int, what: str) -> int:
    """A job's or a message's id from the path: out of range is not found, like any unknown id."""
    if not 1 <= value <= MAX_ROW_ID:
        raise not_found(f"{what} {value}")
    return value
