"""HL7 v2 REF^I12 (a patient referral) and RRI^I12 (its answer) → Event carrying a ReferralMessage.

RF1 gives the referral (RF1-1 status, RF1-2 priority, RF1-3 type, RF1-5 category, RF1-6 originating and
RF1-11 external referral identifier, RF1-7 effective and RF1-8 expiration date, RF1-10 reason), PRD the
providers (role, name, address, phone, identifiers, organisation), DG1 the diagnoses, PR1 the procedures,
NTE the notes of those segments; PID the patient as for ADT. A coded field keeps the sender's code, text and
coding system. Each other segment, and each other field of those segments that holds something, is named in
`unread`, so that what no record carries is said.
https://hl7.org/v2/ (chapter 11, Patient Referral).
"""

from __future__ import annotations

import hl7

from fhir_adapter.domain.events import Coded, ContentError, EntityId, Event, Provider, ReferralMessage
from fhir_adapter.events.hl7v2 import (
    REQUIRED,
    Tables,
    bounded,
    coded_value,
    header,
    part,
    parts,
    patient_of,
    unescape,
    value_of,
)
from fhir_adapter.events.v2_dates import date, instant

READ = frozenset({"MSH", "RF1", "PRD", "PID", "DG1", "PR1"})  # the segments whose NTEs are notes
# The fields read of the segments that make the referral (1 of DG1, PR1: the set id, a counter).
FIELDS = {
    "RF1": frozenset({1, 2, 3, 5, 6, 7, 8, 10, 11}),
    "PRD": frozenset({1, 2, 3, 4, 5, 7, 10}),
    "DG1": frozenset({1, 3, 4}),
    "PR1": frozenset({1, 3, 4}),
}
KINDS = {"REF": "referral", "RRI": "referral-answer"}


def _field(segment: hl7.Segment, number: int) -> str:
    return str(segment[number]) if number < len(segment) else ""


def _when(value: str, where: str) -> str | None:
    """A DT as a FHIR date, a DTM with a time as a stored instant."""
    if len(value.split("+")[0].split("-")[0].split(".")[0]) <= 8:
        return date(value, where)
    return instant(value, where)


def _entity(message: hl7.Message, where: str, number: int) -> EntityId | None:
    """An EI (identifier^namespace id^universal id^universal id type), its first repetition."""
    comp = message.separators[3]
    value = part(value_of(message, "RF1", number), message.separators[2], 0)
    said = [unescape(message, part(value, comp, i)) for i in range(4)]
    if not said[0]:
        return None
    bounded(said[0], 200, where)
    return EntityId(said[0], said[1] or None, said[2] or None, said[3] or None)


def _name(message: hl7.Message, value: str) -> str | None:
    """An XPN as written: prefix, given, middle, family, suffix and degree."""
    comp, sub = message.separators[3], message.separators[4]
    name = part(value, message.separators[2], 0)
    family = part(part(name, comp, 0), sub, 0)
    said = [part(name, comp, i) for i in (4, 1, 2)] + [family] + [part(name, comp, i) for i in (3, 5)]
    return unescape(message, " ".join(s for s in said if s)) or None


def _joined(message: hl7.Message, value: str, indexes: tuple[int, ...], sep: str = ", ") -> str | None:
    comp, sub = message.separators[3], message.separators[4]
    first = part(value, message.separators[2], 0)
    said = [part(part(first, comp, i), sub, 0) for i in indexes]
    return unescape(message, sep.join(s for s in said if s)) or None


def _provider(message: hl7.Message, segment: hl7.Segment) -> Provider:
    rep, comp = message.separators[2], message.separators[3]
    ids = []
    for pln in parts(_field(segment, 7), rep):
        kind = part(pln, comp, 1)
        if part(pln, comp, 0):
            ids.append(unescape(message, part(pln, comp, 0) + (f" ({kind})" if kind else "")))
    phone = _joined(message, _field(segment, 5), (0, 11, 3)) or _joined(
        message, _field(segment, 5), (5, 6), " "
    )
    return Provider(
        role=coded_value(message, _field(segment, 1)),
        name=_name(message, _field(segment, 2)),
        organization=_joined(message, _field(segment, 10), (0,))
        or _joined(message, _field(segment, 4), (3,)),
        address=_joined(message, _field(segment, 3), (0, 1, 2, 3, 4, 5)),
        phone=phone,
        identifiers=tuple(ids),
    )


def _coded(message: hl7.Message, segment: hl7.Segment, code_at: int, words_at: int) -> Coded | None:
    """A coded field of a repeated segment (DG1-3, PR1-3) as sent, with the description field's words
    (DG1-4, PR1-4) when the code has none; the words alone (an empty code) when there is no code."""
    comp = message.separators[3]
    value = part(_field(segment, code_at), message.separators[2], 0)
    code, text, system = (unescape(message, part(value, comp, i)) for i in (0, 1, 2))
    text = text or unescape(message, _field(segment, words_at)).strip()
    if not (code or text):
        return None
    return Coded(code, text or None, system or None)


def _segments(message: hl7.Message) -> tuple[list[Provider], list[Coded], list[Coded], list[str], list[str]]:
    """The providers, diagnoses, procedures, notes, and the segments read by no record, in message order."""
    providers: list[Provider] = []
    diagnoses: list[Coded] = []
    procedures: list[Coded] = []
    notes: list[str] = []
    unread: list[str] = []
    owner = "MSH"
    for segment in message:
        name = str(segment[0])
        if name == "NTE":
            text = "\n".join(unescape(message, t) for t in parts(_field(segment, 3), message.separators[2]))
            if owner not in READ:
                unread.append(f"NTE of {owner}")
            elif text.strip():
                notes.append(text.strip())
            continue
        owner = name
        read = FIELDS.get(name)
        if read is not None:
            unread += [
                f"{name}-{i}" for i in range(1, len(segment)) if i not in read and str(segment[i]).strip()
            ]
        if name == "PRD":
            providers.append(_provider(message, segment))
        elif name in ("DG1", "PR1"):
            found = _coded(message, segment, 3, 4)
            if found:
                (diagnoses if name == "DG1" else procedures).append(found)
        elif name not in READ:
            unread.append(name)
    return providers, diagnoses, procedures, notes, list(dict.fromkeys(unread))


def _named(
    kind: str, rf1: bool, originating: EntityId | None, external: EntityId | None, status: str
) -> None:
    """Refuse a referral message that does not say which referral it is about, or an answer without its word."""
    if not rf1:
        raise ContentError(
            f"the message has no RF1 segment: a {kind}^I12 carries its referral there", "RF1", REQUIRED
        )
    if not (originating or external):
        raise ContentError(
            "RF1-6 (originating referral identifier) and RF1-11 (external referral identifier) are empty: "
            "one must name the referral",
            "RF1-6",
            REQUIRED,
        )
    if kind == "RRI" and not status:
        raise ContentError(
            "RF1-1 (referral status) is empty: an RRI^I12 answers with a status", "RF1-1", REQUIRED
        )


def to_event(message: hl7.Message, channel: str, authority: str | None, tables: Tables) -> Event:
    """The referral one REF^I12 or RRI^I12 carries; ContentError names the field that stops it."""
    control_id, kind, code = header(message)
    bounded(control_id, 200, "MSH-10")
    rf1 = any(str(s[0]) == "RF1" for s in message)
    originating, external = _entity(message, "RF1-6", 6), _entity(message, "RF1-11", 11)
    status = coded_value(message, value_of(message, "RF1", 1), tables["v2_referral_status"])
    _named(kind, rf1, originating, external, status.code if status else "")
    patient = patient_of(message, authority, tables["v2_administrative_sex"])
    bounded(patient.mrn, 128, "PID-3")
    bounded(patient.authority, 200, "PID-3")
    said = _said(message, kind, status, originating, external, tables)
    return Event(
        channel=channel,
        control_id=f"v2:{control_id}",
        event=f"{kind}^{code}",
        kind=KINDS[kind],
        patient=patient,
        occurred_at=said.sent_at,
        referral=said,
    )


def _said(
    message: hl7.Message,
    kind: str,
    status: Coded | None,
    originating: EntityId | None,
    external: EntityId | None,
    tables: Tables,
) -> ReferralMessage:
    providers, diagnoses, procedures, notes, unread = _segments(message)
    facility = value_of(message, "MSH", 4)
    return ReferralMessage(
        message_type=kind,
        status=status,
        priority=coded_value(message, value_of(message, "RF1", 2), tables["v2_referral_priority"]),
        referral_type=coded_value(message, value_of(message, "RF1", 3)),
        category=coded_value(message, value_of(message, "RF1", 5)),
        originating=originating,
        external=external,
        effective=_when(value_of(message, "RF1", 7), "RF1-7"),
        expiration=_when(value_of(message, "RF1", 8), "RF1-8"),
        reason=coded_value(message, value_of(message, "RF1", 10)),
        providers=tuple(providers),
        diagnoses=tuple(diagnoses),
        procedures=tuple(procedures),
        notes=tuple(notes),
        sent_at=instant(value_of(message, "MSH", 7), "MSH-7"),
        facility=_joined(message, facility, (0,)) or _joined(message, facility, (1,)),
        unread=tuple(unread),
    )
