"""An audit record: one per request or delivery that read or wrote patient data, whatever its outcome;
the FHIR AuditEvent is built from it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AuditRow:
    id: str
    recorded: str
    org_id: str | None
    agent_id: str | None
    agent_name: str | None
    source_address: str | None
    action: str  # AuditEvent.action: C R U D E
    interaction: str
    method: str
    route: str
    status_code: int
    outcome: str  # AuditEvent.outcome: 0 4 8 12
    patient_id: str | None
    entities: list[str]
    query: str | None
