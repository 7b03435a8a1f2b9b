"""The hospital's side of the demo: the patient and her stay in its EHR, the ADT messages its feed sends
over MLLP, and what it writes during her stay: a ServiceRequest, her discharge summary and a follow-up
appointment."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import requests

from demo.console import Console, DemoError

MRN_SYSTEM = "urn:oid:2.16.840.1.113883.19.5.7"
MRN_AUTHORITY = "RGH"
VISIT_SYSTEM = "urn:oid:2.16.840.1.113883.19.5.9"
VISIT = "V1001"
PATIENT = "rgh-pt-448812"  # the EHR's own ids for Kim and her stay
ENCOUNTER = "rgh-enc-v1001"


def hl7_time(at: datetime) -> str:
    return at.strftime("%Y%m%d%H%M%S+0000")


def patient(client: dict[str, Any], name: dict[str, Any], mrn: str) -> dict[str, Any]:
    """The hospital's Patient for the case record's client, under her usual `name`."""
    return {
        "resourceType": "Patient",
        "id": PATIENT,
        "identifier": [{"system": MRN_SYSTEM, "value": mrn}],
        "name": [{"family": name["family"], "given": name["given"]}],
        "gender": client["gender"],
        "birthDate": client["birth_date"],
    }


def encounter(admitted: datetime) -> dict[str, Any]:
    """The hospital's Encounter for her stay, in progress since `admitted`."""
    return {
        "resourceType": "Encounter",
        "id": ENCOUNTER,
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "identifier": [{"system": VISIT_SYSTEM, "value": VISIT}],
        "subject": {"reference": f"Patient/{PATIENT}"},
        "period": {"start": admitted.isoformat()},
    }


def service_request(request: dict[str, Any], discharged: datetime) -> dict[str, Any]:
    """A ServiceRequest fixture as the hospital writes it: for her stay, three hours before `discharged`."""
    request.pop("meta", None)
    request["subject"] = {"reference": f"Patient/{PATIENT}"}
    request["encounter"] = {"reference": f"Encounter/{ENCOUNTER}"}
    request["authoredOn"] = (discharged - timedelta(hours=3)).isoformat()
    return request


def discharge_summary(document: dict[str, Any], discharged: datetime) -> dict[str, Any]:
    """The discharge summary fixture (its PDF inline) as the hospital writes it an hour before `discharged`."""
    document.pop("meta", None)
    document["subject"] = {"reference": f"Patient/{PATIENT}"}
    document["date"] = (discharged - timedelta(hours=1)).isoformat()
    document["context"] = {"encounter": [{"reference": f"Encounter/{ENCOUNTER}"}]}
    return document


def follow_up(appointment: dict[str, Any], discharged: datetime) -> dict[str, Any]:
    """The follow-up appointment fixture, booked for a week after `discharged` at 10:00."""
    appointment.pop("meta", None)
    appointment["participant"][0]["actor"]["reference"] = f"Patient/{PATIENT}"
    start = (discharged + timedelta(days=7)).replace(hour=10, minute=0, second=0, microsecond=0)
    appointment["start"] = start.isoformat()
    appointment["end"] = (start + timedelta(minutes=appointment.get("minutesDuration", 30))).isoformat()
    appointment["created"] = discharged.date().isoformat()
    return appointment


def ehr_put(ehr: Any, resource: dict[str, Any]) -> None:
    try:
        ehr.put(resource)
    except requests.RequestException as err:
        raise DemoError(f"the EHR refused {resource['resourceType']}/{resource['id']}: {err}") from err


def adt_visit(client: dict[str, Any], mrn: str, admitted: datetime) -> Any:
    """Her stay as the ADT messages carry it (a tests/support/adt Visit)."""
    from tests.support import adt

    name = next(n for n in client["names"] if n.get("use") == "usual")
    return adt.Visit(
        mrn=mrn,
        number=VISIT,
        authority=MRN_AUTHORITY,
        family=name["family"],
        given=name["given"][0],
        birth_date=client["birth_date"].replace("-", ""),
        sex="F",
        admitted=hl7_time(admitted),
    )


def admission(visit: Any) -> str:
    """The ADT^A01 for the visit."""
    from tests.support import adt

    return adt.message("A01", visit, control_id="DEMO-A01")


def discharge(visit: Any, discharged: datetime) -> str:
    """The ADT^A03 for the visit: discharged home at `discharged`."""
    from tests.support import adt

    return adt.message(
        "A03",
        visit,
        control_id="DEMO-A03",
        disposition="01^Discharged to home",
        discharged=hl7_time(discharged),
    )


def send(out: Console, port: int, text: str) -> None:
    """Show the message's segments, send it to the MLLP listener on `port` and show the ACK's code."""
    from tests.support import adt

    for segment in text.strip("\r").split("\r"):
        out.say(f"  {segment}")
    try:
        sender = adt.Sender(port)
        try:
            ack = sender.send(text)
        finally:
            sender.close()
    except OSError as err:
        raise DemoError(f"the MLLP listener on port {port} did not answer: {err}") from err
    code = adt.ack_code(ack)
    meaning = {"AA": "accepted", "AE": "error", "AR": "rejected"}.get(code, "?")
    out.say(f"ACK: {code} ({meaning})")
    if code != "AA":
        raise DemoError(f"the listener did not accept the message:\n{ack.replace(chr(13), chr(10))}")
