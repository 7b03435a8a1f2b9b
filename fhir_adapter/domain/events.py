"""An admission, discharge or update as read from any channel: who, which visit, what happened; and what an
HL7 v2 referral (REF^I12) or its answer (RRI^I12) says, as the hospital said it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

V2_KINDS = {
    "A01": "admit",
    "A04": "register",
    "A08": "update",
    "A03": "discharge",
    "A11": "cancel-admit",
    "A13": "cancel-discharge",
    "A40": "merge",
}


class ContentError(Exception):
    """The message cannot be read as an event: the reason names the field (an AE, a 4xx). `code` is the
    HL7 table 0357 condition an ACK's ERR segment carries (102: a value of the wrong form)."""

    def __init__(self, reason: str, where: str = "", code: str = "102") -> None:
        super().__init__(reason)
        self.reason = reason
        self.where = where
        self.code = code


@dataclass(frozen=True)
class Coded:
    code: str
    display: str | None = None
    system: str | None = None


@dataclass(frozen=True)
class Patient:
    """Who the event is about, as the hospital names them."""

    mrn: str | None = None
    authority: str | None = None  # PID-3.4 (namespace or universal id) or the FHIR identifier system
    ehr_patient_id: str | None = None  # the EHR's Patient id, when the event is FHIR
    family: str | None = None
    given: str | None = None
    birth_date: str | None = None  # YYYY-MM-DD
    gender: str | None = None  # FHIR administrative gender


@dataclass(frozen=True)
class Visit:
    """The hospital encounter (PV1, or the FHIR Encounter)."""

    number: str | None = None  # PV1-19 visit number, or the Encounter's identifier
    encounter_id: str | None = None  # the EHR's Encounter id, when the event is FHIR
    class_code: str | None = None  # v3 ActCode: IMP, EMER, AMB, ...
    location: str | None = None
    admit_source: str | None = None
    admitted_at: str | None = None  # stored instants (UTC)
    discharged_at: str | None = None
    disposition: Coded | None = None


@dataclass(frozen=True)
class EntityId:
    """An EI: the identifier and who assigned it (namespace id, universal id and its type)."""

    value: str
    namespace: str | None = None
    universal: str | None = None
    universal_type: str | None = None


@dataclass(frozen=True)
class Provider:
    """One PRD: the provider's role, name, organisation, address, phone and identifiers."""

    role: Coded | None = None  # PRD-1, table 0286: RP referring, RT referred to
    name: str | None = None  # PRD-2, as written: prefix, given, family, degree
    organization: str | None = None  # PRD-10, else the facility of PRD-4
    address: str | None = None  # PRD-3
    phone: str | None = None  # PRD-5
    identifiers: tuple[str, ...] = ()  # PRD-7, each "id (type)"

    @property
    def role_code(self) -> str:
        return self.role.code if self.role else ""


@dataclass(frozen=True)
class ReferralMessage:
    """RF1 and what travels with it. `unread` names each segment present that no record carries."""

    message_type: str  # REF or RRI
    status: Coded | None = None  # RF1-1, table 0283
    priority: Coded | None = None  # RF1-2, table 0280
    referral_type: Coded | None = None  # RF1-3, table 0281
    category: Coded | None = None  # RF1-5, table 0284
    originating: EntityId | None = None  # RF1-6
    external: EntityId | None = None  # RF1-11
    effective: str | None = None  # RF1-7, a stored instant
    expiration: str | None = None  # RF1-8, a stored instant
    reason: Coded | None = None  # RF1-10, table 0336
    providers: tuple[Provider, ...] = ()
    diagnoses: tuple[Coded, ...] = ()  # DG1-3 (DG1-4 the words when it has no code)
    procedures: tuple[Coded, ...] = ()  # PR1-3 (PR1-4 the words)
    notes: tuple[str, ...] = ()  # NTE-3 of RF1, PRD, PID, DG1 and PR1
    sent_at: str | None = None  # MSH-7, a stored instant
    facility: str | None = None  # MSH-4, the sending facility
    unread: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReferralMessage:
        def coded(value: Any) -> Coded | None:
            return Coded(**value) if value else None

        def ident(value: Any) -> EntityId | None:
            return EntityId(**value) if value else None

        providers = tuple(
            Provider(**{**p, "role": coded(p.get("role")), "identifiers": tuple(p.get("identifiers", ()))})
            for p in data.get("providers", ())
        )
        return cls(
            **{
                **data,
                **{
                    k: coded(data.get(k))
                    for k in ("status", "priority", "referral_type", "category", "reason")
                },
                "originating": ident(data.get("originating")),
                "external": ident(data.get("external")),
                "providers": providers,
                "diagnoses": tuple(Coded(**d) for d in data.get("diagnoses", ())),
                "procedures": tuple(Coded(**d) for d in data.get("procedures", ())),
                "notes": tuple(data.get("notes", ())),
                "unread": tuple(data.get("unread", ())),
            }
        )


@dataclass(frozen=True)
class Event:
    channel: str  # mllp | http | notification | process-message | query
    control_id: str  # what a repeat of the same message carries again
    event: str  # A01, notification-admit, encounter:in-progress ...
    kind: str  # admit register update discharge cancel-admit cancel-discharge merge, referral (REF),
    # referral-answer (RRI), or other (not acted on)
    patient: Patient
    visit: Visit = field(default_factory=Visit)
    occurred_at: str | None = None
    merged_mrn: str | None = None  # A40: the MRN merged away (MRG-1)
    referral: ReferralMessage | None = None  # REF^I12 and RRI^I12: what the message says of the referral

    @property
    def visit_key(self) -> str | None:
        """What names the admission: the visit number, else the EHR's Encounter."""
        if self.visit.number:
            return self.visit.number
        return f"Encounter/{self.visit.encounter_id}" if self.visit.encounter_id else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        visit = dict(data.get("visit") or {})
        if visit.get("disposition"):
            visit["disposition"] = Coded(**visit["disposition"])
        referral = ReferralMessage.from_json(data["referral"]) if data.get("referral") else None
        patient, visit_ = Patient(**data["patient"]), Visit(**visit)
        return cls(**{**data, "patient": patient, "visit": visit_, "referral": referral})
