"""A Bundle an EHR posts to /fhir: a transaction is taken whole or not at all; a batch and a collection
entry by entry, each on its own. Every entry is read as a single resource is (fhir_intake.receive): its
subject must be one of our patients, and its findings come back with it.

https://hl7.org/fhir/R4/http.html#transaction
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir_adapter.mapping.kinds import RESOURCE_KINDS
from fhir_adapter.service import fhir_intake
from fhir_adapter.service.context import Principal
from fhir_adapter.service.errors import Problem, ServiceError, invalid
from fhir_adapter.service.ports import Work
from fhir_adapter.service.records import Deps

JSON = dict[str, Any]
TAKEN = ("transaction", "batch", "collection")
WRITABLE = frozenset(t for t, k in RESOURCE_KINDS.items() if k.writable)


@dataclass(frozen=True)
class EntryResult:
    """What became of one entry: the resource stored for it, or why it was refused."""

    received: fhir_intake.Received | None = None
    error: ServiceError | None = None


def entries(bundle: JSON) -> list[tuple[str, JSON, str | None]]:
    """(path, resource, the id a PUT names) of each entry; an entry we cannot take refuses the Bundle."""
    if bundle.get("type") not in TAKEN:
        raise invalid(
            f"a Bundle of type {bundle.get('type')} is not taken (only {', '.join(TAKEN)})", "Bundle.type"
        )
    found = []
    for i, entry in enumerate(bundle.get("entry") or []):
        path = f"Bundle.entry[{i}]"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") not in WRITABLE:
            kinds = ", ".join(sorted(WRITABLE))
            raise invalid(
                f"each entry holds a resource of a type EHRs write here ({kinds})", f"{path}.resource"
            )
        found.append((path, resource, _target(entry, resource, bundle["type"], path)))
    return found


def _target(entry: JSON, resource: JSON, kind: str, path: str) -> str | None:
    if kind == "collection":
        return None
    request = entry.get("request") or {}
    method, url = request.get("method"), str(request.get("url", ""))
    if method == "POST":
        return None
    if method == "PUT" and url.count("/") == 1 and url.split("/")[0] == resource["resourceType"]:
        return url.split("/")[1]
    raise invalid("an entry is a POST of a resource or a PUT to Type/id", f"{path}.request")


def receive_bundle(work: Work, deps: Deps, principal: Principal, bundle: JSON) -> list[EntryResult]:
    """Each entry read and stored; in a transaction the first refusal refuses all, naming the entry."""
    results = []
    for path, resource, target in entries(bundle):
        if bundle["type"] == "transaction":
            try:
                results.append(EntryResult(fhir_intake.receive(work, deps, principal, resource, target)))
            except ServiceError as err:
                named = [
                    Problem(f"{path}: {p.path}" if p.path else path, p.message, p.code) for p in err.problems
                ]
                raise type(err)(named) from err
            continue
        try:
            with work.savepoint():
                results.append(EntryResult(fhir_intake.receive(work, deps, principal, resource, target)))
        except ServiceError as err:
            results.append(EntryResult(error=err))
    return results
