"""Admission and discharge events in: HL7 v2 ADT over HTTP, Subscriptions notifications, Da Vinci
messages; the messages that match no client, resolved by a person; one client's case timeline."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from flask import Response, request

from fhir_adapter.adapters import ehr_store, inbound_store, record_store
from fhir_adapter.adapters.db import reading
from fhir_adapter.adapters.ehr_store import Ehr
from fhir_adapter.adapters.inbound_store import Inbound
from fhir_adapter.api.http import int_arg, json_body, json_response, require, services, touched
from fhir_adapter.api.records import CLIENT_ID, bp
from fhir_adapter.api.registry import API, Operation, path_param, query
from fhir_adapter.delivery.ehr_client import Failure
from fhir_adapter.delivery.reads import reader
from fhir_adapter.events import fhir_events
from fhir_adapter.events.model import ContentError
from fhir_adapter.service import intake, notifications, timeline
from fhir_adapter.service.context import Principal
from fhir_adapter.service.errors import Problem, ServiceError, invalid, not_found
from fhir_adapter.service.intake import Outcome
from fhir_adapter.service.projection import patient_id

MAX_MESSAGE = 1_000_000
STATES = ("received", "applied", "needs_match", "reported", "ignored", "rejected", "dismissed")
STATUS = {"AA": 200, "AE": 400, "AR": 503}


def _ehr(principal: Principal, ehr_id: str) -> Ehr:
    with reading(services().engine) as conn:
        ehr = ehr_store.get_ehr(conn, principal.org.id, ehr_id)
    if ehr is None:
        raise not_found(f"EHR {ehr_id}")
    return ehr


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


def _answer(outcome: Outcome, ack: str | None) -> Response:
    if outcome.ack == "AE":
        headers = {"X-Inbound-Id": str(outcome.seq or "")}
        raise ServiceError(400, [Problem(outcome.where, outcome.detail, "invalid")], headers)
    if outcome.ack == "AR":
        raise ServiceError(503, [Problem("", outcome.detail, "transient")], {"Retry-After": "5"})
    body = {"ack": outcome.ack, "state": outcome.state, "detail": outcome.detail, "inbound": outcome.seq}
    return json_response(body | ({"hl7": ack} if ack else {}))


def adt(ehr_id: str) -> Response:
    """One HL7 v2 message in the body (ER7 text); the answer carries its ACK."""
    principal = require("Encounter", "create", "create")
    ehr = _ehr(principal, ehr_id)
    raw = request.get_data(cache=True)
    if len(raw) > MAX_MESSAGE:
        raise invalid(f"an HL7 message is at most {MAX_MESSAGE} bytes", "", 413)
    s = services()
    text = raw.decode("utf-8", errors="replace")
    outcome, ack = intake.take_v2(
        s.engine, s.deps.catalogue, s.deps.clock, s.settings.match_demographics, ehr, text, "http"
    )
    return _answer(outcome, ack)


def _read(ehr: Ehr) -> Any:
    read = reader(ehr, services().settings)

    def guarded(path: str) -> Any:
        try:
            return read(path)
        except Failure as failure:
            raise ServiceError(
                503 if failure.action == "retry" else 502,
                [Problem("", f"the EHR answered GET {path} with {failure.reason}", "transient")],
                {"Retry-After": "5"},
            ) from failure

    return guarded


def notify(ehr_id: str) -> Response:
    """A Subscriptions-backport notification Bundle from the EHR."""
    principal = require("Encounter", "create", "create")
    ehr = _ehr(principal, ehr_id)
    bundle = json_body()
    s = services()
    try:
        note = fhir_events.notification(bundle)
        report = notifications.receive(
            s.engine,
            ehr,
            note,
            orjson.dumps(bundle).decode(),
            _read(ehr),
            s.deps.clock,
            s.settings.match_demographics,
        )
    except ContentError as err:
        raise invalid(err.reason, err.where) from err
    return json_response(report.to_json())


def process_message(ehr_id: str) -> Response:
    """A Da Vinci admit or discharge notification message."""
    principal = require("Encounter", "create", "create")
    ehr = _ehr(principal, ehr_id)
    bundle = json_body()
    s = services()
    try:
        event = fhir_events.message_event(bundle, ehr.mrn_system)
    except ContentError as err:
        intake.reject(s.engine, ehr, "process-message", orjson.dumps(bundle).decode(), err, s.deps.clock)
        raise invalid(err.reason, err.where) from err
    outcome = intake.receive(
        s.engine, ehr, event, orjson.dumps(bundle).decode(), s.deps.clock, s.settings.match_demographics
    )
    return _answer(outcome, None)


def list_inbound() -> Response:
    principal = require("Encounter", "read", "search")
    state = request.args.get("state")
    if state is not None and state not in STATES:
        raise invalid(f"state is one of {', '.join(STATES)}", "state", 400)
    client_id = request.args.get("client_id")
    after, limit = int_arg("after", 0, 0, 2**31 - 1), int_arg("limit", 50, 1, 200)
    with reading(services().engine) as conn:
        found = inbound_store.listing(conn, principal.org.id, state, client_id, after, limit + 1)
    page: dict[str, Any] = {"items": [inbound_json(m) for m in found[:limit]]}
    if len(found) > limit:
        args = {k: v for k, v in request.args.items() if k != "after"}
        page["next"] = f"/api/v1/inbound?{urlencode({**args, 'after': found[limit - 1].seq})}"
    return json_response(page)


def _seq(seq: int) -> int:
    if not 1 <= seq <= 2**31 - 1:
        raise not_found(f"inbound message {seq}")
    return seq


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
    done = intake.resolve(s.engine, principal, _seq(seq), client_id, s.deps.clock)
    return json_response({"applied": [inbound_json(m) for m in done]})


def dismiss_inbound(seq: int) -> Response:
    principal = require("Encounter", "update", "update")
    data = json_body()
    reason = data.get("reason") if isinstance(data, dict) else None
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise invalid("reason says why the message is about nobody we serve", "reason")
    s = services()
    return json_response(inbound_json(intake.dismiss(s.engine, principal, _seq(seq), reason, s.deps.clock)))


def client_timeline(record_id: str) -> Response:
    principal = require("Patient", "read", "read")
    touched(patient_id(record_id, principal.org.identity))
    with reading(services().engine) as conn:
        if record_store.get(conn, principal.org.id, "client", record_id) is None:
            raise not_found(f"client {record_id}")
        found = timeline.of_client(conn, principal.org.id, record_id)
    return json_response(found)


EVENTS = "Admission and discharge"
EHR_ID = path_param(
    "ehr_id", "the registered EHR's id", {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]{0,63}$"}
)
SEQ = path_param("seq", "the inbound message's id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})
WRITE_ERRORS = (400, 401, 403, 404, 413, 415, 422, 503)


def _route(rule: str, op: Operation, endpoint: str, view: Any) -> None:
    API.route(bp, rule, op, endpoint)(view)


_route(
    "/ehrs/<ehr_id>/adt",
    Operation(
        "/ehrs/{ehr_id}/adt",
        "post",
        "Take an HL7 v2 ADT message (A01, A04, A08, A03, A11, A13, A40)",
        EVENTS,
        "system/Encounter.write",
        "Hl7Message",
        "EventAccepted",
        parameters=(EHR_ID,),
        errors=WRITE_ERRORS,
        media="x-application/hl7-v2+er7",
        description="The answer's `hl7` is the ACK. AA comes only after the message is stored; a repeat "
        "MSH-10 is accepted and not processed again; a content error is a 400 (AE) naming the field; "
        "when the database is away, 503 (AR): send it again.",
    ),
    "adt",
    adt,
)
_route(
    "/ehrs/<ehr_id>/notifications",
    Operation(
        "/ehrs/{ehr_id}/notifications",
        "post",
        "Take a Subscriptions-backport notification Bundle",
        EVENTS,
        "system/Encounter.write",
        "NotificationBundle",
        "NotificationReport",
        parameters=(EHR_ID,),
        errors=(400, 401, 403, 404, 415, 422, 502, 503),
        description="Handshake and heartbeat are answered; id-only notifications are fetched from the EHR; "
        "a gap in events-since-subscription-start is recovered by querying the EHR's Encounters.",
    ),
    "notifications",
    notify,
)
_route(
    "/ehrs/<ehr_id>/$process-message",
    Operation(
        "/ehrs/{ehr_id}/$process-message",
        "post",
        "Take a Da Vinci admit or discharge notification message",
        EVENTS,
        "system/Encounter.write",
        "MessageBundle",
        "EventAccepted",
        parameters=(EHR_ID,),
        errors=WRITE_ERRORS,
    ),
    "process_message",
    process_message,
)
_route(
    "/inbound",
    Operation(
        "/inbound",
        "get",
        "List inbound messages: needs_match is the list a person resolves",
        EVENTS,
        "system/Encounter.read",
        None,
        "InboundList",
        parameters=(
            query("state", "only messages in this state", {"enum": list(STATES)}),
            query("client_id", "only messages about this client"),
            query("after", "the page after this id", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}),
            query("limit", "at most this many", {"type": "integer", "minimum": 1, "maximum": 200}),
        ),
        errors=(400, 401, 403),
    ),
    "list_inbound",
    list_inbound,
)
_route(
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
_route(
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
_route(
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
_route(
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
