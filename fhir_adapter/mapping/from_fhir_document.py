"""DocumentReference → hospital document: the type and categories whole, the statuses, date, authors, the
hospital's identifiers, the stay it belongs to, and each attachment's description. Inline bytes (`data`)
are checked (a kind a planner can open, bytes that agree with it) and kept apart by their SHA-256; the
record names them by it. https://hl7.org/fhir/R4/documentreference.html ;
US Core: https://hl7.org/fhir/us/core/STU7/StructureDefinition-us-core-documentreference.html
"""

from __future__ import annotations

import base64
import binascii
import sys

from fhir_adapter.domain import attachments
from fhir_adapter.domain.concepts import Reference, SourceIdentifier
from fhir_adapter.domain.packet import DOC_STATUSES, DOCUMENT_STATUSES, DocumentContent, HospitalDocument
from fhir_adapter.mapping.from_fhir_common import (
    JSON,
    ReverseContext,
    is_sensitive,
    report_unhandled,
)
from fhir_adapter.mapping.from_fhir_values import (
    coding_of,
    concept_from,
    concepts_from,
    identifier_of,
    identifiers_from,
    period_of,
    reference_from,
    references_from,
    rest,
)

HANDLED = frozenset(
    {
        "masterIdentifier",
        "identifier",
        "status",
        "docStatus",
        "type",
        "category",
        "subject",
        "date",
        "author",
        "authenticator",
        "custodian",
        "description",
        "securityLabel",
        "content",
        "context",
    }
)
CONTEXT_KEPT = frozenset({"encounter", "period", "facilityType", "practiceSetting"})
ATTACHMENT_KEPT = frozenset({"contentType", "language", "data", "url", "size", "hash", "title", "creation"})
KIND = "hospital-document"


def from_fhir_document_reference(
    resource: JSON, ctx: ReverseContext, path: str = "DocumentReference"
) -> HospitalDocument | None:
    report_unhandled(ctx, resource, HANDLED, path)
    status = resource.get("status")
    if status not in DOCUMENT_STATUSES:
        ctx.report(f"{path}.status", f"status {status} is not a document status: not carried")
        return None
    context = resource.get("context") or {}
    rest(ctx, context, CONTEXT_KEPT, f"{path}.context", "DocumentReference.context")
    labels = concepts_from(resource.get("securityLabel"), ctx, f"{path}.securityLabel")
    return HospitalDocument(
        id=ctx.record_id(resource, KIND, path),
        client_id=ctx.client_of(resource.get("subject"), f"{path}.subject"),
        status=str(status),
        type=concept_from(resource.get("type"), ctx, f"{path}.type"),
        categories=concepts_from(resource.get("category"), ctx, f"{path}.category"),
        doc_status=_doc_status(resource, ctx, path),
        date=resource.get("date"),
        description=resource.get("description"),
        authors=references_from(resource.get("author"), ctx, f"{path}.author"),
        authenticator=_one_reference(resource, "authenticator", ctx, path),
        custodian=_one_reference(resource, "custodian", ctx, path),
        identifiers=identifiers_from(resource, ctx, path, KIND),
        master_identifier=_master(resource, ctx, path),
        encounters=references_from(context.get("encounter"), ctx, f"{path}.context.encounter"),
        period=period_of(context.get("period"), ctx, f"{path}.context.period"),
        facility_type=concept_from(context.get("facilityType"), ctx, f"{path}.context.facilityType"),
        practice_setting=concept_from(context.get("practiceSetting"), ctx, f"{path}.context.practiceSetting"),
        security_labels=labels,
        contents=tuple(_content(c, ctx, f"{path}.content[{i}]") for i, c in enumerate(resource["content"])),
        sensitive=is_sensitive(resource) or any(_restricted(label) for label in labels),
    )


def _doc_status(resource: JSON, ctx: ReverseContext, path: str) -> str | None:
    doc_status = resource.get("docStatus")
    if doc_status is not None and doc_status not in DOC_STATUSES:
        ctx.report(f"{path}.docStatus", f"docStatus {doc_status} is not carried")
        return None
    return doc_status


def _one_reference(resource: JSON, element: str, ctx: ReverseContext, path: str) -> Reference | None:
    value = resource.get(element)
    return reference_from(value, ctx, f"{path}.{element}") if value else None


def _master(resource: JSON, ctx: ReverseContext, path: str) -> SourceIdentifier | None:
    master = resource.get("masterIdentifier")
    return identifier_of(master, ctx, f"{path}.masterIdentifier") if master else None


def _restricted(label: object) -> bool:
    codings = getattr(label, "codings", ())
    return any(c.system and c.system.endswith("v3-Confidentiality") and c.code in ("R", "V") for c in codings)


def _content(content: JSON, ctx: ReverseContext, path: str) -> DocumentContent:
    rest(ctx, content, frozenset({"attachment", "format"}), path, "DocumentReference.content")
    attachment = content["attachment"]
    where = f"{path}.attachment"
    rest(ctx, attachment, ATTACHMENT_KEPT, where, "Attachment")
    fmt = content.get("format")
    return DocumentContent(
        content_type=attachment.get("contentType"),
        language=attachment.get("language"),
        title=attachment.get("title"),
        creation=attachment.get("creation"),
        size=attachment.get("size"),
        hash=attachment.get("hash"),
        url=attachment.get("url"),
        format=coding_of(fmt, ctx, f"{path}.format") if fmt else None,
        sha256=_kept(attachment, ctx, f"{where}.data"),
    )


def inline_bytes(attachment: JSON) -> bytes | None:
    """The attachment's inline data decoded; None when it has none or it is not base64."""
    data = attachment.get("data")
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def _kept(attachment: JSON, ctx: ReverseContext, path: str) -> str | None:
    """The SHA-256 of the inline bytes, when they are a kind a planner can open; else the reason is named.
    (The size limit is the receiver's: it is checked where the bytes are stored.)"""
    if "data" not in attachment:
        return None
    data = inline_bytes(attachment)
    if data is None:
        ctx.report(path, "the attachment's data is not base64: not kept")
        return None
    why = attachments.refusal(attachment.get("contentType"), data, sys.maxsize)
    if why:
        ctx.report(path, f"the attachment is not kept: {why}")
        return None
    ctx.report(path, f"{len(data)} bytes kept apart, by their SHA-256", "information")
    return attachments.digest(data)
