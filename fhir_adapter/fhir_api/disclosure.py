"""The one way a resource leaves /fhir: each must pass the caller's scopes for its own type.

A caller may see a resource when its token grants read or search on the resource's type (SMART v1 `.read`,
v2 `.r` or `.s`; AuditEvent only by name) and, for one labelled restricted, restricted access. Reads,
vreads and search matches of a type the token may not see are refused; resources a search would include
(`_include`, `_revinclude`) are left out, as the SMART scopes allow; the answer to a write carries the
stored resource only when the writer may see it (else it is the minimal answer: status and headers).

Every 2xx answer with a body that the /fhir blueprint gives is made here, as a `Disclosed` response:
`guard` (after_request) turns any other into a 500, so a new route cannot hand out resources unchecked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import structlog
from flask import Response, g

from fhir_adapter.adapters.fhir_store import is_restricted
from fhir_adapter.api.errors import outcome_response
from fhir_adapter.api.http import touched
from fhir_adapter.api.http_errors import HttpError
from fhir_adapter.domain.stored import Stored
from fhir_adapter.fhir_api import bundles
from fhir_adapter.service import scopes
from fhir_adapter.service.context import Principal
from fhir_adapter.service.errors import Problem, not_found

FHIR_JSON = "application/fhir+json"
# What carries no patient data: the server's own statements and outcomes.
PLAIN = frozenset({"CapabilityStatement", "OperationOutcome"})
# A transaction or batch answer: where each entry was stored and what was found, no patient data.
ANSWERS = frozenset({"transaction-response", "batch-response"})
log = structlog.get_logger("fhir_adapter.http")


class Disclosed(Response):
    """An answer whose resources have each passed `may_see`."""


def _forbidden(resource_type: str) -> HttpError:
    return HttpError(
        403, [Problem("", f"this needs the scope {scopes.needed(resource_type, 'read')}", "forbidden")]
    )


def may_see(principal: Principal, resource_type: str, restricted: bool) -> bool:
    """Whether the caller may see a resource of this type (and this label)."""
    granted = scopes.allows(principal.grants, resource_type, "read") or scopes.allows(
        principal.grants, resource_type, "search"
    )
    return granted and (principal.restricted_access or not restricted)


def _answer(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Disclosed:
    return Disclosed(body, status=status, headers=headers, mimetype=FHIR_JSON)


def entry_answers(data: dict[str, Any]) -> Disclosed:
    """What became of each entry of a Bundle written: locations, statuses and OperationOutcomes only."""
    if data.get("resourceType") != "Bundle" or data.get("type") not in ANSWERS:
        raise TypeError("not a transaction or batch answer")
    if any("resource" in e for e in data.get("entry", [])):
        raise TypeError("an answer of entries holds no resources")
    return _answer(orjson.dumps(data))


def plain(data: dict[str, Any], status: int = 200) -> Disclosed:
    """A CapabilityStatement or an OperationOutcome: nothing of a patient's in it."""
    if data.get("resourceType") not in PLAIN:
        raise TypeError(f"not a plain answer: {data.get('resourceType')}")
    return _answer(orjson.dumps(data), status)


def definitions(data: dict[str, Any]) -> Disclosed:
    """A Questionnaire of ours, or a searchset of them (with the OperationOutcome of what a lenient search
    left out): definitions, nothing of a patient's in them."""
    entries = data.get("entry", []) if data.get("resourceType") == "Bundle" else [{"resource": data}]
    for entry in entries:
        rtype = entry.get("resource", {}).get("resourceType")
        said = rtype == "OperationOutcome" and entry.get("search", {}).get("mode") == "outcome"
        if rtype != "Questionnaire" and not said:
            raise TypeError("not a definition")
    return _answer(orjson.dumps(data))


def one(principal: Principal, stored: Stored, what: str, headers: dict[str, str] | None = None) -> Disclosed:
    """A read or vread: 404 when it is hidden from the caller (restricted), 403 for a type not granted."""
    if stored.restricted and not principal.restricted_access:
        raise not_found(what)
    if not may_see(principal, stored.resource_type, stored.restricted):
        raise _forbidden(stored.resource_type)
    touched(stored.patient_id)
    return _answer(stored.data.encode(), 200, headers)


def one_json(principal: Principal, resource: dict[str, Any]) -> Disclosed:
    """A resource made on the fly (an AuditEvent), under the same rule."""
    rtype = str(resource.get("resourceType"))
    if not may_see(principal, rtype, is_restricted(resource)):
        raise _forbidden(rtype)
    return _answer(orjson.dumps(resource))


def write_answer(principal: Principal, response: Response) -> Disclosed:
    """The answer to a create or update, first-hand or replayed for its Idempotency-Key: the body only when
    the caller may see what it holds (a replay may be asked by another client of the organisation)."""
    body = response.get_data()
    resource = orjson.loads(body) if body else {}
    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    answers = rtype == "Bundle" and resource.get("type") in ANSWERS
    keep = (
        rtype in PLAIN
        or answers
        or (isinstance(rtype, str) and may_see(principal, rtype, is_restricted(resource)))
    )
    headers = {k: v for k, v in response.headers.items() if k not in ("Content-Length", "Content-Type")}
    if not keep:
        return _answer(b"", response.status_code, headers)
    return Disclosed(body, status=response.status_code, headers=headers, content_type=response.content_type)


def searchset(
    principal: Principal, matches: Sequence[Stored], included: Sequence[Stored], **page: Any
) -> Disclosed:
    """A searchset Bundle of the matches and of the included resources the caller may see."""
    for m in matches:
        if not may_see(principal, m.resource_type, m.restricted):
            raise _forbidden(m.resource_type)
    shown = [s for s in included if may_see(principal, s.resource_type, s.restricted)]
    touched(*(s.patient_id for s in [*matches, *shown]))
    hits = [(m.resource_type, m.id, m.data) for m in matches]
    more = [(s.resource_type, s.id, s.data) for s in shown]
    return _answer(bundles.searchset(matches=hits, included=more, **page))


def audit_searchset(principal: Principal, events: Sequence[dict[str, Any]], **page: Any) -> Disclosed:
    """A searchset Bundle of AuditEvents."""
    if events and not may_see(principal, "AuditEvent", False):
        raise _forbidden("AuditEvent")
    hits = [("AuditEvent", str(e["id"]), orjson.dumps(e)) for e in events]
    return _answer(bundles.searchset(matches=hits, included=[], **page))


def guard(response: Response) -> Response:
    """after_request of /fhir: a 2xx answer with a body that did not come through here is refused."""
    if isinstance(response, Disclosed) or not 200 <= response.status_code < 300:
        return response
    if not response.is_streamed and not response.get_data():
        return response  # nothing in it: an OPTIONS answer, a minimal one
    log.error("an answer did not pass the disclosure check", request_id=g.get("request_id"))
    problem = Problem("", f"internal error (request {g.get('request_id', '?')})", "exception")
    return outcome_response(500, [problem])
