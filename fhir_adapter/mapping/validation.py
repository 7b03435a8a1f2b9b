"""Layered validation of everything we emit (DESIGN.md §3): output that fails is never sent.

1. structure — the fhir.resources R4B model of each resource (cardinality, primitive formats, unknown elements);
2. strict — required code bindings, reference target types, empty values (strict.py);
3. invariants — the FHIR R4 constraints in mappings/invariants, compiled once with fhirpathpy;
4. Bundle — a transaction whose entries all carry a request, unique fullUrls, and urn:uuid references that
   resolve to an entry of an allowed type.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.mapping.errors import FhirValidationError, Issue
from fhir_adapter.mapping.strict import StrictPass, model_class

JSON = dict[str, Any]


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def structure_issues(resource: JSON, path: str) -> list[Issue]:
    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    cls = model_class(rtype)
    if cls is None:
        return [Issue("error", path, f"unknown resourceType {rtype!r}", "structure")]
    contained = resource.get("contained")
    for i, inner in enumerate(contained if isinstance(contained, list) else []):
        if not isinstance(inner, dict) or model_class(inner.get("resourceType")) is None:
            kind = inner.get("resourceType") if isinstance(inner, dict) else inner
            return [
                Issue(
                    "error", f"{path}.contained[{i}]", f"not a resource: resourceType {kind!r}", "structure"
                )
            ]
    try:
        cls.model_validate(resource)
    except ValidationError as err:
        return [Issue("error", f"{path}{_loc(e['loc'])}", e["msg"], "structure") for e in err.errors()]
    except (TypeError, KeyError, ValueError) as err:  # the models raise these on some malformed input
        return [Issue("error", path, f"not valid FHIR R4: {err!r}", "structure")]
    return []


def _present(node: Any, path: tuple[str, ...]) -> bool:
    """Whether an element path (through arrays) has a value somewhere in the node."""
    if not path:
        return True
    if isinstance(node, list):
        return any(_present(n, path) for n in node)
    return isinstance(node, dict) and path[0] in node and _present(node[path[0]], path[1:])


def invariant_issues(resource: JSON, path: str, catalogue: Catalogue) -> list[Issue]:
    issues = []
    for inv in catalogue.invariants.get(resource["resourceType"], ()):
        if inv.guards and not any(_present(resource, g) for g in inv.guards):
            continue
        try:
            holds = inv.evaluate(resource) == [True]
        except Exception as err:  # fhirpathpy raises bare Exceptions on values of an unexpected JSON type
            issues.append(Issue("error", path, f"{inv.key}: cannot be evaluated ({err})", "invariant"))
            continue
        if not holds:
            issues.append(Issue("error", path, f"{inv.key}: {inv.human}", "invariant"))
    return issues


def _resource_issues(resource: JSON, path: str, catalogue: Catalogue, strict: StrictPass) -> list[Issue]:
    """The layers in order for one resource; strict-pass issues and urn:uuid references collect in `strict`."""
    found = structure_issues(resource, path)
    if found:
        return found
    before = len(strict.issues)
    strict.resource(resource, path)
    if any(i.layer == "structure" for i in strict.issues[before:]):
        return []  # invariants assume the JSON types are right
    return invariant_issues(resource, path, catalogue)


def validate_resource(resource: JSON, catalogue: Catalogue, path: str | None = None) -> list[Issue]:
    """Every issue of one resource; an empty list means it may be sent."""
    path = path or str(resource.get("resourceType", "Resource"))
    strict = StrictPass()
    layered = _resource_issues(resource, path, catalogue, strict)
    dangling = [Issue("error", p.path, f"{p.url} resolves to nothing", "reference") for p in strict.pending]
    return strict.issues + dangling + layered


def validate_fhir(data: Any, catalogue: Catalogue, received: bool = False) -> list[Issue]:
    """A resource, or a Bundle of any type; a transaction or batch we send must carry requests too."""
    if not isinstance(data, dict):
        return [
            Issue("error", "(top)", "not a FHIR resource: a JSON object with a resourceType", "structure")
        ]
    if data.get("resourceType") != "Bundle":
        return validate_resource(data, catalogue)
    outgoing = not received and data.get("type") in ("transaction", "batch")
    return validate_bundle(data, catalogue, outgoing)


def validate_bundle(bundle: JSON, catalogue: Catalogue, outgoing: bool = True) -> list[Issue]:
    """Every issue of a Bundle and of each resource in it; urn:uuid references resolve against its entries.

    An outgoing Bundle is a transaction or batch whose entries all carry a request and a unique fullUrl; a
    Bundle received may be of any type.
    """
    issues = _envelope_issues(bundle, outgoing)
    if issues:
        return issues
    strict = StrictPass()
    types: dict[str, str] = {}
    for i, entry in enumerate(bundle.get("entry", [])):
        path = f"Bundle.entry[{i}].resource"
        resource = entry["resource"]
        if isinstance(entry.get("fullUrl"), str) and isinstance(resource.get("resourceType"), str):
            types[entry["fullUrl"]] = resource["resourceType"]
        if not catalogue.is_published(resource):  # published ones were validated when the mappings loaded
            issues += _resource_issues(resource, path, catalogue, strict)
    issues += strict.issues
    for pending in strict.pending:
        rtype = types.get(pending.url)
        if rtype is None:
            issues.append(
                Issue("error", pending.path, f"{pending.url} is no entry of this Bundle", "reference")
            )
        elif rtype not in pending.targets and "Resource" not in pending.targets:
            allowed = ", ".join(sorted(pending.targets))
            issues.append(
                Issue("error", pending.path, f"refers to a {rtype} where {allowed} is allowed", "reference")
            )
    return issues


def _envelope_issues(bundle: JSON, outgoing: bool) -> list[Issue]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return [Issue("error", "Bundle", "not a Bundle", "structure")]
    if outgoing and bundle.get("type") not in ("transaction", "batch"):
        return [Issue("error", "Bundle.type", "a Bundle to send is a transaction or a batch", "structure")]
    entries = bundle.get("entry", [])
    if not isinstance(entries, list) or (outgoing and not entries):
        return [Issue("error", "Bundle.entry", "no entries", "content")]
    issues = structure_issues({k: v for k, v in bundle.items() if k != "entry"}, "Bundle")
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        path = f"Bundle.entry[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            issues.append(Issue("error", f"{path}.resource", "missing", "structure"))
            continue
        if "fullUrl" in entry and not isinstance(entry["fullUrl"], str):
            issues.append(Issue("error", f"{path}.fullUrl", "not a string", "structure"))
        if not outgoing:
            continue
        request = entry.get("request")
        if not isinstance(request, dict) or not request.get("method") or not request.get("url"):
            issues.append(
                Issue("error", f"{path}.request", "an entry to send needs method and url", "structure")
            )
        url = entry.get("fullUrl")
        if not isinstance(url, str) or not url:
            issues.append(Issue("error", f"{path}.fullUrl", "missing", "structure"))
        elif url in seen:
            issues.append(Issue("error", f"{path}.fullUrl", f"{url} appears twice", "structure"))
        else:
            seen.add(url)
    return issues


def ensure_valid_bundle(bundle: JSON, catalogue: Catalogue) -> JSON:
    """The Bundle itself when it may be sent; FhirValidationError with every issue otherwise."""
    issues = [i for i in validate_bundle(bundle, catalogue) if i.severity == "error"]
    if issues:
        raise FhirValidationError(issues)
    return bundle
