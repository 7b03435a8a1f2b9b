"""HL7 v2 ADT → Event, and the ACK that answers it (python-hl7).

The event is MSH-9.2, never EVN-1: real feeds disagree, and MSH-9 is what the sender routes on. PID-3 gives
the medical record number (the repetition whose assigning authority is the EHR's, else the one typed MR);
PV1 gives the visit as the HL7 v2-to-FHIR mapping reads it (PV1-2 class, PV1-3 location, PV1-14 admit
source, PV1-19 visit number, PV1-36 discharge disposition, PV1-44/45 the period).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import hl7

from fhir_adapter.events.model import V2_KINDS, Coded, ContentError, Event, Patient, Visit
from fhir_adapter.mapping.terminology import CodeTable

TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?$")
GENDERS = {"M": "male", "F": "female", "O": "other", "U": "unknown", "A": "other", "N": "unknown"}
NEEDS_VISIT = ("admit", "register", "discharge", "cancel-admit", "cancel-discharge")
DISPOSITION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0112"


def normalise(raw: str) -> str:
    """Segments end in CR on the wire; files and HTTP bodies often carry LF or CRLF instead."""
    return raw.replace("\r\n", "\r").replace("\n", "\r").strip("\r\x0b\x1c ")


def same_message(first: str, again: str) -> bool:
    """Whether a message under a control id seen before is that message sent again: every segment after
    MSH the same (a resend may carry a new MSH-7 time; a sender that numbers from 1 again sends others)."""

    def after_msh(text: str) -> list[str]:
        return [s for s in normalise(text).split("\r")[1:] if s]

    return after_msh(first) == after_msh(again)


def parse(raw: str) -> hl7.Message:
    text = normalise(raw)
    if not text.startswith("MSH") or len(text) < 8:
        raise ContentError("not an HL7 v2 message: it does not begin with an MSH segment", "MSH")
    try:
        return hl7.parse(text)
    except Exception as err:  # python-hl7 raises plain exceptions on broken framing
        raise ContentError(f"the message cannot be parsed: {err}", "MSH") from err


def _get(message: hl7.Message, segment: str, number: int) -> str:
    try:
        value = str(message.segment(segment)[number])
    except (KeyError, IndexError):
        return ""
    return value


def _parts(value: str, sep: str) -> list[str]:
    return value.split(sep) if value else []


def _part(value: str, sep: str, index: int) -> str:
    parts = _parts(value, sep)
    return parts[index] if len(parts) > index else ""


def instant(value: str, where: str) -> str | None:
    """An HL7 DTM (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]) as a stored UTC instant; no zone is taken as UTC."""
    if not value:
        return None
    found = TS.match(value)
    if not found:
        raise ContentError(f"{where} is not an HL7 date/time: {value[:40]!r}", where)
    y, mo, d, h, mi, s, zone = found.groups()
    tz = UTC
    if zone:
        sign = 1 if zone[0] == "+" else -1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])))
    try:
        moment = datetime(
            int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0), tzinfo=tz
        )
    except ValueError as err:
        raise ContentError(f"{where} is not a real date/time: {value[:40]!r}", where) from err
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _date(value: str, where: str) -> str | None:
    moment = instant(value[:8], where) if value else None
    return moment[:10] if moment else None


def _mrn(message: hl7.Message, authority: str | None) -> tuple[str, str | None]:
    """(MRN, its assigning authority) from PID-3: the EHR's authority first, else the repetition typed MR,
    else the first (one of another authority matches no client: the message waits for a person)."""
    rep_sep, comp, sub = message.separators[2], message.separators[3], message.separators[4]
    found: list[tuple[str, str | None, str]] = []
    for rep in _parts(_get(message, "PID", 3), rep_sep):
        value = _part(rep, comp, 0)
        if not value:
            continue
        hd = _part(rep, comp, 3)
        names = [n for n in (_part(hd, sub, 0), _part(hd, sub, 1)) if n]
        if authority and authority in names:
            return value, authority
        found.append((value, names[0] if names else None, _part(rep, comp, 4)))
    if not found:
        raise ContentError("PID-3 (patient identifier list) holds no identifier", "PID-3")
    typed = [f for f in found if f[2] == "MR"]
    value, assigner, _ = (typed or found)[0]
    return value, assigner


def _patient(message: hl7.Message, authority: str | None) -> Patient:
    mrn, assigner = _mrn(message, authority)
    comp, rep_sep, sub = message.separators[3], message.separators[2], message.separators[4]
    name = _part(_get(message, "PID", 5), rep_sep, 0)
    family = message.unescape(_part(_part(name, comp, 0), sub, 0)) or None
    given = message.unescape(_part(name, comp, 1)) or None
    sex = _get(message, "PID", 8)
    return Patient(
        mrn=mrn,
        authority=assigner,
        family=family,
        given=given,
        birth_date=_date(_get(message, "PID", 7), "PID-7"),
        gender=GENDERS.get(sex[:1]) if sex else None,
    )


def _visit(message: hl7.Message, classes: CodeTable) -> Visit:
    comp = message.separators[3]
    sub = message.separators[4]
    pv1_class = _get(message, "PV1", 2)
    class_key = classes.key_for_code("v2", _part(pv1_class, comp, 0)) if pv1_class else None
    location = _get(message, "PV1", 3)
    where = [message.unescape(_part(_part(location, comp, i), sub, 0)) for i in (3, 0, 1, 2)]
    source = _get(message, "PV1", 14)
    disposition = _get(message, "PV1", 36)
    return Visit(
        number=_part(_get(message, "PV1", 19), comp, 0) or None,
        class_code=classes.code(class_key, "v3") if class_key else None,
        location=" / ".join(w for w in where if w)[:200] or None,
        admit_source=message.unescape(_part(source, comp, 1) or _part(source, comp, 0))[:200] or None,
        admitted_at=instant(_get(message, "PV1", 44), "PV1-44"),
        discharged_at=instant(_get(message, "PV1", 45), "PV1-45"),
        disposition=Coded(
            _part(disposition, comp, 0),
            message.unescape(_part(disposition, comp, 1)) or None,
            DISPOSITION_SYSTEM,
        )
        if _part(disposition, comp, 0)
        else None,
    )


def _bounded(value: str | None, limit: int, where: str) -> None:
    if value and len(value) > limit:
        raise ContentError(f"{where} is longer than {limit} characters", where)


def to_event(message: hl7.Message, channel: str, authority: str | None, classes: CodeTable) -> Event:
    """The event one ADT message carries; ContentError names the field that stops it."""
    comp = message.separators[3]
    msh9 = _get(message, "MSH", 9)
    control_id = _get(message, "MSH", 10)
    if not control_id:
        raise ContentError("MSH-10 (message control id) is empty", "MSH-10")
    if _part(msh9, comp, 0) != "ADT":
        raise ContentError(f"MSH-9 is {msh9 or 'empty'}: only ADT messages are taken", "MSH-9")
    code = _part(msh9, comp, 1)
    if not code:
        raise ContentError("MSH-9.2 (trigger event) is empty", "MSH-9")
    kind = V2_KINDS.get(code, "other")
    patient = _patient(message, authority)
    visit = _visit(message, classes)
    for value, limit, where in (
        (control_id, 200, "MSH-10"),
        (code, 10, "MSH-9"),
        (patient.mrn, 128, "PID-3"),
        (patient.authority, 200, "PID-3"),
        (visit.number, 200, "PV1-19"),
    ):
        _bounded(value, limit, where)
    if kind in NEEDS_VISIT and not visit.number:
        raise ContentError(f"PV1-19 (visit number) is empty: an {code} must name its visit", "PV1-19")
    merged = _part(_get(message, "MRG", 1), comp, 0) or None
    if kind == "merge" and not merged:
        raise ContentError(
            "MRG-1 (prior patient identifier) is empty: an A40 must name who is merged", "MRG-1"
        )
    return Event(
        channel=channel,
        control_id=f"v2:{control_id}",
        event=code,
        kind=kind,
        patient=patient,
        visit=visit,
        occurred_at=instant(_get(message, "EVN", 2), "EVN-2") or instant(_get(message, "MSH", 7), "MSH-7"),
        merged_mrn=merged,
    )


ERROR_CODES = {"AE": "101^Required field missing^HL70357", "AR": "207^Application internal error^HL70357"}


def ack(message: hl7.Message | None, code: str, text: str = "") -> str:
    """The ACK for `message` (MSA-1 `code`, MSA-3 and ERR carrying `text`); a bare one when it could not
    be parsed at all."""
    clean = text.replace("|", "/").replace("^", "/").replace("~", "-").replace("&", "+").replace("\\", "/")
    clean = clean.replace("\r", " ").replace("\n", " ")[:200]
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    if message is None:
        lines = [f"MSH|^~\\&|fhir-adapter||||{now}||ACK|{now}|P|2.5", f"MSA|{code}||{clean}"]
    else:
        reply = str(message.create_ack(code, message_id=f"ACK{now}{_get(message, 'MSH', 10)}"[:20]))
        lines = reply.split("\r")
        lines = [f"{line}|{clean}" if line.startswith("MSA") and clean else line for line in lines if line]
    if code != "AA" and clean:
        lines.append(f"ERR|||{ERROR_CODES.get(code, ERROR_CODES['AE'])}|E||||{clean}")
    return "\r".join(lines) + "\r"
