"""The Questionnaire a QuestionnaireResponse names goes to the EHR before the first response that names it,
where the EHR takes Questionnaires: a conditional update on its url and version (or, where it can only
create, a create found again by them), so that it is there once whatever is sent again. Where it takes
none, the ledger says so (NOT_SENT) once; the response still names our canonical, which our /fhir serves.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import structlog
from sqlalchemy import Engine

from fhir_adapter.adapters import ehr_store
from fhir_adapter.adapters.db import reading
from fhir_adapter.delivery.capabilities import Capabilities
from fhir_adapter.delivery.ehr_client import EhrClient, Failure
from fhir_adapter.delivery.outgoing import Prepared
from fhir_adapter.delivery.writes import Outgoing, Written
from fhir_adapter.domain.sync import LedgerAction
from fhir_adapter.mapping.catalogue import Catalogue

log = structlog.get_logger("fhir_adapter.delivery")
JSON = dict[str, Any]


def needed(items: list[Outgoing], catalogue: Catalogue) -> list[Outgoing]:
    """Our Questionnaires the job's responses name (id: kind-version)."""
    canonicals = {
        str(o.resource.get("questionnaire"))
        for o in items
        if o.resource_type == "QuestionnaireResponse" and not o.deleted and o.resource.get("questionnaire")
    }
    out = []
    for canonical in sorted(canonicals):
        q = catalogue.questionnaire_by_url(canonical)
        resource = catalogue.published.get(q.kind) if q else None
        if q is not None and resource is not None:
            out.append(Outgoing("Questionnaire", f"{q.kind}-{q.version}", 1, False, resource))
    return out


def send_questionnaires(
    engine: Engine,
    client: EhrClient,
    prepared: Prepared,
    items: list[Outgoing],
    caps: Capabilities,
    catalogue: Catalogue,
) -> list[Written]:
    """Each Questionnaire the job's responses need that the EHR does not have from us yet."""
    wanted = needed(items, catalogue)
    if not wanted:
        return []
    with reading(engine) as conn:
        known = ehr_store.last_sent(
            conn, prepared.ehr.org_id, prepared.ehr.id, [(q.resource_type, q.id) for q in wanted]
        )
    how = _how(caps)
    out = []
    for item in wanted:
        sent = known.get((item.resource_type, item.id))
        if sent is not None and (sent.action is LedgerAction.PUT or how is None):
            continue  # there already, or already said to be refused
        if how is None:
            log.info("delivery.questionnaire_not_taken", ehr=prepared.ehr.id, questionnaire=item.id)
            out.append(Written(item, None, None, not_taken=True))
            continue
        out.append(_write(client, item, how))
    return out


def _how(caps: Capabilities) -> str | None:
    """How a Questionnaire is written there: None where the EHR takes none (or refused one since)."""
    rules = caps.types.get("Questionnaire")
    if "Questionnaire" in caps.refused or caps.overrides.get("Questionnaire") == "document":
        return None
    if rules is not None and rules.conditional_update and caps.allows("Questionnaire", "update"):
        return "update"
    return "create" if caps.creates("Questionnaire") else None


def _write(client: EhrClient, item: Outgoing, how: str) -> Written:
    query = urlencode({"url": item.resource["url"], "version": item.resource["version"]})
    try:
        if how == "update":
            answer = client.request("PUT", f"Questionnaire?{query}", item.resource)
        else:
            answer = client.request("POST", "Questionnaire", item.resource, {"If-None-Exist": query})
    except Failure as failure:
        failure.resource_type = "Questionnaire"
        raise
    return Written(item, answer.get("id"), answer.get("meta", {}).get("versionId"))
