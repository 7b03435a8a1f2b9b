"""Writes in one unit of work, with the Idempotency-Key of the request kept in the same transaction.

A repeat of a POST with the same key and body gets the first response (header `Idempotent-Replayed:
true`); the same key with another body is refused with 422; concurrent repeats wait for the first and then
replay it. Only successful responses are kept: a request refused with a 4xx may be corrected and resent.
https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import orjson
from flask import Response, request
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from fhir_adapter.adapters import idempotency_store
from fhir_adapter.adapters.db import writing
from fhir_adapter.adapters.unit_of_work import SqlWork
from fhir_adapter.api.audit_hook import audit_in
from fhir_adapter.api.http import services
from fhir_adapter.api.http_errors import HttpError
from fhir_adapter.service.context import Principal, stamp
from fhir_adapter.service.errors import Problem, conflict
from fhir_adapter.service.ports import Work

KEY = re.compile(r"[\x20-\x7e]{1,255}")  # a structured-field string: printable ASCII, no control characters
KEPT_HEADERS = ("Location", "ETag", "Content-Location", "Last-Modified")


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(kept: idempotency_store.Kept, fingerprint: str) -> Response:
    if kept.fingerprint != fingerprint:
        raise HttpError(
            422,
            [Problem("Idempotency-Key", "this key was used for a different request", "business-rule")],
        )
    headers = orjson.loads(kept.headers) | {"Idempotent-Replayed": "true"}
    return Response(kept.body, status=kept.status_code, headers=headers)


def _keep(conn: Connection, org: str, key: str, response: Response) -> None:
    headers = {h: response.headers[h] for h in KEPT_HEADERS if h in response.headers}
    headers["Content-Type"] = response.content_type or "application/json"
    body = response.get_data(as_text=True)
    idempotency_store.keep(conn, org, key, response.status_code, orjson.dumps(headers).decode(), body)


def run_write(principal: Principal, act: Callable[[Work], Response]) -> Response:
    """Run `act` in one unit of work, honouring the request's Idempotency-Key."""
    engine = services().engine
    key = request.headers.get("Idempotency-Key")
    if key is not None and not KEY.fullmatch(key):
        message = "a key is 1 to 255 printable ASCII characters"
        raise HttpError(400, [Problem("Idempotency-Key", message, "invalid")])
    fingerprint = _fingerprint() if key else ""
    org = principal.org.id
    for _ in range(3):
        try:
            with writing(engine) as conn:
                if key is not None:
                    kept = idempotency_store.get(conn, org, key)
                    if kept is not None:
                        return _replay(kept, fingerprint)
                    idempotency_store.claim(conn, org, key, fingerprint, stamp(services().deps.clock()))
                response = act(SqlWork(conn))
                if key is not None:
                    _keep(conn, org, key, response)
                audit_in(conn, response)
                return response
        except IntegrityError as err:
            if key is None:
                raise conflict("a concurrent request wrote the same record; read it and try again") from err
            # Another request with this key committed first: the next round replays its response.
    raise conflict("the request could not be completed alongside concurrent ones; try again")
