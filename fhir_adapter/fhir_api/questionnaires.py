"""Our Questionnaires on /fhir: the definitions the QuestionnaireResponses we send name by canonical URL,
read by id (the kind: `Questionnaire/prapare`) or searched by url and version. Definitions, not patient
data; a token still needs to read the type (system/Questionnaire.read or system/*.read)."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from fhir_adapter.api.errors import operation_outcome
from fhir_adapter.api.http import require, services
from fhir_adapter.api.http_errors import HttpError
from fhir_adapter.fhir_api import disclosure
from fhir_adapter.service.errors import Problem, not_found

JSON = dict[str, Any]
PARAMS = ("url", "version", "_id", "_count")
# How the CapabilityStatement lists the type.
QUESTIONNAIRE = {
    "type": "Questionnaire",
    "interaction": [{"code": "read"}, {"code": "search-type"}],
    "documentation": "the definitions our QuestionnaireResponses name; id = the kind of assessment",
    "searchParam": [
        {"name": "url", "type": "uri", "documentation": "the canonical URL"},
        {"name": "version", "type": "token", "documentation": "the business version"},
        {"name": "_id", "type": "token", "documentation": "the kind of assessment"},
    ],
}


def published() -> list[JSON]:
    """Every Questionnaire we publish, with its id."""
    catalogue = services().deps.catalogue
    return [
        {"resourceType": "Questionnaire", "id": kind} | {k: v for k, v in q.items() if k != "resourceType"}
        for kind, q in sorted(catalogue.published.items())
    ]


def read(rid: str) -> Response:
    require("Questionnaire", "read", "read")
    found = next((q for q in published() if q["id"] == rid), None)
    if found is None:
        raise not_found(f"Questionnaire/{rid}")
    return disclosure.definitions(found)


def _parameters() -> tuple[dict[str, str], list[Problem]]:
    """The search's parameters, and those it cannot use: unknown, or without a value (as any search here)."""
    kept: dict[str, str] = {}
    problems = []
    for name, value in request.args.items(multi=True):
        if name not in PARAMS:
            problems.append(Problem(name, f"unknown search parameter {name}", "not-supported"))
        elif not value.strip(","):
            problems.append(Problem(name, f"{name} has no value", "invalid"))
        else:
            kept[name] = value
    return kept, problems


def search() -> Response:
    require("Questionnaire", "search", "search-type")
    params, problems = _parameters()
    lenient = "handling=lenient" in request.headers.get("Prefer", "")
    if problems and not lenient:
        raise HttpError(400, problems)
    url, version, rid = (params.get(k) for k in ("url", "version", "_id"))
    if url and "|" in url:
        url, version = url.split("|", 1)
    matches = [
        q
        for q in published()
        if (url is None or q.get("url") == url)
        and (version is None or q.get("version") == version)
        and (rid is None or q["id"] == rid)
    ]
    entries: list[JSON] = [
        {
            "fullUrl": f"{request.url_root}fhir/Questionnaire/{q['id']}",
            "resource": q,
            "search": {"mode": "match"},
        }
        for q in matches
    ]
    if problems:  # lenient: what was left out, as the other searches say it
        left_out = [Problem(p.path, f"left out: {p.message}", "not-supported", "warning") for p in problems]
        entries.append({"resource": operation_outcome(left_out), "search": {"mode": "outcome"}})
    bundle: JSON = {"resourceType": "Bundle", "type": "searchset", "total": len(matches)}
    return disclosure.definitions(bundle | ({"entry": entries} if entries else {}))
