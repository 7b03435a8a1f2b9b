"""A stored record → the FHIR R4 resources it shows as on /fhir (and, later, in the EHR).

References between our resources are literal and relative (`Patient/<uuid>`): every record a record
refers to is checked to exist before it is stored, and ids are derived from business identifiers.
"""

from __future__ import annotations

from typing import Any

from fhir_adapter.domain import records as r
from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.mapping.engine import JSON, MapContext
from fhir_adapter.mapping.errors import FhirValidationError
from fhir_adapter.mapping.identity import Identity
from fhir_adapter.mapping.kinds import RECORD_KINDS, RESOURCE_TYPES
from fhir_adapter.mapping.validation import validate_resource


class StoredContext(MapContext):
    """References to our records are literal: Type/<uuid of the record>."""

    def reference(self, kind: str, record_id: str, resource_type: str, display: str | None = None) -> JSON:
        ref: JSON = {"reference": f"{RESOURCE_TYPES[kind]}/{self.identity.uuid(kind, record_id)}"}
        if display:
            ref["display"] = display
        return ref


def project(kind: str, record: Any, catalogue: Catalogue, identity: Identity) -> list[JSON]:
    """The resources of one record, with their deterministic ids, each validated in every layer.

    Raises MappingError naming the record's field at fault (paths relative to the record: `.items[2]`),
    FhirValidationError when a resource would not be valid."""
    ctx = StoredContext(catalogue, identity, client_of(record))
    out = []
    issues = []
    for part_kind, record_id, resource in RECORD_KINDS[kind].parts(record, ctx):
        resource = {
            "resourceType": resource["resourceType"],
            "id": identity.uuid(part_kind, record_id),
            **resource,
        }
        issues += [i for i in validate_resource(resource, catalogue) if i.severity == "error"]
        out.append(resource)
    if issues:
        raise FhirValidationError(issues)
    return out


def patient_id(client_id: str, identity: Identity) -> str:
    return identity.uuid("client", client_id)


def client_of(record: Any) -> str:
    """The client a record belongs to: a client record is its own."""
    return record.id if isinstance(record, r.Client) else str(record.client_id)
