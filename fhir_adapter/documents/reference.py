"""The US Core DocumentReference that carries a record as a clinical note: typed by LOINC after the kind of
record, with the page as HTML and as PDF, naming the document it replaces.

Identity: `identifier` is the record's (one per record: the EHR's current document for it is found by it);
`masterIdentifier` is this version's, made from what the page says and the versions it was made of, so
that sending the same version again finds the document already there (If-None-Exist) instead of adding a
copy, and any change makes a new one that replaces the last.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]
LOINC = "http://loinc.org"
US_CORE_DOCREF = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-documentreference"
CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
FORMAT = "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode"

# The kind of record → the LOINC document type (https://loinc.org, Document Ontology).
TYPES: dict[str, tuple[str, str]] = {
    "service-plan": ("18776-5", "Plan of care note"),
    "assessment": ("51848-0", "Evaluation note"),
    "referral": ("57133-1", "Referral note"),
    "episode": ("34133-9", "Summary of episode note"),
}


@dataclass(frozen=True)
class Page:
    """One record's page, and what it was made of."""

    kind: str  # the kind of record (a key of TYPES)
    identifier: JSON  # the record's main resource's business identifier
    title: str
    html: str
    made_of: tuple[str, ...]  # "Type/id/version" of each resource the page shows
    date: str  # when the record last changed
    language: str


def document_id(org: str, kind: str, record_id: str) -> str:
    """Our id for a record's document (the ledger's key for it)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:fhir-adapter:{org}:document:{kind}:{record_id}"))


def version_identifier(page: Page) -> JSON:
    digest = hashlib.sha256(page.html.encode() + "\n".join(page.made_of).encode()).hexdigest()
    return {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.UUID(digest[:32])}"}


def document(
    page: Page, pdf: bytes, subject: str, author: str, replaces: str | None, encounter: JSON | None = None
) -> JSON:
    """The DocumentReference (`subject`: the EHR's "Patient/id"; `replaces`: the EHR's id of the last one;
    `encounter`: a Reference to the admission's Encounter, where the record's resources name one)."""
    code, display = TYPES[page.kind]
    ident = page.identifier
    doc: JSON = {
        "resourceType": "DocumentReference",
        "meta": {"profile": [US_CORE_DOCREF]},
        "masterIdentifier": version_identifier(page),
        "identifier": [{"system": f"{ident.get('system')}/document", "value": ident.get("value")}],
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "category": [{"coding": [{"system": CATEGORY, "code": "clinical-note", "display": "Clinical Note"}]}],
        "subject": {"reference": subject},
        "date": page.date,
        "author": [{"display": author}],
        "description": page.title,
        "content": [
            _content("text/html", page.html.encode(), page, "urn:ihe:iti:xds:2017:mimeTypeSufficient"),
            _content("application/pdf", pdf, page, "urn:ihe:iti:xds:2017:mimeTypeSufficient"),
        ],
    }
    if encounter:
        doc["context"] = {"encounter": [encounter]}
    if replaces:
        doc["relatesTo"] = [{"code": "replaces", "target": {"reference": f"DocumentReference/{replaces}"}}]
    return doc


def _content(content_type: str, data: bytes, page: Page, format_code: str) -> JSON:
    attachment = {
        "contentType": content_type,
        "language": page.language,
        "data": base64.b64encode(data).decode(),
        "title": page.title,
        "size": len(data),
        "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(),  # noqa: S324 - FHIR asks for SHA-1
    }
    return {"attachment": attachment, "format": {"system": FORMAT, "code": format_code}}
