"""References between the entries of a Bundle by their fullUrl (`urn:uuid:…`): found, checked, put in an
order where each entry comes after those it names, and rewritten to the ids the entries were given, as
transaction processing does (https://hl7.org/fhir/R4/http.html#trules)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

JSON = dict[str, Any]
LOCAL = ("urn:uuid:", "urn:oid:")


def local_references(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path of the reference, url) of each reference inside `value` to a `urn:` fullUrl."""
    if isinstance(value, dict):
        url = value.get("reference")
        if isinstance(url, str) and url.startswith(LOCAL):
            yield f"{path}.reference", url
        for key, item in value.items():
            yield from local_references(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from local_references(item, f"{path}[{i}]")


def full_urls(bundle: JSON) -> dict[str, int]:
    """Each entry's fullUrl and the entry's index."""
    entries = bundle.get("entry") or []
    return {e["fullUrl"]: i for i, e in enumerate(entries) if isinstance(e.get("fullUrl"), str)}


def dangling(bundle: JSON) -> list[tuple[str, str]]:
    """(path, url) of each `urn:` reference that names no entry of the Bundle."""
    known = full_urls(bundle)
    return [
        (path, url)
        for i, entry in enumerate(bundle.get("entry") or [])
        for path, url in local_references(entry.get("resource"), f"Bundle.entry[{i}].resource")
        if url not in known
    ]


def in_order(bundle: JSON) -> list[int]:
    """The entries' indexes, each after the entries it names (the Bundle's order otherwise; in a cycle, the
    entry met first goes first)."""
    entries = bundle.get("entry") or []
    index = full_urls(bundle)
    order: list[int] = []
    seen: set[int] = set()

    def place(i: int) -> None:
        if i in seen:
            return
        seen.add(i)
        for _, url in local_references(entries[i].get("resource"), ""):
            if url in index:
                place(index[url])
        order.append(i)

    for i in range(len(entries)):
        place(i)
    return order


def rewritten(value: Any, given: dict[str, str]) -> Any:
    """`value` with each reference to a fullUrl in `given` replaced by the `Type/id` that entry became."""
    if isinstance(value, dict):
        out = {key: rewritten(item, given) for key, item in value.items()}
        if isinstance(value.get("reference"), str) and value["reference"] in given:
            out["reference"] = given[value["reference"]]
        return out
    if isinstance(value, list):
        return [rewritten(item, given) for item in value]
    return value
