"""The answer to a Bundle an EHR wrote: per entry, its status, where it was stored, and an OperationOutcome
of what was found (or why it was refused). https://hl7.org/fhir/R4/bundle.html#transaction-response"""

from __future__ import annotations

from typing import Any

from fhir_adapter.api.errors import operation_outcome, status_of
from fhir_adapter.service.bundle_intake import EntryResult
from fhir_adapter.service.errors import Problem

JSON = dict[str, Any]


def response_bundle(kind: str, results: list[EntryResult]) -> JSON:
    answer = "transaction-response" if kind == "transaction" else "batch-response"
    return {"resourceType": "Bundle", "type": answer, "entry": [_entry(r) for r in results]}


def _entry(result: EntryResult) -> JSON:
    if result.received is None:
        err = result.error
        problems = err.problems if err is not None else [Problem("", "not stored")]
        status = status_of(err) if err is not None else 422
        return {"response": {"status": str(status), "outcome": operation_outcome(problems)}}
    stored = result.received.stored
    findings = [Problem(f.path, f.message, "informational", f.severity) for f in result.received.findings]
    response: JSON = {
        "status": "201 Created" if result.received.created else "200 OK",
        "location": f"{stored.resource_type}/{stored.id}/_history/{stored.version_id}",
        "etag": f'W/"{stored.version_id}"',
        "lastModified": stored.last_updated,
    }
    if findings:
        response["outcome"] = operation_outcome(findings)
    return {"response": response}
