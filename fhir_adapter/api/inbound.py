"""The messages received from EHRs: the list (needs_match is what a person resolves), one message, its
match or dismissal; and one client's case timeline."""

from __future__ import annotations

from typing import Any

from flask import Response

from fhir_adapter.adapters import inbound_store
from fhir_adapter.adapters.db import reading
from fhir_adapter.api.http import (
    MAX_ROW_ID,
    json_body,
    json_response,
    list_parameters,
    list_query,
    require,
    row_id,
    services,
    touched,
)
from fhir_adapter.api.intake import EVENTS
from fhir_adapter.api.records import CLIENT_ID
from fhir_adapter.api.registry import ApiBlueprint, Operation, path_param
from fhir_adapter.domain.inbound import STATES, Inbound
from fhir_adapter.service import intake, timeline
from fhir_adapter.service.errors import invalid, not_found
from fhir_adapter.service.projection import patient_id

bp = ApiBlueprint("inbound", __name__)


def inbound_json(m: Inbound) -> dict[str, Any]:
    e = m.event
    out: dict[str, Any] = {
        "id": m.seq,
        "ehr": m.ehr_id,
        "channel": m.channel,
        "control_id": m.control_id,
        "event": e.event,
        "kind": e.kind,
        "state": m.state,
        "received_at": m.received_at,
    }
    optional = {
        "detail": m.detail,
        "client_id": m.client_id,
        "matched_by": m.matched_by,
        "mrn": e.patient.mrn,
        "assigning_authority": e.patient.authority,
        "ehr_patient": e.patient.ehr_patient_id,
        "visit": e.visit_key,
        "resolved_at": m.resolved_at,
        "resolved_by": m.resolved_by,
    }
    return out | {k: v for k, v in optional.items() if v}


def list_inbound() -> Response:
    principal = require("Encounter", "read", "search")
    q = list_query(STATES)
    with reading(services().engine) as conn:
        found = inbound_store.listing(conn, principal.org.id, q.state, q.client_id, q.after, q.limit + 1)
    return q.page(found, lambda m: m.seq, inbound_json, "/api/v1/inbound")


def _seq(seq: int) -> int:
    return row_id(seq, "inbound message")


def read_inbound(seq: int) -> Response:
    principal = require("Encounter", "read", "read")
    with reading(services().engine) as conn:
        found = inbound_store.get(conn, principal.org.id, _seq(seq))
    if found is None:
        raise not_found(f"inbound message {seq}")
    return json_response(inbound_json(found) | {"body": found.body})


def match_inbound(seq: int) -> Response:
    principal = require("Encounter", "update", "update")
    data = json_body()
    client_id = data.get("client_id") if isinstance(data, dict) else None
    if not isinstance(client_id, str) or not client_id or len(client_id) > 128:
        raise invalid("client_id names the client the message is about", "client_id")
    s = services()
    touched(patient_id(client_id, principal.org.identity))
    done = intake.resolve(s.storage, principal, _seq(seq), client_id, s.deps)
    return json_response({"applied": [inbound_json(m) for m in done]})


def dismiss_inbound(seq: int) -> Response:
    principal = require("Encounter", "update", "update")
    data = json_body()
    reason = data.get("reason") if isinstance(data, dict) else None
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise invalid("reason says why the message is about nobody we serve", "reason")
    s = services()
    return json_response(inbound_json(intake.dismiss(s.storage, principal, _seq(seq), reason, s.deps.clock)))


def client_timeline(record_id: str) -> Response:
    principal = require("Patient", "read", "read")
    touched(patient_id(record_id, principal.org.identity))
    with services().storage.reading() as work:
        if work.records.get(principal.org.id, "client", record_id) is None:
            raise not_found(f"client {record_id}")
        found = timeline.of_client(work, principal.org.id, record_id)
    return json_response(found)


SEQ = path_param("seq", "the inbound message's id", {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID})
bp.add_operation(
    "/inbound",
    Operation(
        "/inbound",
        "get",
        "List inbound messages: needs_match is the list a person resolves",
        EVENTS,
        "system/Encounter.read",
        None,
        "InboundList",
        parameters=list_parameters(STATES, "messages"),
        errors=(400, 401, 403),
    ),
    "list_inbound",
    list_inbound,
)
bp.add_operation(
    "/inbound/<int:seq>",
    Operation(
        "/inbound/{seq}",
        "get",
        "One inbound message, as received",
        EVENTS,
        "system/Encounter.read",
        None,
        "InboundDetail",
        parameters=(SEQ,),
        errors=(401, 403, 404),
    ),
    "read_inbound",
    read_inbound,
)
bp.add_operation(
    "/inbound/<int:seq>/match",
    Operation(
        "/inbound/{seq}/match",
        "post",
        "Say which client a message that matched nobody is about",
        EVENTS,
        "system/Encounter.write",
        "MatchRequest",
        "MatchResult",
        parameters=(SEQ,),
        errors=(400, 401, 403, 404, 409, 415, 422),
        description="The message, and those waiting for the same patient of the same EHR, are applied.",
    ),
    "match_inbound",
    match_inbound,
)
bp.add_operation(
    "/inbound/<int:seq>/dismiss",
    Operation(
        "/inbound/{seq}/dismiss",
        "post",
        "Say a message that matched nobody is about nobody we serve",
        EVENTS,
        "system/Encounter.write",
        "DismissRequest",
        "Inbound",
        parameters=(SEQ,),
        errors=(400, 401, 403, 404, 409, 415, 422),
    ),
    "dismiss_inbound",
    dismiss_inbound,
)
bp.add_operation(
    "/clients/<record_id>/timeline",
    Operation(
        "/clients/{record_id}/timeline",
        "get",
        "A client's admissions, discharges, and what was sent and received, with each delivery's state",
        EVENTS,
        "system/Patient.read",
        None,
        "Timeline",
        parameters=(path_param("record_id", "the client's id", CLIENT_ID),),
        errors=(401, 403, 404),
    ),
    "client_timeline",
    client_timeline,
)
