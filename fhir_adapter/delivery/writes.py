"""The requests one job makes to an EHR, and what the EHR's answers tell us to record.

transaction mode: one transaction Bundle that PUTs every resource to its deterministic id (and DELETEs the
removed ones). Sending it again writes the same resources again: never a duplicate.
one by one (no transaction, or not every type can be PUT to our id): each resource in turn, referenced
resources first (the order follows the references), by the way its type is written (capabilities.py): PUT
to our id, or a conditional update on its business identifier (`PUT Goal?identifier=`), rewriting our
references to the ids the EHR gave.

Then a Provenance for what was written and one for what was removed, each naming the versions concerned (a
version-specific target still resolves after a later job changes or removes the resource). Where Provenance
can be PUT to our id it goes to an id derived from the job; otherwise it is created once, known by its tag;
an EHR that takes neither is not sent one, and one that refuses it (4xx) still has the job delivered.

The EHR's own Patient stands in for ours. Where the ledger knows the version last written, a PUT carries
If-Match: a 412 means someone changed the resource in the EHR since, and the caller reconciles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fhir_adapter.delivery.ehr_client import EhrClient, Failure, failure_for
from fhir_adapter.delivery.provenance import PROVENANCE_TAG as PROVENANCE_TAG
from fhir_adapter.delivery.provenance import provenance as provenance
from fhir_adapter.delivery.provenance import provenance_id as provenance_id
from fhir_adapter.domain.sync import LedgerAction, Sent

JSON = dict[str, Any]
SEVERITY = {"dead": 3, "reconcile": 2, "retry": 1}


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
    as_document: bool = False  # carried in its record's document: ehr_id is the DocumentReference's
    not_taken: bool = False  # not sent: the EHR takes no resource of its type (our Questionnaires)


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
            failures[-1].resource_type = item.resource_type
            continue
        resource = result.get("resource") or {}
        version = _etag_version(response.get("etag")) or resource.get("meta", {}).get("versionId")
        written.append(Written(item, None if item.deleted else item.id, version))
    if failures:
        raise _worst(failures)
    return written


def send_each(
    client: EhrClient,
    items: list[Outgoing],
    refs: dict[str, str],
    known: dict[tuple[str, str], Sent],
    way: Callable[[str], str] = lambda _: "conditional",
) -> list[Written]:
    """One request per resource, by `way` of its type: "put" to our id, else a conditional update."""
    refs = dict(refs) | _ehr_ids(known, set())
    written = []
    for item in ordered(items):
        try:
            written.append(_send_one(client, item, refs, known, way(item.resource_type)))
        except Failure as failure:
            failure.resource_type = item.resource_type
            raise
    return written


def _send_one(
    client: EhrClient, item: Outgoing, refs: dict[str, str], known: dict[tuple[str, str], Sent], way: str
) -> Written:
    if item.deleted:
        target = refs.get(item.ref)
        if target:
            client.request("DELETE", target)
        return Written(item, None, None)
    if way == "put":
        sent = known.get((item.resource_type, item.id))
        match = {"If-Match": f'W/"{sent.ehr_version_id}"'} if sent and sent.ehr_version_id else None
        answer = client.request("PUT", item.ref, rewrite(item.resource, refs), match)
        refs[item.ref] = item.ref
        return Written(item, item.id, answer.get("meta", {}).get("versionId"))
    identifier = business_identifier(item.resource)
    if not identifier.get("system") or not identifier.get("value"):
        raise Failure("dead", "no_identifier", None, f"{item.ref} has no business identifier to write on")
    body = rewrite({k: v for k, v in item.resource.items() if k != "id"}, refs)
    query = urlencode({"identifier": f"{identifier['system']}|{identifier['value']}"})
    answer = client.request("PUT", f"{item.resource_type}?{query}", body)
    ehr_id = answer.get("id")
    refs[item.ref] = f"{item.resource_type}/{ehr_id}"
    return Written(item, ehr_id, answer.get("meta", {}).get("versionId"))


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
        if not w.item.deleted and w.ehr_id and not w.as_document and not w.not_taken
    ]
    removed = []
    for w in written:
        sent = known.get((w.item.resource_type, w.item.id))
        if (
            w.item.deleted
            and sent
            and sent.ehr_resource_id
            and sent.ehr_version_id
            and sent.action is LedgerAction.PUT
        ):
            removed.append(f"{w.item.resource_type}/{sent.ehr_resource_id}/_history/{sent.ehr_version_id}")
    return {activity: targets for activity, targets in (("UPDATE", updated), ("DELETE", removed)) if targets}


def send_provenance(client: EhrClient, resource: JSON, way: str) -> None:
    """PUT to its id ("put": the server creates on update), or else ("create") created once: a resend
    after a lost answer finds the first by its tag."""
    if way == "put":
        client.request("PUT", f"Provenance/{resource['id']}", resource)
        return
    once = {"If-None-Exist": f"_tag={PROVENANCE_TAG}|{resource['meta']['tag'][0]['code']}"}
    client.request("POST", "Provenance", {k: v for k, v in resource.items() if k != "id"}, once)
