"""The hospital's own questionnaires, read from its EHR at read-back: an answer to an instrument we do not
hold is kept with the title and item words the EHR serves for it (mapping/from_fhir_external.py), not only
with what the response repeats. Read before the read-back's transaction: no EHR request is made while the
database is held."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import structlog

from fhir_adapter.delivery.ehr_client import EhrClient, Failure
from fhir_adapter.mapping.catalogue import Catalogue

JSON = dict[str, Any]
MOST = 20  # questionnaires asked for in one read-back

log = structlog.get_logger("fhir_adapter.delivery")


def served(client: EhrClient, found: list[JSON], catalogue: Catalogue) -> dict[str, JSON]:
    """The Questionnaire the EHR serves under each canonical its responses name that is none of ours (by
    url, and version when the canonical names one). One it serves nothing under, or that cannot be asked
    about (a refusal, the EHR away), is left out: the responses then keep their own words."""
    named = {
        str(r["questionnaire"])
        for r in found
        if r.get("resourceType") == "QuestionnaireResponse" and isinstance(r.get("questionnaire"), str)
    }
    foreign = sorted(c for c in named if catalogue.questionnaire_by_url(c.split("|")[0]) is None)
    out: dict[str, JSON] = {}
    for canonical in foreign[:MOST]:
        url, _, version = canonical.partition("|")
        query = urlencode({"url": url} | ({"version": version} if version else {}))
        try:
            bundle = client.request("GET", f"Questionnaire?{query}")
        except Failure as failure:
            log.info("delivery.questionnaire_unread", reason=failure.reason, status=failure.status)
            continue
        entries = bundle.get("entry", []) if isinstance(bundle, dict) else []
        hits = [
            e["resource"]
            for e in entries
            if isinstance(e, dict)
            and isinstance(e.get("resource"), dict)
            and e["resource"].get("resourceType") == "Questionnaire"
            and e["resource"].get("url") == url
        ]
        if hits:
            out[canonical] = hits[0]
    return out
