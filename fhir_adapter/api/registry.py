"""Routes declare their contract once: the Flask rule and the OpenAPI operation come from one call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint


@dataclass(frozen=True)
class Operation:
    path: str  # OpenAPI form, relative to /api/v1: /clients/{record_id}
    method: str
    summary: str
    tag: str
    scope: str | None = None
    request: str | None = None  # a component schema name
    response: str | None = None
    status: int = 200
    parameters: tuple[dict[str, Any], ...] = ()
    errors: tuple[int, ...] = (400, 401, 403, 404, 422)
    idempotent: bool = False  # takes an Idempotency-Key
    description: str = ""
    media: str = "application/json"  # of the request body
    also: str | None = None  # a media type (text) every answer comes in too, when the client accepts it
    returns: tuple[str, ...] = ()  # the media types of an answer that is bytes, not JSON (a download)


class ApiBlueprint(Blueprint):
    """A blueprint of the case-management API: each route is served and documented by one call, and the
    OpenAPI document is made of the operations of the blueprints the app registers."""

    def __init__(self, name: str, import_name: str) -> None:
        super().__init__(name, import_name)
        self.operations: list[Operation] = []

    def add_operation(self, rule: str, op: Operation, endpoint: str, view: Callable[..., Any]) -> None:
        """Serve `view` at `rule` and document it as `op`."""
        self.add_url_rule(rule, endpoint, view, methods=[op.method])
        self.operations.append(op)


def _parameter(where: str, name: str, description: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema or {"type": "string"},
    }


def query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return _parameter("query", name, description, schema)


def path_param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return _parameter("path", name, description, schema)
