"""An admission, discharge or update as read from any channel: who, which visit, what happened."""

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
class Event:
    channel: str  # mllp | http | notification | process-message | query
    control_id: str  # what a repeat of the same message carries again
    event: str  # A01, notification-admit, encounter:in-progress ...
    kind: str  # admit register update discharge cancel-admit cancel-discharge merge, or other (not acted on)
    patient: Patient
    visit: Visit = field(default_factory=Visit)
    occurred_at: str | None = None
    merged_mrn: str | None = None  # A40: the MRN merged away (MRG-1)

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
        return cls(**{**data, "patient": Patient(**data["patient"]), "visit": Visit(**visit)})
