"""What the stores keep and give back: a record with its version, a FHIR resource as served, an
organisation and an API client registered for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StoredRecord:
    kind: str
    record_id: str
    client_id: str
    version: int
    data: dict[str, Any]
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Stored:
    resource_type: str
    id: str
    version_id: int
    last_updated: str
    deleted: bool
    data: str  # the resource as served, JSON text
    restricted: bool = False
    patient_id: str | None = None  # the Patient it is about (the Patient's own id for a Patient)


@dataclass(frozen=True)
class OrgRow:
    id: str
    name: str
    identifier_namespace: str
    time_zone: str | None = None  # None: the site's (FHIR_ADAPTER_TIME_ZONE)


@dataclass(frozen=True)
class ClientRow:
    id: str
    org_id: str
    name: str
    scopes: str
    created_at: str
    revoked_at: str | None
    restricted_access: bool = False
