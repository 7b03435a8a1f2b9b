"""What each EHR lets us write, kept in the database so that every worker knows it: read from the EHR's
CapabilityStatement (and the scopes its token endpoint granted) when not known or an hour old, and again
when the EHR refuses a write of a type (403 or 405). A refused type whose statement still claims it is
noted as refused: until the next reading it goes as a document, so a refusal is never retried for ever."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine

from fhir_adapter.adapters import capability_store
from fhir_adapter.adapters.db import reading, writing
from fhir_adapter.delivery.capabilities import Capabilities, from_statement, of_json
from fhir_adapter.delivery.ehr_client import EhrClient, Failure
from fhir_adapter.domain.sync import Ehr
from fhir_adapter.service.context import Clock, stamp

log = structlog.get_logger("fhir_adapter.delivery")
REREAD = timedelta(hours=1)
REFUSALS = (403, 405)


class CapabilityBook:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def get(self, ehr: Ehr, client: EhrClient, force: bool = False) -> Capabilities:
        """As stored, or read from the EHR when not known, stale, or `force`d."""
        with reading(self.engine) as conn:
            data, read_at, overrides = capability_store.read(conn, ehr.org_id, ehr.id)
        now = self.clock()
        if data is not None and read_at and not force and now - datetime.fromisoformat(read_at) < REREAD:
            return of_json(data, overrides)
        fresh = from_statement(client.request("GET", "metadata"), client.granted_scopes())
        self._store(ehr, fresh, now)
        log.info("delivery.capabilities_read", ehr=ehr.id, types=len(fresh.types), forced=force)
        return replace(fresh, overrides=overrides)

    def refused(self, ehr: Ehr, client: EhrClient, rtype: str, status: int | None) -> Capabilities:
        """Read again after the EHR refused a write of `rtype`; where the statement still claims the type,
        the refusal is noted so that it goes as a document until the next reading."""
        caps = self.get(ehr, client, force=True)
        if caps.way(rtype) != "document" and rtype not in caps.overrides:
            caps = replace(caps, refused={**caps.refused, rtype: f"HTTP {status} to a write"})
            self._store(ehr, caps, self.clock())
        log.info("delivery.type_refused", ehr=ehr.id, type=rtype, status=status, way=caps.way(rtype))
        return caps

    def _store(self, ehr: Ehr, caps: Capabilities, now: datetime) -> None:
        with writing(self.engine) as conn:
            capability_store.store(conn, ehr.org_id, ehr.id, caps.to_json(), stamp(now))


def worth_a_fallback(failure: Failure, refused: set[str]) -> bool:
    """A 403 or 405 on a write of a type not yet refused in this job: worth a fallback."""
    rtype = failure.resource_type
    if failure.status not in REFUSALS or rtype is None or rtype in refused:
        return False
    if rtype == "DocumentReference":
        failure.reason, failure.detail = (
            "documents_refused",
            (
                f"The EHR refused the document carrying records it does not take as resources "
                f"(HTTP {failure.status}): nothing can be delivered there until it accepts "
                f"DocumentReference. Its answer: {failure.detail}"
            ),
        )
        return False
    return True
