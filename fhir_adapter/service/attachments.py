"""A hospital document's attachment bytes: kept apart (once per organisation and SHA-256) when they came
inline and pass the checks, named in a finding when they do not; served back to those who may read the
document."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fhir_adapter.domain import attachments
from fhir_adapter.domain.packet import DocumentContent, HospitalDocument
from fhir_adapter.domain.stored import StoredRecord
from fhir_adapter.mapping.from_fhir_common import Finding
from fhir_adapter.mapping.from_fhir_document import inline_bytes
from fhir_adapter.service.context import Principal, stamp
from fhir_adapter.service.errors import not_found
from fhir_adapter.service.ports import Work
from fhir_adapter.service.records import Deps

JSON = dict[str, Any]


def keep(
    work: Work,
    deps: Deps,
    principal: Principal,
    resource: JSON,
    document: HospitalDocument,
    findings: list[Finding],
    old: StoredRecord | None,
) -> tuple[HospitalDocument, list[Finding]]:
    """Store each attachment's inline bytes the mapping accepted, up to the size limit; an attachment sent
    again without them keeps the bytes its earlier version had. The document and every finding."""
    contents, findings = [], list(findings)
    before = old.data.get("contents", []) if old else []
    for i, content in enumerate(document.contents):
        where = f"{resource['resourceType']}.content[{i}].attachment.data"
        if content.sha256 is None:
            contents.append(_as_before(deps, content, before, i))
            continue
        data = inline_bytes(resource["content"][i]["attachment"]) or b""
        why = attachments.refusal(content.content_type, data, deps.attachment_limit)
        if why:
            findings = [f for f in findings if f.path != where]
            findings.append(Finding(where, f"the attachment is not kept: {why}"))
            contents.append(replace(content, sha256=None))
            continue
        kind = attachments.media_type(content.content_type)
        work.attachments.put(principal.org.id, content.sha256, kind, data, stamp(deps.clock()))
        contents.append(content)
    return replace(document, contents=tuple(contents)), findings


def _as_before(deps: Deps, content: DocumentContent, before: list[JSON], i: int) -> DocumentContent:
    """Bytes kept for the same attachment (as described: type, url, hash, title, size) of the earlier
    version stay the document's."""
    if i >= len(before) or not before[i].get("sha256"):
        return content
    said = {k: v for k, v in before[i].items() if k != "sha256"}
    described = {k: v for k, v in deps.contract.dump(content).items() if k != "sha256"}
    return replace(content, sha256=before[i]["sha256"]) if said == described else content


def content_of(work: Work, principal: Principal, document: StoredRecord, index: int = 0) -> tuple[str, bytes]:
    """(content type, bytes) of a document's attachment; NotFound when none is kept."""
    contents = document.data.get("contents", [])
    sha256 = contents[index].get("sha256") if index < len(contents) else None
    found = work.attachments.get(principal.org.id, sha256) if sha256 else None
    if found is None:
        raise not_found(f"the bytes of hospital document {document.record_id}")
    return found
