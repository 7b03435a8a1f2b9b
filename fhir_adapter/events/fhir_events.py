"""FHIR → Event: a Subscriptions-backport notification (R4 history Bundle, SubscriptionStatus Parameters
first) and a Da Vinci admit/discharge notification message (a message Bundle, MessageHeader first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fhir_adapter.events.model import Coded, ContentError, Event, Patient, Visit

JSON = dict[str, Any]
STATUS_KINDS = {
    "planned": "register",
    "arrived": "admit",
    "triaged": "admit",
    "in-progress": "admit",
    "onleave": "update",
    "finished": "discharge",
    "cancelled": "cancel-admit",
    "entered-in-error": "cancel-admit",
}
DAVINCI = "http://hl7.org/fhir/us/davinci-alerts/CodeSystem/notification-event"
DAVINCI_KINDS = {
    "notification-admit": "admit",
    "notification-discharge": "discharge",
    "notification-transfer": "update",
}
NOTIFICATION_TYPES = ("handshake", "heartbeat", "event-notification", "query-status", "query-event")


def instant(value: Any, where: str) -> str | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as err:
        raise ContentError(f"{where} is not a FHIR dateTime: {str(value)[:40]!r}", where) from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _coded(concept: Any) -> Coded | None:
    if not isinstance(concept, dict):
        return None
    coding = (concept.get("coding") or [{}])[0]
    code = coding.get("code") or concept.get("text")
    return (
        Coded(str(code), coding.get("display") or concept.get("text"), coding.get("system")) if code else None
    )


def patient_of(resource: JSON | None, ehr_patient_id: str | None, mrn_system: str | None) -> Patient:
    """Who: the EHR's Patient id, and the MRN from its identifiers (the EHR's MRN system, else typed MR)."""
    if not resource:
        return Patient(ehr_patient_id=ehr_patient_id)
    idents = [i for i in resource.get("identifier", []) if isinstance(i, dict) and i.get("value")]
    typed = [i for i in idents if any(c.get("code") == "MR" for c in (i.get("type") or {}).get("coding", []))]
    ours = [i for i in idents if mrn_system and i.get("system") == mrn_system]
    mrn = (ours or typed or [{}])[0]
    name = (resource.get("name") or [{}])[0]
    return Patient(
        mrn=mrn.get("value"),
        authority=mrn.get("system"),
        ehr_patient_id=ehr_patient_id,
        family=name.get("family"),
        given=(name.get("given") or [None])[0],
        birth_date=resource.get("birthDate"),
        gender=resource.get("gender"),
    )


def visit_of(encounter: JSON, encounter_id: str | None) -> Visit:
    hosp = encounter.get("hospitalization") or {}
    period = encounter.get("period") or {}
    ident: JSON = next((i for i in encounter.get("identifier", []) if i.get("value")), {})
    where = next((loc.get("location", {}).get("display") for loc in encounter.get("location", [])), None)
    source = _coded(hosp.get("admitSource"))
    return Visit(
        number=ident.get("value"),
        encounter_id=encounter_id,
        class_code=(encounter.get("class") or {}).get("code"),
        location=where,
        admit_source=(source.display or source.code) if source else None,
        admitted_at=instant(period.get("start"), "Encounter.period.start"),
        discharged_at=instant(period.get("end"), "Encounter.period.end"),
        disposition=_coded(hosp.get("dischargeDisposition")),
    )


def encounter_event(
    encounter: JSON,
    patient: Patient,
    channel: str,
    control_id: str,
    kind: str | None = None,
    event: str | None = None,
) -> Event:
    if encounter.get("resourceType") != "Encounter":
        raise ContentError("the focus is not an Encounter", "Encounter")
    status = encounter.get("status")
    kind = kind or STATUS_KINDS.get(str(status), "other")
    visit = visit_of(encounter, encounter.get("id"))
    if not visit.number and not visit.encounter_id:
        raise ContentError("the Encounter has neither an identifier nor an id", "Encounter.identifier")
    when = visit.discharged_at if kind == "discharge" else visit.admitted_at
    return Event(channel, control_id, event or f"encounter:{status}", kind, patient, visit, when)


@dataclass(frozen=True)
class NotificationEvent:
    number: int | None
    focus: str | None  # a reference: Encounter/123 or a full URL
    resource: JSON | None  # present in full-resource notifications
    timestamp: str | None


@dataclass(frozen=True)
class Notification:
    subscription: str
    topic: str | None
    status: str
    type: str
    events_since_start: int | None
    events: list[NotificationEvent]
    included: dict[str, JSON]  # full-resource content by fullUrl and by Type/id


def _value(param: JSON) -> Any:
    for key, value in param.items():
        if key.startswith("value"):
            return value
    return None


def _number(value: Any, where: str) -> int | None:
    if value is None:
        return None
    try:
        number = int(str(value))
    except ValueError as err:
        raise ContentError(f"{where} is not a whole number: {str(value)[:20]!r}", where) from err
    if number < 0:
        raise ContentError(f"{where} is negative", where)
    return number


def _ref(value: Any) -> str | None:
    return value.get("reference") if isinstance(value, dict) else None


def notification(bundle: Any) -> Notification:
    """Read a notification Bundle; ContentError names what is wrong."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise ContentError("a notification is a Bundle", "resourceType")
    if bundle.get("type") != "history":
        raise ContentError("a notification Bundle in R4 has type history", "Bundle.type")
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
    status = (entries[0].get("resource") if entries else None) or {}
    if status.get("resourceType") != "Parameters":
        raise ContentError("the first entry must be the SubscriptionStatus Parameters", "Bundle.entry[0]")
    params: dict[str, Any] = {}
    events: list[NotificationEvent] = []
    for p in status.get("parameter") or []:
        if not isinstance(p, dict):
            continue
        if p.get("name") == "notification-event":
            parts = {q.get("name"): _value(q) for q in p.get("part") or [] if isinstance(q, dict)}
            events.append(
                NotificationEvent(
                    _number(parts.get("event-number"), "notification-event.event-number"),
                    _ref(parts.get("focus")),
                    None,
                    parts.get("timestamp"),
                )
            )
        else:
            params[str(p.get("name"))] = _value(p)
    kind = params.get("type")
    if kind not in NOTIFICATION_TYPES:
        raise ContentError(f"type must be one of {', '.join(NOTIFICATION_TYPES)}", "Parameters.type")
    subscription = _ref(params.get("subscription"))
    if not subscription:
        raise ContentError("the subscription reference is missing", "Parameters.subscription")
    included: dict[str, JSON] = {}
    for e in entries[1:]:
        res = e.get("resource")
        if isinstance(res, dict) and res.get("resourceType"):
            if e.get("fullUrl"):
                included[str(e["fullUrl"])] = res
            included[f"{res['resourceType']}/{res.get('id')}"] = res
    events = [
        NotificationEvent(ev.number, ev.focus, _resolve(ev.focus, included), ev.timestamp) for ev in events
    ]
    return Notification(
        subscription,
        params.get("topic"),
        str(params.get("status") or "active"),
        str(kind),
        _number(params.get("events-since-subscription-start"), "events-since-subscription-start"),
        events,
        included,
    )


def _resolve(ref: str | None, included: dict[str, JSON]) -> JSON | None:
    if not ref:
        return None
    if ref in included:
        return included[ref]
    tail = "/".join(ref.rstrip("/").split("/")[-2:])
    return included.get(tail)


def message_event(bundle: Any, mrn_system: str | None) -> Event:
    """A Da Vinci admit/discharge notification message → Event."""
    if (
        not isinstance(bundle, dict)
        or bundle.get("resourceType") != "Bundle"
        or bundle.get("type") != "message"
    ):
        raise ContentError("$process-message takes a Bundle of type message", "Bundle.type")
    entries = [
        e for e in bundle.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]
    header = entries[0]["resource"] if entries else {}
    if header.get("resourceType") != "MessageHeader":
        raise ContentError("the first entry must be the MessageHeader", "Bundle.entry[0]")
    coding = header.get("eventCoding") or {}
    code = coding.get("code")
    if coding.get("system") != DAVINCI or code not in DAVINCI_KINDS:
        raise ContentError(
            f"eventCoding must be a Da Vinci notification event ({', '.join(DAVINCI_KINDS)})",
            "MessageHeader.eventCoding",
        )
    included = {str(e.get("fullUrl")): e["resource"] for e in entries if e.get("fullUrl")}
    included |= {
        f"{e['resource'].get('resourceType')}/{e['resource'].get('id')}": e["resource"] for e in entries
    }
    focus = _resolve(_ref((header.get("focus") or [None])[0]), included)
    if focus is None:
        raise ContentError("MessageHeader.focus names no Encounter in the Bundle", "MessageHeader.focus")
    patient = _resolve(_ref(focus.get("subject")), included)
    if patient is None:
        raise ContentError("Encounter.subject names no Patient in the Bundle", "Encounter.subject")
    who = patient_of(patient, None, mrn_system)
    if not who.mrn:
        raise ContentError("the Patient carries no medical record number", "Patient.identifier")
    control = bundle.get("id") or header.get("id")
    if not control:
        raise ContentError("the Bundle has no id to tell a repeat by", "Bundle.id")
    event = encounter_event(focus, who, "process-message", f"msg:{control}", DAVINCI_KINDS[code], code)
    return Event(**{**event.__dict__, "visit": Visit(**{**event.visit.__dict__, "encounter_id": None})})
