"""The admission benchmark's set-up: an organisation with the EHR configured, its clients made from the
discharge case file (each with its own ids and MRN), the EHR's Patient and Encounter for each admission,
and the settings both of its measures share."""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from fhir_adapter.adapters import ehr_store
from fhir_adapter.adapters.db import writing
from fhir_adapter.adapters.unit_of_work import SqlWork
from fhir_adapter.api.http import Services
from fhir_adapter.domain.sync import Ehr
from fhir_adapter.mapping.kinds import RECORD_KINDS as KINDS
from fhir_adapter.service import records
from fhir_adapter.service.auth import register_client
from fhir_adapter.service.context import Principal, stamp, utc_now
from tests.support import adt
from tests.support.ehr_server import EhrServer

LATENCY_MS = float(os.environ.get("BENCH_EHR_LATENCY_MS", "20"))
CONNECTIONS = int(os.environ.get("BENCH_ADT_CONNECTIONS", "4"))
EHR_ID = "hospital"
MRN_SYSTEM = "urn:oid:2.16.840.1.113883.19.5.7"
VISIT_SYSTEM = "urn:oid:2.16.840.1.113883.19.5.9"
AUTHORITY = "RGH"
COLLECTIONS = (
    ("episodes", "episode"),
    ("assessments", "assessment"),
    ("service_plans", "service-plan"),
    ("referrals", "referral"),
)


@dataclass
class Org:
    """An organisation, acted for through the service layer in this process (what the HTTP API calls)."""

    services: Services
    principal: Principal

    @property
    def id(self) -> str:
        return self.principal.org.id

    @property
    def engine(self) -> sa.Engine:
        return self.services.engine

    def add_clients(self, case: dict[str, Any], tags: list[str]) -> float:
        """One client per tag, with the case file's records under ids of its own and MRN `MRN-<tag>`, each
        client in one transaction. Seconds per client."""
        ids = [case["client"]["id"]] + [r["id"] for key, _ in COLLECTIONS for r in case.get(key, [])]
        started = time.perf_counter()
        for tag in tags:
            renamed = {old: f"{old}-{tag}" for old in ids}
            mine = _renamed(copy.deepcopy(case), renamed)
            mine["client"]["identifiers"] = [
                {"system": MRN_SYSTEM, "value": f"MRN-{tag}", "type": "MR", "assigner": AUTHORITY}
            ]
            deps = self.services.deps
            with writing(self.services.engine) as conn:
                records.create(SqlWork(conn), deps, self.principal, KINDS["client"], mine["client"])
                for key, kind in COLLECTIONS:
                    for record in mine.get(key, []):
                        records.create(SqlWork(conn), deps, self.principal, KINDS[kind], record)
        took = (time.perf_counter() - started) / max(1, len(tags))
        with self.engine.connect() as conn:  # the planner's statistics, as autovacuum keeps them
            conn.execute(sa.text("ANALYZE"))
            conn.commit()
        return took


def _renamed(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return names.get(value, value) if isinstance(value, str) else value


def client_id(tag: str) -> str:
    return f"CL-20417-{tag}"


def visit(tag: str, mrn: str | None = None) -> adt.Visit:
    return adt.Visit(mrn=mrn or f"MRN-{tag}", number=f"V-{tag}", authority=AUTHORITY)


def in_ehr(ehr: EhrServer, tag: str) -> None:
    """The hospital's Patient (with the MRN) and the admission's Encounter (with the visit number)."""
    ehr.put(
        {
            "resourceType": "Patient",
            "id": f"pt-{tag}",
            "identifier": [{"system": MRN_SYSTEM, "value": f"MRN-{tag}"}],
            "name": [{"family": "Kim", "given": ["Seo-yeon"]}],
        }
    )
    ehr.put(
        {
            "resourceType": "Encounter",
            "id": f"enc-{tag}",
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "identifier": [{"system": VISIT_SYSTEM, "value": f"V-{tag}"}],
            "subject": {"reference": f"Patient/pt-{tag}"},
        }
    )


def add_org(services: Services, org_id: str, ehr_url: str) -> Org:
    """An organisation with an API client, and the EHR at `ehr_url` matching patients by MRN."""
    _, token = register_client(
        services.storage, services.settings, org_id, "bench", "system/*.read system/*.write"
    )
    ehr_row = Ehr(org_id, EHR_ID, ehr_url, "none", mrn_system=MRN_SYSTEM, mrn_authority=AUTHORITY)
    with writing(services.engine) as conn:
        ehr_store.add_ehr(conn, ehr_row, stamp(utc_now()))
    return Org(services, services.auth.authenticate(f"Bearer {token}"))
