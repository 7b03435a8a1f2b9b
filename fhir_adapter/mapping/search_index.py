"""What /fhir search needs of a resource: its patient, status and token values (identifier, category, ...)."""

from __future__ import annotations

from typing import Any

from fhir_adapter.mapping.kinds import RESOURCE_KINDS

JSON = dict[str, Any]

# Token parameters indexed per resource type, and the element each reads (FHIR R4 search parameters).
TOKEN_PARAMS: dict[str, dict[str, str]] = {t: dict(k.tokens) for t, k in RESOURCE_KINDS.items()}
# Reference parameters indexed for _revinclude (Task:focus, Task:based-on).
REFERENCE_PARAMS: dict[str, dict[str, str]] = {
    t: {param: element for param, (element, _) in k.referrers.items()}
    for t, k in RESOURCE_KINDS.items()
    if k.referrers
}


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def tokens(resource: JSON) -> list[tuple[str, str, str]]:
    """(param, system, code) for every token value; references as (param, '', 'Type/id')."""
    rtype = resource["resourceType"]
    out: list[tuple[str, str, str]] = []
    for param, element in TOKEN_PARAMS.get(rtype, {}).items():
        for item in _list(resource.get(element)):
            if param == "identifier":
                if item.get("value"):
                    out.append((param, item.get("system", ""), item["value"]))
                continue
            for coding in item.get("coding", []):
                if coding.get("code"):
                    out.append((param, coding.get("system", ""), coding["code"]))
    for param, element in REFERENCE_PARAMS.get(rtype, {}).items():
        for ref in _list(resource.get(element)):
            if isinstance(ref.get("reference"), str):
                out.append((param, "", ref["reference"]))
    return out
