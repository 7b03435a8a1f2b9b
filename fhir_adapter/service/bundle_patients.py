"""A Patient entry of a Bundle an EHR posts names one of our patients, for the other entries to refer to:
by our client identifier, or by an identifier (system and value) that client's Patient holds. It is never
written here: the client's record is the case manager's."""

from __future__ import annotations

from typing import Any

from fhir_adapter.domain.stored import Stored
from fhir_adapter.mapping.from_fhir_common import Finding, ReverseContext
from fhir_adapter.service.context import Principal
from fhir_adapter.service.errors import invalid
from fhir_adapter.service.fhir_intake import Received
from fhir_adapter.service.ports import Work
from fhir_adapter.service.records import Deps

JSON = dict[str, Any]


def our_patient(work: Work, deps: Deps, principal: Principal, resource: JSON) -> Received:
    """The stored Patient of the client the entry names; 422 naming its identifier when it names none."""
    org = principal.org
    ours = ReverseContext(deps.catalogue, org.identity).our_id(resource, "client")
    candidates = {ours} if ours else _by_identifier(work, org.id, resource)
    found = [s for s in (_visible(work, principal, c) for c in sorted(candidates)) if s is not None]
    if len(found) != 1:
        why = "is none of this service's patients" if not found else "names more than one of our patients"
        raise invalid(
            f"the Patient {why} (by our identifier, or an identifier's system and value)", "identifier"
        )
    finding = Finding(
        "Patient", f"names our Patient/{found[0].id}: a Patient is not written here", "information"
    )
    return Received(False, found[0], [finding])


def _by_identifier(work: Work, org_id: str, resource: JSON) -> set[str]:
    """The clients whose Patient holds one of the resource's identifiers, system and value alike."""
    clients = set()
    for ident in resource.get("identifier") or []:
        if not ident.get("system") or not ident.get("value"):
            continue
        for client_id, patient in work.patients.with_identifier(org_id, str(ident["value"])):
            held = {(i.get("system"), i.get("value")) for i in patient.get("identifier", [])}
            if (ident["system"], ident["value"]) in held:
                clients.add(client_id)
    return clients


def _visible(work: Work, principal: Principal, client_id: str) -> Stored | None:
    org = principal.org
    if not work.records.exists(org.id, "client", client_id):
        return None
    stored = work.resources.read(org.id, "Patient", org.identity.uuid("client", client_id))
    if stored is None or stored.deleted or (stored.restricted and not principal.restricted_access):
        return None
    return stored
