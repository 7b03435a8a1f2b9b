"""Admission and discharge events in: HL7 v2 ADT over HTTP, Subscriptions-backport notifications, Da Vinci
admit/discharge messages. Each is stored once before it is acknowledged."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, request

from fhir_adapter.adapters import ehr_store
from fhir_adapter.adapters.db import reading
from fhir_adapter.api.http import json_body, json_response, require, services
from fhir_adapter.api.http_errors import HttpError
from fhir_adapter.api.registry import ApiBlueprint, Operation, path_param
from fhir_adapter.delivery.ehr_client import Failure
from fhir_adapter.delivery.reads import reader
from fhir_adapter.domain.events import ContentError
from fhir_adapter.domain.sync import Ehr
from fhir_adapter.events import fhir_events, subscriptions
from fhir_adapter.service import intake, notifications
from fhir_adapter.service.context import Principal
from fhir_adapter.service.errors import Problem, invalid, not_found
from fhir_adapter.service.intake import Outcome

bp = ApiBlueprint("intake", __name__)
MAX_MESSAGE = 1_000_000
ER7 = "x-application/hl7-v2+er7"
ACK_STATUS = {"AA": 200, "AE": 400, "AR": 503}


def _ehr(principal: Principal, ehr_id: str) -> Ehr:
    with reading(services().engine) as conn:
        ehr = ehr_store.get_ehr(conn, principal.org.id, ehr_id)
    if ehr is None:
        raise not_found(f"EHR {ehr_id}")
    return ehr


def _answer(outcome: Outcome, ack: str | None) -> Response:
    if outcome.ack == "AE":
        headers = {"X-Inbound-Id": str(outcome.seq or "")}
        raise HttpError(400, [Problem(outcome.where, outcome.detail, "invalid")], headers)
    if outcome.ack == "AR":
        raise HttpError(503, [Problem("", outcome.detail, "transient")], {"Retry-After": "5"})
    body = {"ack": outcome.ack, "state": outcome.state, "detail": outcome.detail, "inbound": outcome.seq}
    return json_response(body | ({"hl7": ack} if ack else {}))


def _er7(outcome: Outcome, ack: str) -> Response:
    """The ACK itself as the answer, for senders that ask for it (`Accept: x-application/hl7-v2+er7`)."""
    headers = {"X-Inbound-Id": str(outcome.seq or "")} | ({"Retry-After": "5"} if outcome.ack == "AR" else {})
    return Response(ack, ACK_STATUS[outcome.ack], headers, mimetype=ER7)


def adt(ehr_id: str) -> Response:
    """One HL7 v2 message in the body (ER7 text); the answer carries its ACK, or is the ACK."""
    principal = require("Encounter", "create", "create")
    ehr = _ehr(principal, ehr_id)
    raw = request.get_data(cache=True)
    if len(raw) > MAX_MESSAGE:
        raise HttpError(413, [Problem("", f"an HL7 message is at most {MAX_MESSAGE} bytes", "too-costly")])
    s = services()
    text = raw.decode("utf-8", errors="replace")
    outcome, ack = intake.take_v2(
        s.storage, s.deps, principal.org, s.settings.match_demographics, ehr, text, "http"
    )
    if request.accept_mimetypes.best_match(["application/json", ER7], "application/json") == ER7:
        return _er7(outcome, ack)
    return _answer(outcome, ack)


def _read(ehr: Ehr) -> Any:
    read = reader(ehr, services().settings)

    def guarded(path: str) -> Any:
        try:
            return read(path)
        except Failure as failure:
            if failure.status in (404, 410):
                raise notifications.Gone(path, failure.status) from failure
            raise HttpError(
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
        note = subscriptions.notification(bundle)
        feed = notifications.Feed(s.storage, ehr, _read(ehr), s.deps.clock, s.settings.match_demographics)
        report = notifications.receive(feed, note, orjson.dumps(bundle).decode())
    except ContentError as err:
        raise invalid(err.reason, err.where) from err
    except notifications.Gone as err:  # the recovery's own query: the EHR should not answer it so
        raise HttpError(502, [Problem("", str(err), "transient")], {"Retry-After": "5"}) from err
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
        intake.reject(s.storage, ehr, "process-message", orjson.dumps(bundle).decode(), err, s.deps.clock)
        raise invalid(err.reason, err.where) from err
    outcome = intake.receive(
        s.storage, ehr, event, orjson.dumps(bundle).decode(), s.deps.clock, s.settings.match_demographics
    )
    return _answer(outcome, None)


EVENTS = "Admission and discharge"
EHR_ID = path_param(
    "ehr_id", "the registered EHR's id", {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]{0,63}$"}
)
WRITE_ERRORS = (400, 401, 403, 404, 413, 415, 422, 503)


bp.add_operation(
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
        media="text/plain",
        also=ER7,
        description="The body is the message as ER7 text (any Content-Type: text/plain, "
        "x-application/hl7-v2+er7). The answer's `hl7` is the ACK; with `Accept: x-application/hl7-v2+er7` "
        "the answer is the ACK itself (segments end in CR), with the same status. AA comes only after the "
        "message is stored; a repeat "
        "MSH-10 is accepted and not processed again; a content error is a 400 (AE) naming the field; "
        "when the database is away, 503 (AR): send it again.",
    ),
    "adt",
    adt,
)
bp.add_operation(
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
bp.add_operation(
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
