"""Every error, from any route, as one shape: a FHIR OperationOutcome naming the field or element."""

from __future__ import annotations

from typing import Any

import structlog
from flask import Flask, Response, g
from werkzeug.exceptions import HTTPException, SecurityError

from fhir_adapter.api.http import json_response
from fhir_adapter.api.http_errors import HttpError
from fhir_adapter.logs import raised_at
from fhir_adapter.service import errors as e
from fhir_adapter.service.errors import Problem, ServiceError
from fhir_adapter.service.ports import StorageUnavailable, TooCostly

log = structlog.get_logger("fhir_adapter.http")
HTTP_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
}


def operation_outcome(problems: list[Problem]) -> dict[str, Any]:
    issues = []
    for p in problems:
        issue: dict[str, Any] = {"severity": p.severity, "code": p.code, "diagnostics": p.message}
        if p.path:
            issue["expression"] = [p.path]
        issues.append(issue)
    return {"resourceType": "OperationOutcome", "issue": issues}


def outcome_response(status: int, problems: list[Problem], headers: dict[str, str] | None = None) -> Response:
    return json_response(operation_outcome(problems), status, headers, mimetype="application/fhir+json")


# The status of each kind of refusal the services make; a kind not named here is a 422.
STATUS: dict[type[ServiceError], int] = {
    e.Invalid: 422,
    e.UnknownReference: 422,
    e.RuleBroken: 422,
    e.NotFound: 404,
    e.Conflict: 409,
    e.StaleVersion: 412,
    e.Unauthenticated: 401,
    e.Forbidden: 403,
}
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="fhir-adapter"'}


def status_of(err: ServiceError) -> int:
    return next((STATUS[k] for k in type(err).__mro__ if k in STATUS), 422)


def _service_error(err: ServiceError) -> Response:
    headers = CHALLENGE if isinstance(err, e.Unauthenticated) else None
    return outcome_response(status_of(err), err.problems, headers)


def _http_refusal(err: HttpError) -> Response:
    return outcome_response(err.status, err.problems, err.headers)


def _http_error(err: HTTPException) -> Response:
    status = err.code or 500
    message = {
        404: "no such endpoint",
        405: "the endpoint does not take this method",
        413: "the request body is larger than 1 MiB",
    }.get(status, err.description or err.name)
    problem = Problem("", message, HTTP_CODES.get(status, "exception"))
    allowed = getattr(err, "valid_methods", None)
    headers = {"Allow": ", ".join(allowed)} if allowed else None
    return outcome_response(status, [problem], headers)


def _untrusted_host(err: SecurityError) -> Response:
    problem = Problem("Host", "the Host header names a host this service does not answer for", "invalid")
    return outcome_response(400, [problem])


def _unavailable(err: StorageUnavailable) -> Response:
    problem = Problem("", "the database is not available; try again", "transient")
    return outcome_response(503, [problem], {"Retry-After": "5"})


def _too_costly(err: TooCostly) -> Response:
    message = (
        "the request cost the database more than one request may (it ran past the statement timeout or "
        "was too large to run) and was stopped; narrow it: fewer parameters or values, a smaller _count"
    )
    return outcome_response(422, [Problem("", message, "too-costly")])


def _unexpected(err: Exception) -> Response:
    # The message and the locals may hold patient data: log the type and where it was raised, nothing else.
    where = raised_at(err)
    log.error("unexpected error", error=type(err).__name__, where=where, request_id=g.get("request_id"))
    problem = Problem("", f"internal error (request {g.get('request_id', '?')})", "exception")
    return outcome_response(500, [problem])


def register(app: Flask) -> None:
    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(HttpError, _http_refusal)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(SecurityError, _untrusted_host)
    app.register_error_handler(StorageUnavailable, _unavailable)
    app.register_error_handler(TooCostly, _too_costly)
    app.register_error_handler(Exception, _unexpected)
