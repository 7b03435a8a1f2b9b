"""A Bundle an EHR posts to /fhir: a transaction is taken whole or not at all; a batch and a collection
entry by entry, each on its own. Every entry is read as a single resource is (fhir_intake.receive): its
subject must be one of our patients, and its findings come back with it.

Entries may name each other by their fullUrl (`urn:uuid:…`): each is read after the entries it names, with
those references rewritten to the resources the entries became; a Patient entry names one of our patients
and is not written. https://hl7.org/fhir/R4/http.html#transaction
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir_adapter.mapping.bundle_refs import dangling, in_order, local_references, rewritten
from fhir_adapter.mapping.kinds import RESOURCE_KINDS
from fhir_adapter.service import fhir_intake
from fhir_adapter.service.bundle_goals import goal_local_id, goal_result, goals_of_plans
from fhir_adapter.service.bundle_patients import our_patient
from fhir_adapter.service.context import Principal
from fhir_adapter.service.errors import Invalid, Problem, ServiceError, invalid
from fhir_adapter.service.ports import Work
from fhir_adapter.service.records import Deps

JSON = dict[str, Any]
TAKEN = ("transaction", "batch", "collection")
WRITABLE = frozenset(t for t, k in RESOURCE_KINDS.items() if k.writable)
NAMED_ONLY = frozenset({"Patient"})  # entries other entries refer to; never written here


@dataclass(frozen=True)
class EntryResult:
    """What became of one entry: the resource stored for it, or why it was refused."""

    received: fhir_intake.Received | None = None
    error: ServiceError | None = None


@dataclass(frozen=True)
class Entry:
    path: str
    resource: JSON
    target: str | None  # the id a PUT names
    full_url: str | None

    @property
    def writes(self) -> bool:
        return self.resource["resourceType"] not in NAMED_ONLY


def entries(bundle: JSON) -> list[Entry]:
    """Each entry of the Bundle; an entry we cannot take refuses the Bundle."""
    if bundle.get("type") not in TAKEN:
        raise invalid(
            f"a Bundle of type {bundle.get('type')} is not taken (only {', '.join(TAKEN)})", "Bundle.type"
        )
    found = []
    for i, entry in enumerate(bundle.get("entry") or []):
        path = f"Bundle.entry[{i}]"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(resource, dict) or rtype not in WRITABLE | NAMED_ONLY:
            kinds = ", ".join(sorted(WRITABLE))
            raise invalid(
                f"each entry holds a resource of a type EHRs write here ({kinds}) or a Patient of ours",
                f"{path}.resource",
            )
        target = None if rtype in NAMED_ONLY else _target(entry, resource, bundle["type"], path)
        url = entry.get("fullUrl")
        found.append(Entry(path, resource, target, url if isinstance(url, str) else None))
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
    """Each entry read and stored, after those it names; in a transaction the first refusal refuses all,
    naming the entry. The Goals a CarePlan of the Bundle names are read with it. Results in Bundle order."""
    found = entries(bundle)
    unknown = dangling(bundle)
    if unknown:
        raise Invalid([Problem(path, f"{url} is no entry of this Bundle") for path, url in unknown])
    given: dict[str, str] = {}  # fullUrl → the Type/id its entry became
    results: dict[int, EntryResult] = {}
    plan_goals = goals_of_plans(found)
    with_plan = {g for goals in plan_goals.values() for g in goals}
    for i in (i for i in in_order(bundle) if i not in with_plan):
        goals = [found[g] for g in plan_goals.get(i, [])]
        results[i] = _result(work, deps, principal, bundle["type"], found[i], given, goals)
        _became(given, found[i], results[i])
        for g in plan_goals.get(i, []):
            results[g] = goal_result(work, deps, principal, results[i], found[g])
            _became(given, found[g], results[g])
    return [results[i] for i in range(len(found))]


def _became(given: dict[str, str], entry: Entry, result: EntryResult) -> None:
    if result.received is not None and entry.full_url:
        given[entry.full_url] = f"{result.received.stored.resource_type}/{result.received.stored.id}"


def _result(
    work: Work,
    deps: Deps,
    principal: Principal,
    kind: str,
    entry: Entry,
    given: dict[str, str],
    goals: list[Entry],
) -> EntryResult:
    if kind == "transaction":
        try:
            return EntryResult(_receive(work, deps, principal, entry, given, goals))
        except ServiceError as err:
            named = [
                Problem(f"{entry.path}: {p.path}" if p.path else entry.path, p.message, p.code)
                for p in err.problems
            ]
            raise type(err)(named) from err
    try:
        with work.savepoint():
            return EntryResult(_receive(work, deps, principal, entry, given, goals))
    except ServiceError as err:
        return EntryResult(error=err)


def _receive(
    work: Work, deps: Deps, principal: Principal, entry: Entry, given: dict[str, str], goals: list[Entry]
) -> fhir_intake.Received:
    """One entry, its references to other entries rewritten to what those became (its plan's Goals to
    the resources sent along with it)."""
    along = {str(g.full_url): g.resource for g in goals}
    local = {url: f"Goal/{goal_local_id(resource, url)}" for url, resource in along.items()}
    for path, url in local_references(entry.resource, ""):
        if url not in given and url not in local:
            raise invalid(f"{url} names an entry of this Bundle that was not stored", path.lstrip("."))
    resource = rewritten(entry.resource, given | local)
    if not entry.writes:
        return our_patient(work, deps, principal, resource)
    sent = {local[url]: _along(goal, local[url], given) for url, goal in along.items()}
    return fhir_intake.receive(work, deps, principal, resource, entry.target, sent)


def _along(goal: JSON, ref: str, given: dict[str, str]) -> JSON:
    """A Goal sent with its plan, under the id its record takes, naming what the Bundle's entries became."""
    kept: JSON = rewritten(goal, given)
    return kept | {"id": ref.split("/")[1]}
