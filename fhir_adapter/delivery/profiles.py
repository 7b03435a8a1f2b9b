"""The profiles what we send claims, per resource type, beside those an EHR's CapabilityStatement names for
it (`rest.resource.profile` and `supportedProfile`).

Ours are those `meta.profile` carries: a structure mapping's `profile:` (mappings/resources), our published
Questionnaires' (SDC), and the DocumentReference that carries a record as a document (US Core). A claim of
conformance is not a permission: the way a type is written does not depend on it. Where the EHR names
profiles for a type and none of those ours claim, it is said where people look: `fhir-adapter ehrs show`,
the preview, and the dead letter of a write of the type it refused as invalid (400, 422).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from fhir_adapter.delivery.capabilities import Capabilities
from fhir_adapter.delivery.ehr_client import Failure
from fhir_adapter.documents.reference import US_CORE_DOCREF
from fhir_adapter.mapping.catalogue import Catalogue

Ours = dict[str, frozenset[str]]
INVALID = (400, 422)


def ours(catalogue: Catalogue) -> Ours:
    """Per resource type, the profiles what we send of it claims."""
    found: defaultdict[str, set[str]] = defaultdict(set)
    for structure in catalogue.structures.values():
        if structure.profile:
            found[structure.resource].add(structure.profile)
    for questionnaire in catalogue.published.values():
        found["Questionnaire"].update(questionnaire.get("meta", {}).get("profile", []))
    found["DocumentReference"].add(US_CORE_DOCREF)
    return {rtype: frozenset(claimed) for rtype, claimed in found.items()}


def short(canonical: str) -> str:
    """A profile by its last path segment (`us-core-careplan`, `|version` kept)."""
    return canonical.rstrip("/").rsplit("/", 1)[-1]


def gap(caps: Capabilities, rtype: str, claimed: Iterable[str]) -> str | None:
    """In words, where the EHR names profiles for the type and none of ours; None where they meet."""
    claimed = sorted(claimed)
    if caps.meets(rtype, claimed):
        return None
    theirs = ", ".join(sorted(short(p) for p in caps.profiles(rtype)))
    return f"the EHR names none of ours: {', '.join(short(p) for p in claimed)}; it names: {theirs}"


def checks(caps: Capabilities, rtypes: Iterable[str], claimed: Ours) -> dict[str, dict[str, Any]]:
    """Per type: the profiles ours claim, those the EHR names, and whether they meet (the preview's)."""
    return {
        rtype: {
            "ours": sorted(claimed.get(rtype, ())),
            "ehr": sorted(caps.profiles(rtype)),
            "meet": caps.meets(rtype, claimed.get(rtype, ())),
        }
        for rtype in sorted(rtypes)
    }


def explain(failure: Failure, caps: Capabilities, catalogue: Callable[[], Catalogue]) -> None:
    """A write the EHR refused as invalid, of a type whose profiles do not meet: its answer says so too."""
    rtype = failure.resource_type
    if failure.status not in INVALID or rtype is None:
        return
    words = gap(caps, rtype, ours(catalogue()).get(rtype, ()))
    if words is not None:
        failure.detail = noted(failure.detail, f"{rtype} profiles in its CapabilityStatement: {words}")


def noted(detail: Any, note: str) -> dict[str, Any]:
    """The EHR's OperationOutcome with the note as one more issue; another answer is kept as the text of
    the first issue."""
    issue = {"severity": "information", "code": "informational", "diagnostics": note}
    if isinstance(detail, dict) and detail.get("resourceType") == "OperationOutcome":
        return {**detail, "issue": [*detail.get("issue", []), issue]}
    said = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)
    answer = [{"severity": "error", "code": "processing", "diagnostics": said}] if detail else []
    return {"resourceType": "OperationOutcome", "issue": [*answer, issue]}
