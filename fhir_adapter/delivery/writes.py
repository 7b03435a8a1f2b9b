"""The requests one job makes to an EHR, and what the EHR's answers tell us to record.

transaction mode: one transaction Bundle that PUTs every resource to its deterministic id (and DELETEs the
removed ones), with a Provenance. Sending it again writes the same resources again: never a duplicate.
conditional mode: one conditional update per resource, on its business identifier (`PUT Goal?identifier=`),
in reference order, rewriting our references to the ids the EHR gave; then the Provenance, created by POST
(Provenance has no business identifier to make that conditional).

In both, the EHR's own Patient stands in for ours. Where the ledger knows the version last written, a PUT
carries If-Match: a 412 means someone changed the resource in the EHR since, and the caller reconciles.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fhir_adapter.adapters.ehr_store import Sent
from fhir_adapter.delivery.ehr_client import EhrClient, Failure, failure_for

JSON = dict[str, Any]
# Referenced resources go before the ones that refer to them (conditional mode learns ids as it goes).
ORDER = ("EpisodeOfCare", "CareTeam", "Goal", "QuestionnaireResponse", "Observation", "ServiceRequest")
SEVERITY = {"dead": 3, "reconcile": 2, "retry": 1}
PROVENANCE_TAG = "urn:fhir-adapter:delivery"  # a Provenance's tag: its delivery job, as its id is made


@dataclass(frozen=True)
class Outgoing:
    resource_type: str
    id: str
    version_id: int
    deleted: bool
    resource: JSON

    @property
    def ref(self) -> str:
        return f"{self.resource_type}/{self.id}"


@dataclass(frozen=True)
class Written:
    """One resource the EHR accepted: a ledger row."""

    item: Outgoing
    ehr_id: str | None
    ehr_version: str | None


def rewrite(value: Any, refs: dict[str, str]) -> Any:
    """A copy of `value` whose literal references named in `refs` point where `refs` says."""
    if isinstance(value, dict):
        out = {k: rewrite(v, refs) for k, v in value.items()}
        ref = value.get("reference")
        if isinstance(ref, str) and ref in refs:
            out["reference"] = refs[ref]
        return out
    if isinstance(value, list):
        return [rewrite(v, refs) for v in value]
    return value


def business_identifier(resource: JSON) -> JSON:
    """The first identifier (QuestionnaireResponse has one, not a list)."""
    found = resource.get("identifier") or {}
    return (found[0] if found else {}) if isinstance(found, list) else found


def ordered(items: list[Outgoing]) -> list[Outgoing]:
    rank = {t: i for i, t in enumerate(ORDER)}
    return sorted(items, key=lambda o: (o.deleted, rank.get(o.resource_type, len(ORDER))))


def provenance(provenance_id: str, targets: list[str], recorded: str, org: str) -> JSON:
    return {
        "resourceType": "Provenance",
        "id": provenance_id,
        "meta": {"tag": [{"system": PROVENANCE_TAG, "code": provenance_id}]},  # what a resend is known by
        "target": [{"reference": t} for t in targets],
        "recorded": recorded,
        "activity": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": "UPDATE"}]
        },
        "agent": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            "code": "assembler",
                        }
                    ]
                },
                "who": {
                    "identifier": {"system": "urn:fhir-adapter:organization", "value": org},
                    "display": f"fhir-adapter for {org}",
                },
            }
        ],
    }


def provenance_id(org: str, ehr: str, job_id: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:fhir-adapter:{org}:{ehr}:job:{job_id}"))


def _etag_version(etag: str | None) -> str | None:
    if not etag:
        return None
    return etag.removeprefix("W/").strip('"') or None


def _worst(failures: list[Failure]) -> Failure:
    return max(failures, key=lambda f: SEVERITY[f.action])


def _status(text: Any) -> int:
    """A transaction entry's `response.status` ("201 Created") as a number; 0 when it is not one."""
    head = str(text or "").split(" ", 1)[0]
    return int(head) if head.isascii() and head.isdigit() else 0


def send_transaction(
    client: EhrClient,
    items: list[Outgoing],
    refs: dict[str, str],
    known: dict[tuple[str, str], Sent],
    make_provenance: Callable[[list[str]], JSON],
) -> list[Written]:
    entries: list[JSON] = []
    for item in items:
        url = item.ref
        if item.deleted:
            entries.append({"request": {"method": "DELETE", "url": url}})
            continue
        request: JSON = {"method": "PUT", "url": url}
        sent = known.get((item.resource_type, item.id))
        if sent is not None and sent.action == "PUT" and sent.ehr_version_id:
            request["ifMatch"] = f'W/"{sent.ehr_version_id}"'
        body = rewrite(item.resource, refs)
        entries.append({"fullUrl": f"{client.base}/{url}", "resource": body, "request": request})
    prov = make_provenance([item.ref for item in items if not item.deleted])
    entries.append(
        {
            "fullUrl": f"{client.base}/Provenance/{prov['id']}",
            "resource": prov,
            "request": {"method": "PUT", "url": f"Provenance/{prov['id']}"},
        }
    )
    answer = client.request("POST", "", {"resourceType": "Bundle", "type": "transaction", "entry": entries})
    results = answer.get("entry", []) if isinstance(answer, dict) else []
    if len(results) != len(entries):
        raise Failure("retry", "bad_transaction_response", None, "the answer has not one entry per request")
    written, failures = [], []
    for item, result in zip(items, results, strict=False):
        response = result.get("response", {})
        status = _status(response.get("status"))
        if not 200 <= status < 300:
            failures.append(failure_for(status or 500, response.get("outcome")))
            continue
        resource = result.get("resource") or {}
        version = _etag_version(response.get("etag")) or resource.get("meta", {}).get("versionId")
        written.append(Written(item, None if item.deleted else item.id, version))
    if failures:
        raise _worst(failures)
    return written


def send_conditional(
    client: EhrClient,
    items: list[Outgoing],
    refs: dict[str, str],
    known: dict[tuple[str, str], Sent],
    make_provenance: Callable[[list[str]], JSON],
) -> list[Written]:
    refs = dict(refs)
    refs |= {f"{t}/{i}": f"{t}/{s.ehr_resource_id}" for (t, i), s in known.items() if s.ehr_resource_id}
    written = []
    for item in ordered(items):
        if item.deleted:
            target = refs.get(item.ref)
            if target:
                client.request("DELETE", target)
            written.append(Written(item, None, None))
            continue
        identifier = business_identifier(item.resource)
        if not identifier.get("system") or not identifier.get("value"):
            raise Failure("dead", "no_identifier", None, f"{item.ref} has no business identifier to write on")
        body = rewrite({k: v for k, v in item.resource.items() if k != "id"}, refs)
        query = urlencode({"identifier": f"{identifier['system']}|{identifier['value']}"})
        answer = client.request("PUT", f"{item.resource_type}?{query}", body)
        ehr_id = answer.get("id")
        refs[item.ref] = f"{item.resource_type}/{ehr_id}"
        written.append(Written(item, ehr_id, answer.get("meta", {}).get("versionId")))
    targets = [refs[w.item.ref] for w in written if not w.item.deleted]
    if targets:  # the server names it; a resend after a lost answer finds the first by its tag
        prov = {k: v for k, v in make_provenance(targets).items() if k != "id"}
        once = {"If-None-Exist": f"_tag={PROVENANCE_TAG}|{prov['meta']['tag'][0]['code']}"}
        client.request("POST", "Provenance", prov, once)
    return written
