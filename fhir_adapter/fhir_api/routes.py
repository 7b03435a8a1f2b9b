"""The /fhir routes: thin — parse, call the store or a service, answer in application/fhir+json."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from flask import Blueprint, Response, request

from fhir_adapter.adapters import audit_store, fhir_search, fhir_store
from fhir_adapter.adapters.db import reading
from fhir_adapter.api.errors import operation_outcome
from fhir_adapter.api.http import json_body, require, services, touched
from fhir_adapter.api.http_errors import HttpError, bad_request
from fhir_adapter.api.idempotency import run_write
from fhir_adapter.api.limits import MAX_BUNDLE_ENTRIES
from fhir_adapter.api.numbers import MAX_VERSION, whole_number
from fhir_adapter.domain.stored import Stored
from fhir_adapter.fhir_api import bundle_answers, disclosure, questionnaires
from fhir_adapter.fhir_api.bundles import references
from fhir_adapter.fhir_api.capability import WRITABLE, capability_statement
from fhir_adapter.fhir_api.search_params import (
    READABLE,
    AuditSearch,
    Ignored,
    Limits,
    Search,
    parse,
    parse_audit,
)
from fhir_adapter.mapping.validation import validate_fhir
from fhir_adapter.service import audit as audit_view
from fhir_adapter.service import bundle_intake, fhir_intake
from fhir_adapter.service.context import Principal, stamp
from fhir_adapter.service.errors import Problem, invalid, not_found
from fhir_adapter.service.ports import Work

bp = Blueprint("fhir", __name__)
bp.after_request(disclosure.guard)


def base_url() -> str:
    configured = services().settings.base_url
    return (configured.rstrip("/") + "/fhir") if configured else request.url_root.rstrip("/") + "/fhir"


def _known(rtype: str) -> None:
    if rtype not in READABLE:
        raise HttpError(404, [Problem("", f"this server does not serve {rtype}", "not-supported")])


def _version_headers(stored: Stored, location: bool = False) -> dict[str, str]:
    moment = datetime.strptime(stored.last_updated, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    headers = {"ETag": f'W/"{stored.version_id}"', "Last-Modified": format_datetime(moment, usegmt=True)}
    if location:
        headers["Location"] = f"{base_url()}/{stored.resource_type}/{stored.id}/_history/{stored.version_id}"
    return headers


def _limits() -> Limits:
    settings = services().settings
    return Limits(settings.search_max_parameters, settings.search_max_values)


def _lenient() -> bool:
    return "handling=lenient" in request.headers.get("Prefer", "")


def _left_out(ignored: Ignored) -> dict[str, Any] | None:
    """The OperationOutcome that tells a lenient search which parameters it left out."""
    if not ignored:
        return None
    return operation_outcome(
        [Problem(name, f"left out: {why}", "not-supported", "warning") for name, _, why in ignored]
    )


@bp.get("/metadata")
def metadata() -> Response:
    return disclosure.plain(capability_statement(base_url(), stamp(services().deps.clock())[:10]))


@bp.get("/<rtype>/<rid>")
def read(rtype: str, rid: str) -> Response:
    if rtype == "AuditEvent":
        return audit_read(rid)
    if rtype == "Questionnaire":
        return questionnaires.read(rid)
    _known(rtype)
    principal = require(rtype, "read", "read")
    with reading(services().engine) as conn:
        stored = fhir_store.read(conn, principal.org.id, rtype, rid)
    return _serve(principal, stored, f"{rtype}/{rid}")


@bp.get("/<rtype>/<rid>/_history/<vid>")
def vread(rtype: str, rid: str, vid: str) -> Response:
    _known(rtype)
    principal = require(rtype, "read", "vread")
    version = whole_number(vid, MAX_VERSION)
    if version is None:
        raise not_found(f"{rtype}/{rid}/_history/{vid}")
    with reading(services().engine) as conn:
        stored = fhir_store.vread(conn, principal.org.id, rtype, rid, version)
    return _serve(principal, stored, f"{rtype}/{rid}/_history/{vid}")


def _serve(principal: Principal, stored: Stored | None, what: str) -> Response:
    """A read or vread: 404 for what is not there or not to be seen, 410 for a deletion."""
    if stored is None:
        raise not_found(what)
    answer = disclosure.one(principal, stored, what, _version_headers(stored))
    if stored.deleted:
        raise HttpError(410, [Problem("", f"{what} is deleted", "deleted")])
    return answer


@bp.get("/<rtype>")
def search(rtype: str) -> Response:
    if rtype == "AuditEvent":
        return audit_search()
    if rtype == "Questionnaire":
        return questionnaires.search()
    _known(rtype)
    principal = require(rtype, "search", "search-type")
    s = parse(rtype, list(request.args.items(multi=True)), _lenient(), _limits())
    org, allowed = principal.org.id, principal.restricted_access
    with reading(services().engine) as conn:
        total, matches = fhir_search.search(conn, org, s.criteria, s.count, s.offset, allowed)
        included = []
        for _, element in s.includes:
            refs = [ref for m in matches for ref in references(m.data, element)]
            included += fhir_search.read_many(conn, org, refs, allowed)
        for source, param in s.revincludes:
            targets = [f"{rtype}/{m.id}" for m in matches]
            included += fhir_search.referring(conn, org, source, param, targets, allowed)
    return disclosure.searchset(principal, matches, included, **_page(rtype, total, s))


def _page(rtype: str, total: int, s: Search | AuditSearch) -> dict[str, Any]:
    """What a searchset Bundle says besides its resources."""
    return {
        "base": base_url(),
        "rtype": rtype,
        "total": total,
        "used": s.used,
        "count": s.count,
        "offset": s.offset,
        "stamp": stamp(services().deps.clock()),
        "outcome": _left_out(s.ignored),
    }


def _write(rtype: str, rid: str | None) -> Response:
    if rtype not in WRITABLE:
        raise HttpError(
            405,
            [Problem("", f"{rtype} is read-only here (writable: {', '.join(WRITABLE)})", "not-supported")],
        )
    principal = require(rtype, "update" if rid else "create", "update" if rid else "create")
    resource = json_body()
    if not isinstance(resource, dict) or resource.get("resourceType") != rtype:
        raise invalid(f"the body is not a {rtype}", "resourceType")
    if rid is not None and resource.get("id") != rid:
        raise bad_request(f"the body's id must be {rid}, as in the URL", "id")

    def act(work: Work) -> Response:
        received = fhir_intake.receive(work, services().deps, principal, resource, rid)
        touched(received.stored.patient_id)
        status = 201 if received.created else 200
        if "return=OperationOutcome" in request.headers.get("Prefer", ""):
            problems = [Problem(f.path, f.message, "informational", f.severity) for f in received.findings]
            outcome = operation_outcome(problems or [Problem("", "stored", "informational", "information")])
            return disclosure.plain(outcome, status)
        headers = _version_headers(received.stored, location=True)
        return Response(received.stored.data, status, headers, mimetype=disclosure.FHIR_JSON)

    return disclosure.write_answer(principal, run_write(principal, act))


@bp.post("")
@bp.post("/")
def bundle() -> Response:
    """A transaction, batch or collection Bundle of what an EHR writes: a Bundle of what became of each entry."""
    bundle = json_body()
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise invalid("the body is not a Bundle", "resourceType")
    if len(bundle.get("entry") or []) > MAX_BUNDLE_ENTRIES:
        raise invalid(f"a Bundle of more than {MAX_BUNDLE_ENTRIES} entries", "Bundle.entry")
    services().auth.authenticate(request.headers.get("Authorization"))
    found = bundle_intake.entries(bundle)
    for rtype in sorted({e.resource["resourceType"] for e in found if not e.writes}):
        require(rtype, "read", "batch")  # the patients the Bundle names, which it does not write
    types = sorted({e.resource["resourceType"] for e in found if e.writes})
    principal = require(types[0] if types else "Bundle", "create", "batch")
    for rtype in types[1:]:  # a scope for every type the Bundle writes
        require(rtype, "create", "batch")

    def act(work: Work) -> Response:
        results = bundle_intake.receive_bundle(work, services().deps, principal, bundle)
        for result in results:
            if result.received is not None:
                touched(result.received.stored.patient_id)
        return disclosure.entry_answers(bundle_answers.response_bundle(bundle["type"], results))

    return disclosure.write_answer(principal, run_write(principal, act))


@bp.post("/<rtype>")
def create(rtype: str) -> Response:
    return _write(rtype, None)


@bp.put("/<rtype>/<rid>")
def update(rtype: str, rid: str) -> Response:
    return _write(rtype, rid)


@bp.post("/$validate")
@bp.post("/<rtype>/$validate")
def validate(rtype: str | None = None) -> Response:
    services().auth.authenticate(request.headers.get("Authorization"))
    data = json_body()
    if isinstance(data, dict) and data.get("resourceType") == "Parameters":
        parameters = data.get("parameter")
        data = next(
            (
                p.get("resource")
                for p in (parameters if isinstance(parameters, list) else [])
                if isinstance(p, dict) and p.get("name") == "resource"
            ),
            None,
        )
    if not isinstance(data, dict):
        raise invalid("give a resource, or Parameters with a parameter named resource", "resource")
    if rtype and data.get("resourceType") != rtype:
        raise invalid(f"the resource is not a {rtype}", "resourceType")
    if data.get("resourceType") == "Bundle" and len(data.get("entry") or []) > MAX_BUNDLE_ENTRIES:
        raise invalid(f"a Bundle of more than {MAX_BUNDLE_ENTRIES} entries", "Bundle.entry")
    issues = validate_fhir(data, services().deps.catalogue, received=True)
    problems = [
        Problem(i.path, i.message, "invalid" if i.severity == "error" else "informational", i.severity)
        for i in issues
    ]
    return disclosure.plain(
        operation_outcome(problems or [Problem("", "valid", "informational", "information")])
    )


def audit_read(audit_id: str) -> Response:
    principal = require("AuditEvent", "read", "read")
    services().audit.flush()  # what this process has queued is visible to its own next request
    with reading(services().engine) as conn:
        row = audit_store.read(conn, principal.org.id, audit_id)
    if row is None:
        raise not_found(f"AuditEvent/{audit_id}")
    return disclosure.one_json(principal, audit_view.to_fhir_audit_event(row))


def audit_search() -> Response:
    principal = require("AuditEvent", "search", "search-type")
    services().audit.flush()
    s = parse_audit(list(request.args.items(multi=True)), _lenient(), _limits())
    with reading(services().engine) as conn:
        total, rows = audit_store.search(conn, principal.org.id, s.filters, s.count, s.offset)
    events = [audit_view.to_fhir_audit_event(r) for r in rows]
    return disclosure.audit_searchset(principal, events, **_page("AuditEvent", total, s))
