"""Reading ADT messages: the event from MSH-9, the MRN from PID-3 by assigning authority, the visit from
PV1, HL7 time stamps to UTC, and the ACK; reading REF^I12 and RRI^I12 field by field."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_adapter.domain.events import Coded, ContentError, EntityId, Event
from fhir_adapter.events import hl7v2, v2_ack, v2_referral
from fhir_adapter.mapping.catalogue import Catalogue
from tests.support import adt, referrals
from tests.support.adt_mutations import mutated

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
    return hl7v2.to_event(hl7v2.parse(text), "http", authority, classes.tables)


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
    ack = v2_ack.ack(MESSAGE, "AE", "PV1-19 | is empty", "101", "PV1-19")
    lines = ack.strip("\r").split("\r")
    assert lines[0].startswith("MSH|^~\\&|FA|CMS|ADT|RGH|")
    assert lines[0].split("|")[8:] == ["ACK^A03^ACK", lines[0].split("|")[9], "P", "2.5.1"]
    assert lines[1] == "MSA|AE|CTRL-9|PV1-19 \\F\\ is empty"  # a delimiter in the text is escaped
    assert lines[2] == "ERR||PV1^1^19|101^Required field missing^HL70357|E||||PV1-19 \\F\\ is empty"
    bare = v2_ack.ack(None, "AE", "not HL7")
    assert "MSA|AE||not HL7" in bare and "|102^Data type error^HL70357|" in bare


def test_an_event_survives_its_json(catalogue: Catalogue) -> None:
    event = read(MESSAGE, classes=catalogue)
    assert Event.from_json(event.to_json()) == event


def test_identifiers_longer_than_they_can_be_stored_are_content_errors(catalogue: Catalogue) -> None:
    long_mrn = MESSAGE.replace("448812^^^RGH", "4" * 129 + "^^^RGH").replace("555^^^OTHER^PI~", "")
    with pytest.raises(ContentError) as err:
        read(long_mrn, classes=catalogue)
    assert err.value.where == "PID-3"
    with pytest.raises(ContentError) as err:
        read(MESSAGE.replace("|V77|", "|" + "V" * 201 + "|"), classes=catalogue)
    assert err.value.where == "PV1-19"


@pytest.mark.parametrize(
    "zone", ["+9999", "+2400", "-0060", "+1299x", "+0575"], ids=["+9999", "+2400", "-0060", "junk", "+0575"]
)
def test_a_time_zone_that_is_no_zone_is_a_content_error(catalogue: Catalogue, zone: str) -> None:
    text = MESSAGE.replace("20251014083000+0900", f"20251014083000{zone}")
    with pytest.raises(ContentError) as err:
        read(text, classes=catalogue)
    assert (err.value.where, err.value.code) == ("PV1-44", "102")


def test_an_instant_beyond_the_calendar_is_a_content_error(catalogue: Catalogue) -> None:
    for value in ("00010101000000+0100", "99991231235959-0100", "00000101"):
        with pytest.raises(ContentError) as err:
            read(MESSAGE.replace("20251014083000+0900", value), classes=catalogue)
        assert err.value.where == "PV1-44"


@settings(max_examples=300, deadline=None)
@given(data=mutated())
def test_any_mutated_message_is_an_event_or_a_content_error_with_its_condition(
    catalogue: Catalogue, data: bytes
) -> None:
    """Never another exception: every way a message can be wrong is a reason and a table 0357 code."""
    try:
        read(data.decode("utf-8", errors="replace"), "RGH", catalogue)
    except ContentError as err:
        assert err.code in v2_ack.CONDITIONS and err.code != "207"
        assert err.reason


# --- coded fields: the sender's own codes survive; only a code of the HL7 table gets HL7's system ---

V2 = "http://terminology.hl7.org/CodeSystem/v2-"


def _with(pv1: dict[int, str] | None = None, sex: str = "F") -> str:
    fields = PV1 | (pv1 or {})
    return MESSAGE.replace("|19870412|F", f"|19870412|{sex}").replace(
        "PV1|1|" + "|".join(PV1.get(n, "") for n in range(2, 46)),
        "PV1|1|" + "|".join(fields.get(n, "") for n in range(2, 46)),
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("01^Discharged to home", Coded("01", "Discharged to home", V2 + "0112")),
        ("01", Coded("01", None, V2 + "0112")),
        ("07^Left AMA^HL70112", Coded("07", "Left AMA", V2 + "0112")),
        ("Admitted as Inpatient^Sample^ACR", Coded("Admitted as Inpatient", "Sample", "ACR")),
        ("01^Home^LOCAL", Coded("01", "Home", "LOCAL")),
        ("HOME^Home", Coded("HOME", "Home", None)),
        ("99", Coded("99", None, None)),
        ("^Went home", Coded("Went home", "Went home", None)),
        ("", None),
    ],
)
def test_the_discharge_disposition_keeps_the_senders_code(
    catalogue: Catalogue, value: str, expected: Coded | None
) -> None:
    assert read(_with({36: value}), classes=catalogue).visit.disposition == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("E", "EMER"),
        ("I^Inpatient^HL70004", "IMP"),
        ("OBS", "OBS"),
        ("I^^LOCAL", "I"),
        ("U", None),
        ("", None),
    ],
)
def test_the_patient_class_is_the_act_code_or_the_senders_own(
    catalogue: Catalogue, value: str, expected: str | None
) -> None:
    assert read(_with({2: value}), classes=catalogue).visit.class_code == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", "Emergency room"),
        ("7^ER", "ER"),
        ("WALKIN^Walk-in^L", "Walk-in"),
        ("WALKIN", "WALKIN"),
        ("7^^LOCAL", "7"),
    ],
)
def test_the_admit_source_keeps_the_senders_words(catalogue: Catalogue, value: str, expected: str) -> None:
    assert read(_with({14: value}), classes=catalogue).visit.admit_source == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("F", "female"), ("M^Male^HL70001", "male"), ("X", None), ("F^^LOCAL", None)]
)
def test_a_sex_not_of_table_0001_is_no_gender(catalogue: Catalogue, value: str, expected: str | None) -> None:
    assert read(_with(sex=value), classes=catalogue).patient.gender == expected


WORD = st.text(
    alphabet=st.characters(blacklist_characters="|^~\\&\r\n", blacklist_categories=("Cs", "Cc")), max_size=8
)
TABLES = {36: "v2_discharge_disposition", 14: "v2_admit_source", 2: "v2_patient_class"}


@settings(max_examples=200, deadline=None)
@given(
    number=st.sampled_from(sorted(TABLES)),
    code=st.one_of(WORD, st.sampled_from(["01", "07", "42", "7", "E", "I", "U"])),
    text=WORD,
    system=st.one_of(WORD, st.sampled_from(["", "HL70112", "HL70023", "HL70004", "L", "99LOCAL"])),
)
def test_a_coded_pv1_field_is_the_tables_code_only_when_it_is_one(
    catalogue: Catalogue, number: int, code: str, text: str, system: str
) -> None:
    """For every coded PV1 field the reader maps: a value the table does not have, or one under a coding
    system of the sender's, reaches the visit as the sender sent it."""
    table = catalogue.tables[TABLES[number]]
    codes = {e["code"]: e["display"] for e in table.entries.values()}
    value = "^".join([code, text, system]).rstrip("^")
    visit = read(_with({number: value}), classes=catalogue).visit
    ours = code in codes and system in ("", "HL7" + str(table.system)[-4:])
    said = {
        36: visit.disposition,
        14: visit.admit_source,
        2: visit.class_code,
    }[number]
    if not (code or text):
        assert said is None
    elif number == 36:
        assert said == Coded(code or text, text or None, table.system if ours else (system or None))
    elif number == 14:
        assert said == (text or (codes[code] if ours else code))
    elif not ours:
        assert said == (code or text)
    else:
        key = catalogue.tables["patient_class"].key_for_code("v2", code)
        assert said == (catalogue.tables["patient_class"].code(key, "v3") if key else None)


def test_escape_sequences_are_read_and_odd_ones_dropped(catalogue: Catalogue) -> None:
    """\\F\\ and friends, hex, and sequences python-hl7 would raise or warn on (a bad repeat count, bad hex)."""
    text = MESSAGE.replace("Kim^Seo-yeon", "O\\T\\Brien\\X41\\\\.brx\\\\X0\\\\C2842\\^Seo\\S\\yeon\\")
    patient = read(text, classes=catalogue).patient
    assert (patient.family, patient.given) == ("O&BrienA", "Seo^yeon\\")


def test_a_message_type_we_do_not_take_is_refused_as_unsupported(catalogue: Catalogue) -> None:
    """A result (ORU^R01) is refused with table 0357's 200, unsupported message type, naming what is taken;
    a referral message of another event than I12 with 201, unsupported event code."""
    result = MESSAGE.replace("ADT^A03^ADT_A03", "ORU^R01^ORU_R01")
    with pytest.raises(ContentError) as refused:
        read(result, classes=catalogue)
    assert (refused.value.code, refused.value.where) == ("200", "MSH-9")
    assert "ADT, REF^I12 and RRI^I12" in refused.value.reason
    answer = v2_ack.ack(result, "AE", str(refused.value), refused.value.code, refused.value.where)
    assert "|200^Unsupported message type^HL70357|" in answer
    with pytest.raises(ContentError) as other_event:
        read(MESSAGE.replace("ADT^A03^ADT_A03", "REF^I13^REF_I12"), classes=catalogue)
    assert (other_event.value.code, other_event.value.where) == ("201", "MSH-9")


# --- referrals: REF^I12 and RRI^I12 ---


def read_referral(text: str, catalogue: Catalogue) -> Event:
    return v2_referral.to_event(hl7v2.parse(text), "mllp", "RGH", catalogue.tables)


def test_a_ref_reads_rf1_field_by_field(catalogue: Catalogue) -> None:
    event = read_referral(referrals.ref(control_id="R-1"), catalogue)
    r = event.referral
    assert r is not None and (event.event, event.kind, event.control_id) == ("REF^I12", "referral", "v2:R-1")
    assert r.status == Coded("P", "Pending", "http://terminology.hl7.org/CodeSystem/v2-0283")
    assert r.priority == Coded("A", "ASAP", "http://terminology.hl7.org/CodeSystem/v2-0280")
    assert (r.referral_type, r.category) == (
        Coded("Psy", "Psychiatric", "HL70281"),
        Coded("A", "Ambulatory", "HL70284"),
    )
    assert r.originating == EntityId("RGH-REF-2025-0917", "RGH_REFERRALS")
    assert r.external == EntityId("CMS-0042", "CMS")
    assert (r.effective, r.expiration) == ("2025-10-16", "2026-01-16")
    assert r.reason == Coded("S", "Second Opinion", "HL70336")
    assert (r.sent_at, r.facility) == ("2025-10-16T00:30:00.000000Z", "RGH")
    assert event.patient.mrn == "MRN-448812"


def test_a_ref_reads_providers_diagnoses_procedures_and_notes(catalogue: Catalogue) -> None:
    r = read_referral(referrals.ref(), catalogue).referral
    assert r is not None
    referring, referred = r.providers
    assert (referring.role_code, referring.name, referring.organization) == (
        "RP",
        "Dr. 지훈 박 MD",
        "Riverside General Hospital",
    )
    assert (referring.address, referring.phone) == (
        "12 Riverside Road, Springfield, IL, 62704, USA",
        "217 5550101",
    )
    assert referring.identifiers == ("D-4471 (NPI)",)
    assert (referred.role_code, referred.name, referred.organization) == (
        "RT",
        "Ms. प्रिया शर्मा",
        "Springfield Community Services",
    )
    assert r.diagnoses == (
        Coded("F32.1", "Major depressive disorder, single episode, moderate", "I10"),
        Coded("Z59.0", "Homelessness", "I10"),
    )
    assert r.procedures == (Coded("90791", "Psychiatric diagnostic evaluation", "C4"),)
    assert r.notes == (
        "환자는 퇴원 후 주거 지원이 필요합니다.\nPatient lives alone since March.",
        "कृपया सोमवार को संपर्क करें",
    )
    # a diagnosis's date and type, a procedure's date, and the segments no record reads: named, not dropped
    assert r.unread == ("DG1-5", "DG1-6", "PR1-5", "AUT", "IN1", "OBR", "OBX", "NTE of OBX")


def test_a_referral_round_trips_through_its_stored_json(catalogue: Catalogue) -> None:
    event = read_referral(referrals.ref(), catalogue)
    assert Event.from_json(orjson.loads(orjson.dumps(event.to_json()))) == event


@pytest.mark.parametrize(
    ("text", "where", "code"),
    [
        (referrals.ref(drop=("RF1",)), "RF1", "101"),
        (referrals.ref(referrals.Referral(mrn="")), "PID-3", "101"),
        (referrals.ref(referrals.Referral(originating="", external="")), "RF1-6", "101"),
        (referrals.ref(referrals.Referral(effective="2025-13-45")), "RF1-7", "102"),
        (referrals.rri("", "RGH-REF-1"), "RF1-1", "101"),
    ],
)
def test_a_referral_that_cannot_be_read_names_the_field(
    catalogue: Catalogue, text: str, where: str, code: str
) -> None:
    with pytest.raises(ContentError) as refused:
        read_referral(text, catalogue)
    assert (refused.value.where, refused.value.code) == (where, code)


def test_an_rri_reads_its_status_and_the_referral_it_answers(catalogue: Catalogue) -> None:
    event = read_referral(referrals.rri("R^Rejected^HL70283", "RF-1", external="RGH-9"), catalogue)
    r = event.referral
    assert r is not None and (event.event, event.kind) == ("RRI^I12", "referral-answer")
    assert r.status == Coded("R", "Rejected", "http://terminology.hl7.org/CodeSystem/v2-0283")
    assert (r.originating, r.external) == (EntityId("RF-1", "RGH_REFERRALS"), EntityId("RGH-9", "CMS"))
