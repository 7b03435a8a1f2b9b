"""Reading ADT messages: the event from MSH-9, the MRN from PID-3 by assigning authority, the visit from
PV1, HL7 time stamps to UTC, and the ACK."""

from __future__ import annotations

import pytest

from fhir_adapter.events import hl7v2
from fhir_adapter.events.model import ContentError, Event
from fhir_adapter.mapping.catalogue import Catalogue
from tests.support import adt

PV1 = {2: "E", 3: "ED^12^A^RGH", 14: "7^Emergency room", 19: "V77", 36: "01^Discharged to home"}
PV1 |= {44: "20251014083000+0900", 45: "20251016120000-0500"}
MESSAGE = (
    "MSH|^~\\&|ADT|RGH|FA|CMS|20251014083000||ADT^A03^ADT_A03|CTRL-9|P|2.5.1\n"
    "EVN|A01|20251014083000\n"
    "PID|1||555^^^OTHER^PI~448812^^^RGH&2.16.840.1.113883.19.5&ISO^MR||Kim^Seo-yeon||19870412|F\n"
    + "PV1|1|"
    + "|".join(PV1.get(n, "") for n in range(2, 46))
    + "\n"
)


def read(text: str, authority: str | None = None, classes: Catalogue | None = None) -> Event:
    assert classes is not None
    return hl7v2.to_event(hl7v2.parse(text), "http", authority, classes.tables["patient_class"])


def test_a_message_with_lf_separators_reads_as_its_msh_9_event(catalogue: Catalogue) -> None:
    event = read(MESSAGE, classes=catalogue)
    assert (event.event, event.kind, event.control_id) == ("A03", "discharge", "v2:CTRL-9")
    assert (event.patient.mrn, event.patient.authority) == ("448812", "RGH")
    assert (event.patient.family, event.patient.given, event.patient.birth_date, event.patient.gender) == (
        "Kim",
        "Seo-yeon",
        "1987-04-12",
        "female",
    )
    v = event.visit
    assert (v.number, v.class_code, v.admit_source) == ("V77", "EMER", "Emergency room")
    assert v.location == "RGH / ED / 12 / A"
    assert v.admitted_at == "2025-10-13T23:30:00.000000Z"  # +0900 to UTC
    assert v.discharged_at == "2025-10-16T17:00:00.000000Z"
    assert v.disposition is not None and v.disposition.code == "01"


def test_the_mrn_of_the_configured_authority_wins_over_the_first(catalogue: Catalogue) -> None:
    assert read(MESSAGE, "OTHER", catalogue).patient.mrn == "555"
    assert read(MESSAGE, "2.16.840.1.113883.19.5", catalogue).patient.mrn == "448812"
    assert read(MESSAGE, "ELSEWHERE", catalogue).patient.mrn == "448812"  # typed MR; matches nobody


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", "MSH"),
        ("PID|1||x", "MSH"),
        (MESSAGE.replace("|CTRL-9|", "||"), "MSH-10"),
        (MESSAGE.replace("ADT^A03^ADT_A03", "ADT"), "MSH-9"),
        (MESSAGE.replace("|20251016120000-0500", "|2025101612xx"), "PV1-45"),
        (MESSAGE.replace("|19870412|", "|19871345|"), "PID-7"),
    ],
)
def test_content_errors_name_the_field(catalogue: Catalogue, text: str, where: str) -> None:
    with pytest.raises(ContentError) as err:
        read(text, classes=catalogue)
    assert err.value.where == where


def test_events_not_acted_on_are_read_as_other(catalogue: Catalogue) -> None:
    event = read(adt.message("A02", adt.Visit(mrn="1", number="V1")), classes=catalogue)
    assert (event.event, event.kind) == ("A02", "other")


def test_the_ack_carries_the_control_id_the_code_and_the_reason() -> None:
    message = hl7v2.parse(MESSAGE)
    ack = hl7v2.ack(message, "AE", "PV1-19 | is empty")
    lines = ack.strip("\r").split("\r")
    assert lines[0].startswith("MSH|^~\\&|FA|CMS|ADT|RGH|")
    assert lines[1] == "MSA|AE|CTRL-9|PV1-19 / is empty"
    assert lines[2].startswith("ERR|||101^")
    bare = hl7v2.ack(None, "AE", "not HL7")
    assert "MSA|AE||not HL7" in bare


def test_an_event_survives_its_json() -> None:
    event = read(MESSAGE, classes=_catalogue())
    assert Event.from_json(event.to_json()) == event


def _catalogue() -> Catalogue:
    from fhir_adapter.mapping.loader import load_catalogue

    return load_catalogue(None, None)


def test_identifiers_longer_than_they_can_be_stored_are_content_errors(catalogue: Catalogue) -> None:
    long_mrn = MESSAGE.replace("448812^^^RGH", "4" * 129 + "^^^RGH").replace("555^^^OTHER^PI~", "")
    with pytest.raises(ContentError) as err:
        read(long_mrn, classes=catalogue)
    assert err.value.where == "PID-3"
    with pytest.raises(ContentError) as err:
        read(MESSAGE.replace("|V77|", "|" + "V" * 201 + "|"), classes=catalogue)
    assert err.value.where == "PV1-19"
