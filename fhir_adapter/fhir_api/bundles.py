"""Search results as a FHIR searchset Bundle; stored resources go in as they are (no parse, no re-dump)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import orjson

from fhir_adapter.mapping.kinds import at_path

# (resource type, id, the resource as JSON text): stored resources go in as they are.
Hit = tuple[str, str, str | bytes]


def _links(
    url: str, total: int, used: tuple[tuple[str, str], ...], count: int, offset: int
) -> list[dict[str, str]]:
    """The page's self link, and its next and previous pages when there are."""

    def link(relation: str, at: int) -> dict[str, str]:
        query = urlencode([*used, ("_count", str(count)), ("_offset", str(at))])
        return {"relation": relation, "url": f"{url}?{query}"}

    links = [link("self", offset)]
    if count and offset + count < total:
        links.append(link("next", offset + count))
    if offset > 0 and count:
        links.append(link("previous", max(0, offset - count)))
    return links


def _entries(base: str, matches: Sequence[Hit], included: Sequence[Hit]) -> list[dict[str, Any]]:
    """The matches, then each included resource that is not among them, once."""
    entries: list[dict[str, Any]] = [_entry(base, hit, "match") for hit in matches]
    seen = {hit[:2] for hit in matches}
    for hit in included:
        if hit[:2] not in seen:
            seen.add(hit[:2])
            entries.append(_entry(base, hit, "include"))
    return entries


def searchset(
    base: str,
    rtype: str,
    total: int,
    matches: Sequence[Hit],
    included: Sequence[Hit],
    used: tuple[tuple[str, str], ...],
    count: int,
    offset: int,
    stamp: str,
    outcome: dict[str, Any] | None = None,
) -> bytes:
    """The Bundle; `outcome` (an OperationOutcome: what the search left out) goes in as an entry of its own."""
    entries = _entries(base, matches, included)
    if outcome is not None:
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "meta": {"lastUpdated": stamp},
        "type": "searchset",
        "total": total,
        "link": _links(f"{base}/{rtype}", total, used, count, offset),
    }
    if entries:
        bundle["entry"] = entries
    return orjson.dumps(bundle)


def _entry(base: str, hit: Hit, mode: str) -> dict[str, Any]:
    rtype, rid, data = hit
    return {"fullUrl": f"{base}/{rtype}/{rid}", "resource": orjson.Fragment(data), "search": {"mode": mode}}


def references(data: str, element: str) -> list[tuple[str, str]]:
    """(type, id) of the relative references an element (or a path: "participant.actor") of a stored
    resource holds."""
    out = []
    for ref in at_path(orjson.loads(data), element):
        url = ref.get("reference") if isinstance(ref, dict) else None
        if isinstance(url, str) and url.count("/") == 1:
            rtype, rid = url.split("/")
            out.append((rtype, rid))
    return out
