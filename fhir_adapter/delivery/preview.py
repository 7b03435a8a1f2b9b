"""What the next admission push of a client would write to an EHR, without writing: the worker's own steps
(what the job would carry and hold back, the references it needs along, the EHR's patient and encounter,
the capability decisions, documents rendered) against a client that reads from the EHR but records each
write instead of sending it. For each write of a resource the EHR can be asked about, what it holds now
and how that differs.

Reads do reach the EHR (its CapabilityStatement, the patient and encounter look-ups, the current versions);
nothing is written there. What the worker keeps of those reads (the EHR's capabilities, its patient id and
encounter) is kept as it would be by a delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import requests

from fhir_adapter.adapters import ehr_store
from fhir_adapter.adapters.db import reading
from fhir_adapter.adapters.unit_of_work import SqlWork
from fhir_adapter.delivery import attempt, profiles
from fhir_adapter.delivery.ehr_client import EhrClient, Failure
from fhir_adapter.delivery.worker import Worker
from fhir_adapter.domain.sync import Ehr, Job, JobState
from fhir_adapter.service import sync_plan
from fhir_adapter.service.context import stamp

JSON = dict[str, Any]


class NothingToPreview(Exception):
    """The EHR, or the client's link to it, is not there: a message for the person who asked."""


@dataclass
class DryClient:
    """An EhrClient that reads and records instead of writing."""

    real: EhrClient
    writes: list[JSON] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.real.base

    def granted_scopes(self) -> str | None:
        return self.real.granted_scopes()

    def raw(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        if method != "GET":
            raise Failure("dead", "preview", None, "a preview does not write")
        return self.real.raw(method, path, body, headers)

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        if method == "GET":
            return self.real.request(method, path)
        entry: JSON = {"method": method, "url": path, "body": body}
        if headers:
            entry["headers"] = dict(headers)
        self.writes.append(entry)
        return self._answer(entry)

    def _answer(self, entry: JSON) -> JSON:
        """What the EHR would answer, as far as it can be known: the resource's id (ours, or the EHR's
        when a search finds it, or a stand-in for one it would make)."""
        method, path, body = entry["method"], entry["url"], entry["body"]
        if path == "" and isinstance(body, dict):
            held = {
                e["request"]["url"]: self._compare(e["request"]["url"], e.get("resource"))
                for e in body.get("entry", [])
            }
            entry["differences"] = {url: d for url, d in held.items() if d is not None}
            return {"entry": [{"response": {"status": "200 OK"}} for _ in body.get("entry", [])]}
        rtype, _, rest = path.partition("/")
        rtype, _, query = rtype.partition("?")
        if rest:
            found = self._compare(path, body)
            if found is not None:
                entry["differences"] = found
            return {"id": rest}
        query = query or (entry.get("headers") or {}).get("If-None-Exist", "")
        current = self._find(rtype, query) if query else None
        if current is not None:
            entry["current"] = current
            entry["differences"] = differences(current, body or {})
            return {"id": current["id"], "meta": current.get("meta", {})}
        return {"id": f"new-{rtype}-{len(self.writes)}"} if method in ("PUT", "POST") else {}

    def _compare(self, path: str, body: JSON | None) -> JSON | None:
        """How a write to `Type/id` differs from what the EHR holds there (None: it holds nothing)."""
        response = self.real.raw("GET", path)
        if response.status_code != 200:
            return None
        return differences(response.json(), body or {})

    def _find(self, rtype: str, query: str) -> JSON | None:
        response = self.real.raw("GET", f"{rtype}?{urlencode(parse_qsl(query))}")
        if not isinstance(response, requests.Response) or response.status_code != 200:
            return None
        entries = response.json().get("entry", [])
        return entries[0].get("resource") if entries else None


def differences(current: JSON, new: JSON) -> JSON:
    """The top-level elements the write would add, change or take out (the server's id and meta aside)."""
    skip = {"id", "meta"}
    keys = (set(current) | set(new)) - skip
    return {
        "added": sorted(k for k in keys if k not in current),
        "changed": sorted(k for k in keys if k in current and k in new and current[k] != new[k]),
        "removed": sorted(k for k in keys if k not in new),
    }


def _admission(worker: Worker, org_id: str, ehr_id: str, client_id: str) -> tuple[Ehr, list[tuple[str, str]]]:
    """The EHR, and the resources an admission of the client would carry there."""
    with reading(worker.engine) as conn:
        ehr = ehr_store.get_ehr(conn, org_id, ehr_id)
        link = ehr_store.get_link(conn, org_id, client_id, ehr_id)
        keys = sync_plan.for_admission(SqlWork(conn), org_id, client_id)
    if ehr is None:
        raise NothingToPreview(f"no EHR {ehr_id} in {org_id}")
    if link is None or not link.active:
        raise NothingToPreview(f"client {client_id} is not linked to a patient in {ehr_id}")
    return ehr, keys


def _job(org_id: str, ehr_id: str, client_id: str, keys: list[tuple[str, str]], now: str) -> Job:
    """The admission push the preview stands for: never claimed, never tried."""
    return Job(
        0,
        org_id,
        ehr_id,
        client_id,
        "preview",
        keys,
        JobState.PENDING,
        attempts=0,
        not_before=now,
        lease_token=None,
        last_reason=None,
        last_error=None,
        replayed_by=None,
        created_at=now,
        finished_at=None,
        claimed_at=None,
    )


def preview(worker: Worker, org_id: str, ehr_id: str, client_id: str) -> JSON:
    """The requests the next admission push of the client would make to the EHR."""
    ehr, keys = _admission(worker, org_id, ehr_id, client_id)
    now = stamp(worker.clock())
    job = _job(org_id, ehr_id, client_id, keys, now)
    prepared = worker.prepare(job)
    if prepared is None:
        raise NothingToPreview(f"client {client_id} is not linked to a patient in {ehr_id}")
    dry = DryClient(worker.client(ehr))
    if prepared.send:
        prepared = worker.addressed(prepared)
    caps = worker.capabilities(ehr)
    ctx = attempt.Context(worker.engine, worker.catalogue, now, side_by_side=False)
    attempt.write(ctx, job, dry, prepared, dict(prepared.known), caps)  # type: ignore[arg-type]
    ways = {t: caps.way(t) for t in sorted({o.resource_type for o in prepared.send})}
    sent = set(ways) | ({"DocumentReference"} if "document" in ways.values() else set())
    return {
        "ehr": ehr_id,
        "client_id": client_id,
        "ways": ways,
        "profiles": profiles.checks(caps, sent, profiles.ours(worker.catalogue())),
        "withheld": [o.ref for o in prepared.withheld],
        "requests": dry.writes,
    }


def brief(shown: JSON) -> JSON:
    """The preview with each attachment's data replaced by what it is (a PDF is long to read as base64)."""

    def cut(value: Any) -> Any:
        if isinstance(value, dict):
            if "data" in value and "contentType" in value:
                return {k: cut(v) for k, v in value.items() if k != "data"} | {
                    "data": f"({value.get('size', '?')} bytes of {value['contentType']}, base64)"
                }
            return {k: cut(v) for k, v in value.items()}
        if isinstance(value, list):
            return [cut(v) for v in value]
        return value

    return {**shown, "requests": cut(shown["requests"])}
