"""The requests one job makes to an EHR, and what the EHR's answers tell us to record.

transaction mode: one transaction Bundle that PUTs every resource to its deterministic id (and DELETEs the
removed ones). Sending it again writes the same resources again: never a duplicate.
conditional mode: one conditional update per resource, on its business identifier (`PUT Goal?identifier=`),
referenced resources first (the order follows the references themselves), rewriting our references to the
ids the EHR gave.

Then, in both, a Provenance for what was written and one for what was removed, each naming the versions
concerned (a version-specific target still resolves after a later job changes or removes the resource).
Transaction mode PUTs it to an id derived from the job (after the transaction: the versions are known only
from its answer); conditional mode creates it once, known by its tag. An EHR that refuses a Provenance
(4xx) is logged and the job is still delivered: its records are in the EHR.

In both, the EHR's own Patient stands in for ours. Where the ledger knows the version last written, a PUT
carries If-Match: a 412 means someone changed the resource in the EHR since, and the caller reconciles.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fhir_adapter.delivery.ehr_client import EhrClient, Failure, failure_for
from fhir_adapter.domain.sync import LedgerAction, Sent

JSON = dict[str, Any]
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


def references(value: Any) -> set[str]:
    """The relative literal references ("Type/id") anywhere in a resource; contained ("#..."), absolute and
    urn: references are not resources the EHR is sent."""
    found: set[str] = set()
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str) and ref.count("/") == 1 and not ref.startswith(("#", "urn:")):
            found.add(ref)
        for item in value.values():
            found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


_GONE = object()


def without(value: Any, refs: set[str]) -> Any:
    """A copy of `value` whose References to one of `refs` keep only their display and identifier, and
    are taken out where that leaves nothing: with the extension that carried one, and lists or objects
    left empty."""

    def strip(node: Any) -> Any:
        if isinstance(node, list):
            items = [v for v in (strip(item) for item in node) if v is not _GONE]
            return items if items or not node else _GONE
        if not isinstance(node, dict):
            return node
        if node.get("reference") in refs:
            rest = {k: v for k, v in node.items() if k in ("display", "identifier")}
            return rest or _GONE
        kept = {k: v for k, v in ((k, strip(item)) for k, item in node.items()) if v is not _GONE}
        lost_value = any(k.startswith("value") for k in node) and not any(k.startswith("value") for k in kept)
        if (not kept and node) or (lost_value and "url" in node and "extension" not in kept):
            return _GONE
        return kept

    out = strip(value)
    return {} if out is _GONE else out


def ordered(items: list[Outgoing]) -> list[Outgoing]:
    """Writes before deletions; among the writes, each resource after those of the job it references (a
    cycle, which our mappings never make, leaves the rest in the order given)."""
    writes = [o for o in items if not o.deleted]
    named = {o.ref: references(o.resource) - {o.ref} for o in writes}
    out: list[Outgoing] = []
    while writes:
        waiting = {o.ref for o in writes}
        ready = [o for o in writes if not named[o.ref] & waiting]
        batch = ready or writes
        out += batch
        writes = [o for o in writes if o not in batch]
    return out + [o for o in items if o.deleted]


def provenance(provenance_id: str, targets: list[str], recorded: str, org: str, activity: str) -> JSON:
    """What one job did in the EHR (`activity`: UPDATE or DELETE, v3-DataOperation), by whom."""
    return {
        "resourceType": "Provenance",
        "id": provenance_id,
        "meta": {"tag": [{"system": PROVENANCE_TAG, "code": provenance_id}]},  # what a resend is known by
        "target": [{"reference": t} for t in targets],
        "recorded": recorded,
        "activity": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": activity}]
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


def provenance_id(org: str, ehr: str, job_id: int, activity: str = "UPDATE") -> str:
    name = f"urn:fhir-adapter:{org}:{ehr}:job:{job_id}" + ("" if activity == "UPDATE" else f":{activity}")
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


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
    client: EhrClient, items: list[Outgoing], refs: dict[str, str], known: dict[tuple[str, str], Sent]
) -> list[Written]:
    job = {item.ref for item in items}
    refs = dict(refs) | _ehr_ids(known, job)  # what is not in the job may have gone another way before
    entries: list[JSON] = []
    for item in items:
        url = item.ref
        if item.deleted:
            entries.append({"request": {"method": "DELETE", "url": url}})
            continue
        request: JSON = {"method": "PUT", "url": url}
        sent = known.get((item.resource_type, item.id))
        if sent is not None and sent.action is LedgerAction.PUT and sent.ehr_version_id:
            request["ifMatch"] = f'W/"{sent.ehr_version_id}"'
        body = rewrite(item.resource, refs)
        entries.append({"fullUrl": f"{client.base}/{url}", "resource": body, "request": request})
    answer = client.request("POST", "", {"resourceType": "Bundle", "type": "transaction", "entry": entries})
    results = answer.get("entry", []) if isinstance(answer, dict) else []
    if len(results) != len(entries):
        raise Failure("retry", "bad_transaction_response", None, "the answer has not one entry per request")
    written, failures = [], []
    for item, result in zip(items, results, strict=True):
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
    client: EhrClient, items: list[Outgoing], refs: dict[str, str], known: dict[tuple[str, str], Sent]
) -> list[Written]:
    refs = dict(refs) | _ehr_ids(known, set())
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
    return written


def _ehr_ids(known: dict[tuple[str, str], Sent], skip: set[str]) -> dict[str, str]:
    """Our reference → the EHR's, for what the ledger says the EHR holds under an id of its own."""
    return {
        f"{t}/{i}": f"{t}/{s.ehr_resource_id}"
        for (t, i), s in known.items()
        if s.ehr_resource_id and s.action is LedgerAction.PUT and f"{t}/{i}" not in skip
    }


def provenance_targets(written: list[Written], known: dict[tuple[str, str], Sent]) -> dict[str, list[str]]:
    """Version-specific references to what was written (UPDATE) and to the last version we wrote of what
    was removed (DELETE); a removal whose version the ledger does not know is named by no Provenance."""
    updated = [
        f"{w.item.resource_type}/{w.ehr_id}" + (f"/_history/{w.ehr_version}" if w.ehr_version else "")
        for w in written
        if not w.item.deleted and w.ehr_id
    ]
    removed = []
    for w in written:
        sent = known.get((w.item.resource_type, w.item.id))
        if w.item.deleted and sent and sent.ehr_resource_id and sent.ehr_version_id:
            removed.append(f"{w.item.resource_type}/{sent.ehr_resource_id}/_history/{sent.ehr_version_id}")
    return {activity: targets for activity, targets in (("UPDATE", updated), ("DELETE", removed)) if targets}


def send_provenance(client: EhrClient, resource: JSON, mode: str) -> None:
    """PUT to its id (transaction mode: the server may create on update), or else created once: a resend
    after a lost answer finds the first by its tag."""
    if mode == "transaction":
        client.request("PUT", f"Provenance/{resource['id']}", resource)
        return
    once = {"If-None-Exist": f"_tag={PROVENANCE_TAG}|{resource['meta']['tag'][0]['code']}"}
    client.request("POST", "Provenance", {k: v for k, v in resource.items() if k != "id"}, once)
