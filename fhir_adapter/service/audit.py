"""An audit record for every request that reads or writes patient data, and its FHIR AuditEvent face.

https://hl7.org/fhir/R4/auditevent.html ; interactions from http://hl7.org/fhir/restful-interaction.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from fhir_adapter.domain.audit import AuditRow

ACTIONS = {"create": "C", "read": "R", "search": "R", "update": "U", "delete": "D"}
EVENT_TYPE = {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"}
INTERACTION = "http://hl7.org/fhir/restful-interaction"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
SIGN_IN = "login"  # a person signing in to the workspace: type DCM 110114 User Authentication, subtype Login
PERSON = "person/"  # the agent id of a person signed in to the workspace: person/<their id>
OUTCOME_TEXT = {"0": "success", "4": "minor failure", "8": "serious failure", "12": "major failure"}


def outcome_of(status: int) -> str:
    """AuditEvent.outcome: 0 success, 4 refused or bad request, 8 the server failed."""
    if status < 400:
        return "0"
    return "4" if status < 500 else "8"


def new_id() -> str:
    return str(uuid.uuid4())


def by_service(
    org_id: str,
    agent: tuple[str, str],
    interaction: str,
    method: str,
    route: str,
    patient_id: str | None,
    now: str,
    entities: list[str] | None = None,
) -> AuditRow:
    """What the service's own processes did with patient data (a delivery, an event an EHR sent, a
    read-back): no request behind it, so no network address; it succeeded, or it is not recorded."""
    return AuditRow(
        id=new_id(),
        recorded=now,
        org_id=org_id,
        agent_id=agent[0],
        agent_name=agent[1],
        source_address=None,
        action="C",
        interaction=interaction,
        method=method,
        route=route[:200],
        status_code=200,
        outcome="0",
        patient_id=patient_id,
        entities=entities or [],
        query=None,
    )


SIGNING_IN = {
    "type": {"system": DCM, "code": "110114", "display": "User Authentication"},
    "subtype": [{"system": DCM, "code": "110122", "display": "Login"}],
}


def signed_in(
    org_id: str | None, person: tuple[str, str] | None, address: str | None, status: int, now: str
) -> AuditRow:
    """A sign-in to the workspace (status 302 let in, 401 refused), with whose account the name is when it
    is one (the name typed is not kept: it may be a password typed in the wrong box)."""
    return AuditRow(
        id=new_id(),
        recorded=now,
        org_id=org_id,
        agent_id=f"{PERSON}{person[0]}" if person else None,
        agent_name=person[1] if person else None,
        source_address=address,
        action="E",
        interaction=SIGN_IN,
        method="POST",
        route="/app/login",
        status_code=status,
        outcome=outcome_of(status),
        patient_id=None,
        entities=[],
        query=None,
    )


def _agent(row: AuditRow) -> dict[str, Any]:
    """Who did it. A person signed in to the workspace is a human user (agent id person/<their id>); an API
    client, a data processor."""
    person = (row.agent_id or "").startswith(PERSON)
    agent: dict[str, Any] = {
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
                    "code": "humanuser" if person or row.agent_id is None else "dataprocessor",
                }
            ]
        },
        "requestor": True,
    }
    if row.agent_id or row.agent_name:
        agent["who"] = {k: v for k, v in (("display", row.agent_name or row.agent_id),) if v}
        if row.agent_id:
            system, value = (
                ("urn:fhir-adapter:person", row.agent_id[len(PERSON) :])
                if person
                else ("urn:fhir-adapter:api-client", row.agent_id)
            )
            agent["who"]["identifier"] = {"system": system, "value": value}
    if row.source_address:
        agent["network"] = {"address": row.source_address, "type": "2"}
    return agent


def to_fhir_audit_event(row: AuditRow) -> dict[str, Any]:
    """One audit record as an R4 AuditEvent."""
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": row.id,
        "type": EVENT_TYPE,
        "subtype": [{"system": INTERACTION, "code": row.interaction}],
        **(SIGNING_IN if row.interaction == SIGN_IN else {}),
        "action": row.action,
        "recorded": row.recorded,
        "outcome": row.outcome,
        "outcomeDesc": f"HTTP {row.status_code} ({OUTCOME_TEXT[row.outcome]}): {row.method} {row.route}",
        "agent": [_agent(row)],
        "source": {
            "observer": {"display": "fhir-adapter"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4"}],
        },
    }
    entities: list[dict[str, Any]] = [{"what": {"reference": ref}} for ref in row.entities]
    if row.query:
        entities.append({"query": base64.b64encode(row.query.encode()).decode()})
    if entities:
        event["entity"] = entities
    return event
