"""HL7 v2 ADT → Event (python-hl7); the ACK that answers it is built in v2_ack. The referral messages
(REF^I12, RRI^I12) are read by v2_referral with the field readers here.

The event is MSH-9.2, never EVN-1: real feeds disagree, and MSH-9 is what the sender routes on. PID-3 gives
the medical record number (the repetition whose assigning authority is the EHR's, else the one typed MR);
PV1 gives the visit as the HL7 v2-to-FHIR mapping reads it (PV1-2 class, PV1-3 location, PV1-14 admit
source, PV1-19 visit number, PV1-36 discharge disposition, PV1-44/45 the period). A coded field keeps the
sender's code, text and coding system unless it is a code of the HL7 table (mappings/tables/v2_*.yaml). Every reason a
message cannot be read is a ContentError carrying its table 0357 condition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import hl7

from fhir_adapter.domain.events import V2_KINDS, Coded, ContentError, Event, Patient, Visit
from fhir_adapter.events.v2_dates import FORM, date, instant
from fhir_adapter.mapping.terminology import CodeTable

GENDERS = {"M": "male", "F": "female", "O": "other", "U": "unknown", "A": "other", "N": "unknown"}
NEEDS_VISIT = ("admit", "register", "discharge", "cancel-admit", "cancel-discharge")
REQUIRED, SEQUENCE, MESSAGE_TYPE, EVENT_CODE = "101", "100", "200", "201"  # table 0357 (FORM: v2_dates)
# The message types taken, each with the trigger events taken of it (none named: every one).
TAKEN: dict[str, frozenset[str]] = {"ADT": frozenset(), "REF": frozenset({"I12"}), "RRI": frozenset({"I12"})}
TAKEN_WORDS = "ADT, REF^I12 and RRI^I12"


def normalise(raw: str) -> str:
    """Segments end in CR on the wire; files and HTTP bodies often carry LF or CRLF instead."""
    return raw.replace("\r\n", "\r").replace("\n", "\r").strip("\r\x0b\x1c ")


def same_message(first: str, again: str) -> bool:
    """Whether a message under a control id seen before is that message sent again: every segment after
    MSH the same (a resend may carry a new MSH-7 time; a sender that numbers from 1 again sends others)."""

    def after_msh(text: str) -> list[str]:
        return [s for s in normalise(text).split("\r")[1:] if s]

    return after_msh(first) == after_msh(again)


def _encoding(text: str) -> None:
    """MSH-1 and MSH-2 must be distinct characters that are no letter, digit or space: the message cannot
    be split into fields and components otherwise."""
    sep = text[3]
    chars = text[4:].split("\r", 1)[0].split(sep, 1)[0]
    if sep.isalnum() or sep.isspace():
        raise ContentError(f"MSH-1 (field separator) is {sep!r}: not a separator", "MSH-1", FORM)
    if (
        not 4 <= len(chars) <= 5
        or len(set(chars + sep)) != len(chars) + 1
        or any(c.isalnum() or c.isspace() for c in chars)
    ):
        raise ContentError(
            f"MSH-2 (encoding characters) is {chars[:8]!r}: four distinct separators are needed",
            "MSH-2",
            FORM,
        )


def parse(raw: str) -> hl7.Message:
    text = normalise(raw)
    if not text.startswith("MSH") or len(text) < 8:
        raise ContentError("not an HL7 v2 message: it does not begin with an MSH segment", "MSH", SEQUENCE)
    _encoding(text)
    if "\x00" in text:  # no HL7 value holds one, and a database text column cannot keep it
        raise ContentError("the message holds a NUL character", "", FORM)
    try:
        return hl7.parse(text)
    except Exception as err:  # python-hl7 raises plain exceptions on broken framing
        raise ContentError(f"the message cannot be parsed: {err}", "MSH", FORM) from err


def value_of(message: hl7.Message, segment: str, number: int) -> str:
    try:
        value = str(message.segment(segment)[number])
    except (KeyError, IndexError):
        return ""
    return value


def parts(value: str, sep: str) -> list[str]:
    return value.split(sep) if value else []


def part(value: str, sep: str, index: int) -> str:
    found = parts(value, sep)
    return found[index] if len(found) > index else ""


def unescape(message: hl7.Message, value: str) -> str:
    """A value with its escape sequences read (HL7 v2 section 2.7: F S T R E and Xhh..); other sequences,
    and what a hex sequence makes that is no text, are dropped. python-hl7's own unescape raises, or warns,
    on sequences a sender may well send; this never fails."""
    esc = str(message.esc)
    if not esc or esc not in value:
        return value
    field, rep, comp, sub = list(str(message.separators))[1:5]
    known: dict[str, str] = {"F": field, "R": rep, "S": comp, "T": sub, "E": esc, ".br": " "}

    def read(found: re.Match[str]) -> str:
        seq = found.group(1)
        if seq in known:
            return known[seq]
        if re.fullmatch(r"X(?:[0-9A-Fa-f]{2})+", seq):
            return "".join(c for c in bytes.fromhex(seq[1:]).decode("latin-1") if c.isprintable())
        return ""

    return re.sub(re.escape(esc) + "([^" + re.escape(esc) + "]*)" + re.escape(esc), read, value)


Tables = Mapping[str, CodeTable]  # the catalogue's: the loader requires the v2_* ones this reads


def _of_table(table: CodeTable, code: str, system: str) -> bool:
    """Whether (code, CWE.3 system) is the HL7 table's code: the system left empty or naming the table."""
    own = str(table.system)
    alias = "HL7" + own.rsplit("-", 1)[-1]  # v2-0112 → HL70112
    return table.key_for_coding(own, code) is not None and system in ("", alias, own)


def coded_value(message: hl7.Message, field: str, table: CodeTable | None = None) -> Coded | None:
    """A coded field's text (IS, or CWE code^text^system; its first repetition) as the sender sent it: the
    HL7 table's system only for one of the table's codes that names no other coding system."""
    rep, comp = message.separators[2], message.separators[3]
    value = part(field, rep, 0)
    code, text, system = (unescape(message, part(value, comp, i)) for i in (0, 1, 2))
    if not (code or text):
        return None
    if table is not None and _of_table(table, code, system):
        return Coded(code, text or None, table.system)
    return Coded(code or text, text or None, system or None)


def coded_field(message: hl7.Message, segment: str, number: int, table: CodeTable) -> Coded | None:
    """A coded field of the message's first `segment` (coded_value)."""
    return coded_value(message, value_of(message, segment, number), table)


def _mrn(message: hl7.Message, authority: str | None) -> tuple[str, str | None]:
    """(MRN, its assigning authority) from PID-3: the EHR's authority first, else the repetition typed MR,
    else the first (one of another authority matches no client: the message waits for a person)."""
    rep_sep, comp, sub = message.separators[2], message.separators[3], message.separators[4]
    found: list[tuple[str, str | None, str]] = []
    for rep in parts(value_of(message, "PID", 3), rep_sep):
        value = part(rep, comp, 0)
        if not value:
            continue
        hd = part(rep, comp, 3)
        names = [n for n in (part(hd, sub, 0), part(hd, sub, 1)) if n]
        if authority and authority in names:
            return value, authority
        found.append((value, names[0] if names else None, part(rep, comp, 4)))
    if not found:
        raise ContentError("PID-3 (patient identifier list) holds no identifier", "PID-3", REQUIRED)
    typed = [f for f in found if f[2] == "MR"]
    value, assigner, _ = (typed or found)[0]
    return value, assigner


def patient_of(message: hl7.Message, authority: str | None, sexes: CodeTable) -> Patient:
    mrn, assigner = _mrn(message, authority)
    comp, rep_sep, sub = message.separators[3], message.separators[2], message.separators[4]
    name = part(value_of(message, "PID", 5), rep_sep, 0)
    family = unescape(message, part(part(name, comp, 0), sub, 0)) or None
    given = unescape(message, part(name, comp, 1)) or None
    sex = coded_field(message, "PID", 8, sexes)  # a sex of the sender's own is no FHIR gender
    return Patient(
        mrn=mrn,
        authority=assigner,
        family=family,
        given=given,
        birth_date=date(value_of(message, "PID", 7), "PID-7"),
        gender=GENDERS[sex.code] if sex and sex.system == sexes.system else None,
    )


def _class(message: hl7.Message, tables: Tables) -> str | None:
    """PV1-2 as a v3 ActCode when it is a table 0004 class the ConceptMap maps; the sender's own code as
    it came when it is not of table 0004; nothing for the table's classes that have no ActCode (N, U)."""
    coded = coded_field(message, "PV1", 2, tables["v2_patient_class"])
    if coded is None:
        return None
    if coded.system != tables["v2_patient_class"].system:
        bounded(coded.code, 20, "PV1-2")
        return coded.code
    classes = tables["patient_class"]
    key = classes.key_for_code("v2", coded.code)
    return classes.code(key, "v3") if key else None


def _words(coded: Coded | None, table: CodeTable) -> str | None:
    """What a coded value says: its text, else the table's display of an HL7 code, else the code."""
    if coded is None:
        return None
    key = table.key_for_coding(table.system, coded.code) if coded.system == table.system else None
    said = coded.display or (str(table.entry(key).get("display", coded.code)) if key else coded.code)
    return said[:200] or None


def _visit(message: hl7.Message, tables: Tables) -> Visit:
    comp = message.separators[3]
    sub = message.separators[4]
    location = value_of(message, "PV1", 3)
    where = [unescape(message, part(part(location, comp, i), sub, 0)) for i in (3, 0, 1, 2)]
    return Visit(
        number=part(value_of(message, "PV1", 19), comp, 0) or None,
        class_code=_class(message, tables),
        location=" / ".join(w for w in where if w)[:200] or None,
        admit_source=_words(
            coded_field(message, "PV1", 14, tables["v2_admit_source"]), tables["v2_admit_source"]
        ),
        admitted_at=instant(value_of(message, "PV1", 44), "PV1-44"),
        discharged_at=instant(value_of(message, "PV1", 45), "PV1-45"),
        disposition=coded_field(message, "PV1", 36, tables["v2_discharge_disposition"]),
    )


def bounded(value: str | None, limit: int, where: str) -> None:
    if value and len(value) > limit:
        raise ContentError(f"{where} is longer than {limit} characters", where, FORM)


def header(message: hl7.Message) -> tuple[str, str, str]:
    """The message's control id, type and trigger event, from an MSH that names a message type we take
    (TAKEN: ADT of any event, and the referral messages of theirs)."""
    comp = message.separators[3]
    msh9 = value_of(message, "MSH", 9)
    control_id = value_of(message, "MSH", 10)
    if not control_id:
        raise ContentError("MSH-10 (message control id) is empty", "MSH-10", REQUIRED)
    kind, code = part(msh9, comp, 0), part(msh9, comp, 1)
    if kind not in TAKEN:
        raise ContentError(
            f"MSH-9 is {msh9[:40] or 'empty'}: the message types taken are {TAKEN_WORDS}",
            "MSH-9",
            MESSAGE_TYPE,
        )
    if not code:
        raise ContentError("MSH-9.2 (trigger event) is empty", "MSH-9", REQUIRED)
    if TAKEN[kind] and code not in TAKEN[kind]:
        raise ContentError(
            f"MSH-9 is {msh9[:40]}: the message types taken are {TAKEN_WORDS}", "MSH-9", EVENT_CODE
        )
    return control_id, kind, code


def _named(kind: str, code: str, visit: Visit, merged: str | None) -> None:
    """Refuse an event that does not name what it is about: its visit, or for a merge who is merged."""
    if kind in NEEDS_VISIT and not visit.number:
        raise ContentError(
            f"PV1-19 (visit number) is empty: an {code} must name its visit", "PV1-19", REQUIRED
        )
    if kind == "merge" and not merged:
        raise ContentError(
            "MRG-1 (prior patient identifier) is empty: an A40 must name who is merged", "MRG-1", REQUIRED
        )


def to_event(message: hl7.Message, channel: str, authority: str | None, tables: Tables) -> Event:
    """The event one ADT message carries; ContentError names the field that stops it. `tables`: the
    catalogue's code tables (the v2 tables of V2_TABLES, and patient_class for the Encounter's class)."""
    comp = message.separators[3]
    control_id, _, code = header(message)
    kind = V2_KINDS.get(code, "other")
    patient = patient_of(message, authority, tables["v2_administrative_sex"])
    visit = _visit(message, tables)
    for value, limit, where in (
        (control_id, 200, "MSH-10"),
        (code, 10, "MSH-9"),
        (patient.mrn, 128, "PID-3"),
        (patient.authority, 200, "PID-3"),
        (visit.number, 200, "PV1-19"),
    ):
        bounded(value, limit, where)
    merged = part(value_of(message, "MRG", 1), comp, 0) or None
    _named(kind, code, visit, merged)
    return Event(
        channel=channel,
        control_id=f"v2:{control_id}",
        event=code,
        kind=kind,
        patient=patient,
        visit=visit,
        occurred_at=instant(value_of(message, "EVN", 2), "EVN-2")
        or instant(value_of(message, "MSH", 7), "MSH-7"),
        merged_mrn=merged,
    )
