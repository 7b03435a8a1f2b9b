"""After each request: its AuditEvent (when it touched patient data) and one log line without PHI.

Nothing in the log line is text the caller chose: the method is one of the known ones (else OTHER), the
route is the rule's template, and the request id is ours unless the caller's is a UUID."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from flask import Flask, Response, g, request
from sqlalchemy import Connection

from fhir_adapter.adapters import audit_store
from fhir_adapter.api.http import services
from fhir_adapter.domain.audit import AuditRow
from fhir_adapter.mapping.kinds import RESOURCE_KINDS
from fhir_adapter.service.audit import ACTIONS, new_id, outcome_of
from fhir_adapter.service.context import stamp

log = structlog.get_logger("fhir_adapter.http")
# A caller's request id is taken to correlate its logs with ours only in a form that cannot spell a name or
# a record number by accident.
REQUEST_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
FHIR_TYPES = frozenset((*RESOURCE_KINDS, "AuditEvent"))


def _begin() -> None:
    given = request.headers.get("X-Request-Id", "")
    g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex[:16]
    g.started = time.perf_counter()


def method() -> str:
    """The request's method when it is one HTTP defines for this API; any other string is the caller's."""
    return request.method if request.method in METHODS else "OTHER"


def route() -> str:
    """The route template, with the resource type filled in when it is one we serve: never an id, a query or
    a path segment of the caller's choosing (they may be PHI)."""
    if request.url_rule is None:
        return "?"
    rtype = (request.view_args or {}).get("rtype")
    return (
        request.url_rule.rule.replace("<rtype>", rtype)
        if isinstance(rtype, str) and rtype in FHIR_TYPES
        else request.url_rule.rule
    )


def _row(response: Response) -> AuditRow | None:
    """The audit record of this request, when it touched patient data and has none yet."""
    audit = g.get("audit")
    if audit is None or g.get("audited"):
        return None
    principal = g.get("principal")
    patients = sorted(audit["patients"])
    entities = [f"Patient/{p}" for p in patients] + sorted(audit.get("entities", ()))
    return AuditRow(
        id=new_id(),
        recorded=stamp(services().deps.clock()),
        org_id=principal.org.id if principal else None,
        agent_id=principal.agent_id if principal else None,
        agent_name=principal.name if principal else None,
        source_address=request.remote_addr,
        action=ACTIONS.get(audit["action"], "E"),
        interaction=audit["interaction"],
        method=method(),
        route=route(),
        status_code=response.status_code,
        outcome=outcome_of(response.status_code),
        patient_id=patients[0] if len(patients) == 1 else None,
        entities=entities,
        query=request.query_string.decode("latin-1") or None,
    )


def audit_in(conn: Connection, response: Response) -> None:
    """Store the request's audit record in the caller's transaction: a write and its audit commit together."""
    row = _row(response)
    if row is not None:
        audit_store.add_many(conn, [row])
        g.audited = True


def _audit(response: Response) -> None:
    row = _row(response)
    if row is not None:
        services().audit.add(row)
        g.audited = True


def _finish(response: Response) -> Response:
    _audit(response)
    response.headers["X-Request-Id"] = g.get("request_id", "")
    principal = g.get("principal")
    log.info(
        "request",
        method=method(),
        route=route(),
        status=response.status_code,
        ms=round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
        request_id=g.get("request_id"),
        client=principal.agent_id if principal else None,
        org=principal.org.id if principal else None,
    )
    return response


def register(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_finish)
