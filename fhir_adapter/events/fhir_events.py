"""FHIR → Event: an Encounter with its Patient (what notifications name), and a Da Vinci admit/discharge
notification message (a message Bundle, MessageHeader first)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from fhir_adapter.domain.events import Coded, ContentError, Event, Patient, Visit

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
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
LOCAL_REF = re.compile(r"([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?")


def _short(value: Any, limit: int, where: str) -> str | None:
    """A text element as stored: a string of at most `limit` characters, when present."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ContentError(f"{where} is not a text of at most {limit} characters", where)
    return value


def _obj(parent: JSON, key: str, where: str) -> JSON:
    """An element that must be a JSON object when present."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ContentError(f"{where} is not an object", where)
    return value


def objects(parent: JSON, key: str, where: str) -> list[JSON]:
    """A repeating element: a list of JSON objects when present."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ContentError(f"{where} is not a list of objects", where)
    return value


def local_ref(ref: str | None) -> str | None:
    """Type/id of a reference (relative, absolute or versioned); None when it names no resource."""
    if not ref:
        return None
    parts = ref.split("?")[0].rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    tail = "/".join(parts[-2:])
    return tail if LOCAL_REF.fullmatch(tail) else None


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


def coded(concept: Any, where: str) -> Coded | None:
    """A CodeableConcept's first coding (or its text); ContentError when `coding` is not a list."""
    if not isinstance(concept, dict):
        return None
    coding = (objects(concept, "coding", f"{where}.coding") or [{}])[0]
    code = coding.get("code") or concept.get("text")
    return (
        Coded(str(code), coding.get("display") or concept.get("text"), coding.get("system")) if code else None
    )


def patient_of(resource: JSON | None, ehr_patient_id: str | None, mrn_system: str | None) -> Patient:
    """Who: the EHR's Patient id, and the MRN from its identifiers (the EHR's MRN system, else typed MR)."""
    if not resource:
        return Patient(ehr_patient_id=ehr_patient_id)
    idents = [i for i in objects(resource, "identifier", "Patient.identifier") if i.get("value")]
    typed = [
        i
        for i in idents
        if any(
            c.get("code") == "MR"
            for c in objects(_obj(i, "type", "Patient.identifier.type"), "coding", "Patient.identifier.type")
        )
    ]
    ours = [i for i in idents if mrn_system and i.get("system") == mrn_system]
    mrn = (ours or typed or [{}])[0]
    name = (objects(resource, "name", "Patient.name") or [{}])[0]
    given = name.get("given")
    return Patient(
        mrn=_short(mrn.get("value"), 128, "Patient.identifier.value"),
        authority=_short(mrn.get("system"), 400, "Patient.identifier.system"),
        ehr_patient_id=ehr_patient_id,
        family=name.get("family"),
        given=given[0] if isinstance(given, list) and given and isinstance(given[0], str) else None,
        birth_date=resource.get("birthDate"),
        gender=resource.get("gender"),
    )


def visit_of(encounter: JSON, encounter_id: str | None) -> Visit:
    hosp = _obj(encounter, "hospitalization", "Encounter.hospitalization")
    period = _obj(encounter, "period", "Encounter.period")
    ident = next((i for i in objects(encounter, "identifier", "Encounter.identifier") if i.get("value")), {})
    where = next(
        (
            _obj(loc, "location", "Encounter.location.location").get("display")
            for loc in objects(encounter, "location", "Encounter.location")
        ),
        None,
    )
    source = coded(hosp.get("admitSource"), "Encounter.hospitalization.admitSource")
    return Visit(
        number=_short(ident.get("value"), 200, "Encounter.identifier.value"),
        encounter_id=encounter_id,
        class_code=_short(
            _obj(encounter, "class", "Encounter.class").get("code"), 20, "Encounter.class.code"
        ),
        location=_short(where, 200, "Encounter.location.location.display"),
        admit_source=_short(
            (source.display or source.code) if source else None, 200, "Encounter.hospitalization.admitSource"
        ),
        admitted_at=instant(period.get("start"), "Encounter.period.start"),
        discharged_at=instant(period.get("end"), "Encounter.period.end"),
        disposition=coded(hosp.get("dischargeDisposition"), "Encounter.hospitalization.dischargeDisposition"),
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
    rid = encounter.get("id")
    if rid is not None and not (isinstance(rid, str) and FHIR_ID.fullmatch(rid)):
        raise ContentError("Encounter.id is not a FHIR id", "Encounter.id")
    visit = visit_of(encounter, rid)
    if not visit.number and not visit.encounter_id:
        raise ContentError("the Encounter has neither an identifier nor an id", "Encounter.identifier")
    when = visit.discharged_at if kind == "discharge" else visit.admitted_at
    return Event(channel, control_id, event or f"encounter:{status}", kind, patient, visit, when)


def subject_of(encounter: JSON) -> str | None:
    """The reference to the Encounter's Patient, when it has a literal one."""
    subject = _obj(encounter, "subject", "Encounter.subject").get("reference")
    if subject is not None and not isinstance(subject, str):
        raise ContentError("Encounter.subject.reference is not a string", "Encounter.subject")
    return subject or None


def reference(value: Any) -> str | None:
    """The `reference` of a Reference, when it is a non-empty text."""
    ref = value.get("reference") if isinstance(value, dict) else None
    return ref if isinstance(ref, str) and ref else None


def resolve(ref: str | None, included: dict[str, JSON]) -> JSON | None:
    if not ref:
        return None
    if ref in included:
        return included[ref]
    tail = local_ref(ref)
    return included.get(tail) if tail else None


def message_event(bundle: Any, mrn_system: str | None) -> Event:
    """A Da Vinci admit/discharge notification message → Event."""
    if (
        not isinstance(bundle, dict)
        or bundle.get("resourceType") != "Bundle"
        or bundle.get("type") != "message"
    ):
        raise ContentError("$process-message takes a Bundle of type message", "Bundle.type")
    entries = [e for e in objects(bundle, "entry", "Bundle.entry") if isinstance(e.get("resource"), dict)]
    header = entries[0]["resource"] if entries else {}
    if header.get("resourceType") != "MessageHeader":
        raise ContentError("the first entry must be the MessageHeader", "Bundle.entry[0]")
    coding = _obj(header, "eventCoding", "MessageHeader.eventCoding")
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
    focus = resolve(reference(next(iter(objects(header, "focus", "MessageHeader.focus")), None)), included)
    if focus is None or focus.get("resourceType") != "Encounter":
        raise ContentError("MessageHeader.focus names no Encounter in the Bundle", "MessageHeader.focus")
    patient = resolve(subject_of(focus), included)
    if patient is None or patient.get("resourceType") != "Patient":
        raise ContentError("Encounter.subject names no Patient in the Bundle", "Encounter.subject")
    who = patient_of(patient, None, mrn_system)
    if not who.mrn:
        raise ContentError("the Patient carries no medical record number", "Patient.identifier")
    control = bundle.get("id") or header.get("id")
    if not isinstance(control, str) or not control:
        raise ContentError("the Bundle has no id to tell a repeat by", "Bundle.id")
    event = encounter_event(focus, who, "process-message", f"msg:{control}", DAVINCI_KINDS[code], code)
    return replace(event, visit=replace(event.visit, encounter_id=None))  # the sender's id, not the EHR's
