"""A hospital document's attachment, as the bytes it was received as: GET /api/v1/documents/<id>/content.

Guarded as reading the document is (DocumentReference read); always a download (`Content-Disposition:
attachment`, never shown in place) whose type the browser must not guess (`nosniff`)."""

from __future__ import annotations

from flask import Response

from fhir_adapter.api.http import require, services, touched
from fhir_adapter.api.registry import ApiBlueprint, Operation, path_param
from fhir_adapter.domain.attachments import ACCEPTED
from fhir_adapter.mapping.kinds import RECORD_KINDS
from fhir_adapter.service import attachments, records
from fhir_adapter.service.projection import patient_id

DOCUMENT = RECORD_KINDS["hospital-document"]
bp = ApiBlueprint("documents", __name__)
SUFFIX = {
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/html": "html",
    "image/png": "png",
    "image/jpeg": "jpg",
    "application/xml": "xml",
    "text/xml": "xml",
}


def download(content_type: str, data: bytes, name: str) -> Response:
    """The bytes as a download: saved, not opened in place, their type not guessed, not kept in caches."""
    filename = f"{name}.{SUFFIX.get(content_type, 'bin')}"
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "no-store",
    }
    return Response(data, 200, headers, content_type=content_type)


def document_content(record_id: str) -> Response:
    principal = require(DOCUMENT.fhir_type, "read", "read")
    with services().storage.reading() as work:
        document = records.get(work, principal, DOCUMENT, record_id)
        content_type, data = attachments.content_of(work, principal, document)
    touched(patient_id(document.client_id, principal.org.identity))
    return download(content_type, data, record_id)


bp.add_operation(
    "/documents/<record_id>/content",
    Operation(
        "/documents/{record_id}/content",
        "get",
        "Download a hospital document's attachment",
        DOCUMENT.label,
        "system/DocumentReference.read",
        parameters=(path_param("record_id", "the hospital document's id"),),
        errors=(401, 403, 404),
        returns=tuple(ACCEPTED),
        description="The bytes the hospital sent (a discharge summary's PDF), as a download with their "
        "content type; 404 when none were kept (not sent, not fetched, or refused: the document's inbound "
        "message says why).",
    ),
    "document_content",
    document_content,
)
