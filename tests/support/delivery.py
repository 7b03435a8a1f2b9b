"""A delivery set-up for one test: an organisation with a client linked to a patient in the stand-in EHR,
reached through the fault proxy, and workers with short timings."""

from __future__ import annotations

import copy
import dataclasses
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from fhir_adapter.adapters import ehr_store, fhir_store, outbox_store
from fhir_adapter.adapters.db import reading, writing
from fhir_adapter.adapters.org_store import get_org
from fhir_adapter.adapters.sync_tables import delivery_ledger, outbox_jobs
from fhir_adapter.bootstrap import build_worker
from fhir_adapter.config import Settings
from fhir_adapter.delivery.documents_out import documented_type
from fhir_adapter.delivery.worker import Worker
from fhir_adapter.delivery.writes import PROVENANCE_TAG, business_identifier
from fhir_adapter.domain.sync import OPEN, Ehr, Job
from fhir_adapter.mapping.kinds import RECORD_KINDS
from fhir_adapter.mapping.validation import validate_resource
from fhir_adapter.service.auth import to_org
from fhir_adapter.service.context import stamp, utc_now
from fhir_adapter.service.projection import patient_id
from tests.conftest import ROOT, read_json
from tests.support.ehr_server import EhrServer
from tests.support.fault_proxy import FaultProxy

FAST = {
    "retry_base_seconds": 0.05,
    "retry_cap_seconds": 0.3,
    "lease_seconds": 2.0,
    "ehr_timeout_seconds": 1.0,
    "poll_seconds": 0.05,
}


@dataclass
class Harness:
    service: Any
    client: Any  # the Flask test client
    headers: dict[str, str]
    org_id: str
    ehr: EhrServer
    proxy: FaultProxy
    ehr_id: str = "hospital"

    @property
    def settings(self) -> Settings:
        return dataclasses.replace(self.service.settings, **FAST)

    def register_ehr(self, **fields: Any) -> None:
        ehr = Ehr(self.org_id, self.ehr_id, self.proxy.url, fields.pop("auth", "none"), **fields)
        with writing(self.service.engine) as conn:
            ehr_store.add_ehr(conn, ehr, stamp(utc_now()))

    def worker(self, **overrides: Any) -> Worker:
        settings = dataclasses.replace(self.settings, **overrides)
        return build_worker(settings, self.service.engine, org_id=self.org_id)

    # --- records ---

    def new_client(self, patient_id: str | None = None) -> str:
        """A client with a service plan, linked to a patient in the EHR; its id."""
        case = copy.deepcopy(read_json(ROOT / "fixtures" / "cases" / "discharge-kim.json"))
        client_id = f"CL-{uuid.uuid4().hex[:8]}"
        case["client"]["id"] = client_id
        self.post("/api/v1/clients", case["client"])
        patient_id = patient_id or f"pt-{client_id.lower()}"
        self.ehr.put({"resourceType": "Patient", "id": patient_id, "identifier": [{"value": client_id}]})
        link = {"ehr": self.ehr_id, "patient_id": patient_id, "mrn": client_id}
        self.post(f"/api/v1/clients/{client_id}/ehr-links", link)
        plan = case["service_plans"][0] | {"client_id": client_id, "id": f"SP-{client_id}"}
        plan.pop("episode_id", None)
        self.post("/api/v1/service-plans", plan)
        return client_id

    def post(self, path: str, body: Any, status: int = 201) -> Any:
        response = self.client.post(path, json=body, headers=self.headers)
        assert response.status_code == status, response.json
        return response.json

    def change_plan(self, client_id: str, title: str) -> None:
        path = f"/api/v1/service-plans/SP-{client_id}"
        plan = self.client.get(path, headers=self.headers).json
        plan["title"] = title
        plan.pop("version", None)
        response = self.client.put(path, json=plan, headers=self.headers)
        assert response.status_code == 200, response.json

    # --- the queue ---

    def jobs(self, state: str | None = None) -> list[Job]:
        with reading(self.service.engine) as conn:
            return outbox_store.listing(conn, self.org_id, state, None, 0, 10_000)

    def drain(self, worker: Worker | None = None, timeout: float = 30.0) -> None:
        """Run a worker until no job is pending or leased."""
        worker = worker or self.worker()
        deadline = time.monotonic() + timeout
        while any(j.state in OPEN for j in self.jobs()):
            assert time.monotonic() < deadline, [(j.id, j.state, j.last_reason) for j in self.jobs()]
            if not worker.run_once():
                time.sleep(0.02)

    def ledger(self) -> list[Any]:
        query = select(delivery_ledger).where(delivery_ledger.c.org_id == self.org_id)
        with reading(self.service.engine) as conn:
            return list(conn.execute(query.order_by(delivery_ledger.c.seq)))

    def job_rows(self) -> list[Any]:
        query = select(outbox_jobs).where(outbox_jobs.c.org_id == self.org_id).order_by(outbox_jobs.c.id)
        with reading(self.service.engine) as conn:
            return list(conn.execute(query))

    # --- the EHR ---

    def ours(self, client_id: str) -> list[dict[str, Any]]:
        """Our current resources for a client, the Patient excluded."""
        with reading(self.service.engine) as conn:
            org = get_org(conn, self.org_id)
            assert org is not None
            identity = to_org(org, self.service.settings).identity
            keys = fhir_store.of_patient(conn, self.org_id, patient_id(client_id, identity))
            return [orjson.loads(fhir_store.read(conn, self.org_id, t, i).data) for t, i in keys]  # type: ignore[union-attr]

    def assert_sound(self) -> None:
        """What we wrote to the EHR (what the ledger names, and our Provenances) is valid FHIR by our own
        validation, and every literal reference in it names a resource there. The one allowance: a
        version-specific reference (a Provenance's target) to a resource we removed since, as the stand-in's
        memory repository forgets the history of what is deleted (a server that keeps it answers the vread)."""
        rows = [r for r in self.ledger() if r.ehr_id == self.ehr_id]
        written = {f"{r.resource_type}/{r.ehr_resource_id}" for r in rows if r.ehr_resource_id}

        def ours(resource: dict[str, Any]) -> bool:
            tags = {t.get("system") for t in resource.get("meta", {}).get("tag", [])}
            return f"{resource['resourceType']}/{resource['id']}" in written or PROVENANCE_TAG in tags

        catalogue = self.service.deps.catalogue
        held = self.ehr.everything()
        for resource in filter(ours, held):
            errors = [i for i in validate_resource(resource, catalogue) if i.severity == "error"]
            assert not errors, (resource["resourceType"], errors)
        removed = removed_in_ehr(rows)
        missing = [
            (holder, path, ref)
            for holder, path, ref in self.ehr.dangling(held, ours)
            if not ("/_history/" in ref and ref.split("/_history/")[0] in removed)
        ]
        assert not missing, missing

    def assert_exactly_once(self, client_id: str) -> list[dict[str, Any]]:
        """Each of the client's resources is in the EHR exactly once, as we have it now, and every reference
        in everything the EHR holds resolves there; returns them."""
        self.assert_sound()
        found = []
        for resource in self.ours(client_id):
            ident = business_identifier(resource)
            hits = self.ehr.search(resource["resourceType"], identifier=f"{ident['system']}|{ident['value']}")
            assert len(hits) == 1, (resource["resourceType"], ident, len(hits))
            theirs = hits[0]
            assert theirs.get("status") == resource.get("status"), resource["resourceType"]
            found.append(theirs)
        return found

    def assert_documented_once(self, client_id: str) -> list[dict[str, Any]]:
        """For an EHR that takes the records only as documents: none of the client's resources is there as
        FHIR; each record (its main resource) has exactly one current DocumentReference, found by the record's
        identifier, with our latest title; no version of a document is there twice; returns the documents."""
        self.assert_sound()
        ours = self.ours(client_id)
        for resource in ours:
            ident = business_identifier(resource)
            token = f"{ident['system']}|{ident['value']}"
            assert self.ehr.search(resource["resourceType"], identifier=token) == [], resource["resourceType"]
        found = []
        for resource in (r for r in ours if documented_record(r["resourceType"])):
            ident = business_identifier(resource)
            docs = self.ehr.search(
                "DocumentReference", identifier=f"{ident['system']}/document|{ident['value']}"
            )
            versions = [d["masterIdentifier"]["value"] for d in docs]
            assert len(versions) == len(set(versions)), (resource["resourceType"], versions)  # no copy
            current = [d for d in docs if d["status"] == "current"]
            assert len(current) == 1, (resource["resourceType"], ident, [d["status"] for d in docs])
            if resource.get("title"):
                assert current[0]["description"].endswith(resource["title"]), current[0]["description"]
            found.append(current[0])
        assert found, "none of the client's records has a document"
        return found


def documented_record(rtype: str) -> bool:
    """Whether resources of this type are the main resource of a kind of record sent as a document."""
    return any(kind.fhir_type == rtype for kind in RECORD_KINDS.values()) and documented_type(rtype)


def removed_in_ehr(rows: list[Any]) -> set[str]:
    """The EHR's "Type/id" of each resource whose last ledger row is a removal."""
    last: dict[tuple[str, str], str] = {}
    ehr_ids: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        if row.action == "WITHHELD":
            continue
        key = (row.resource_type, row.id)
        last[key] = row.action
        if row.ehr_resource_id:
            ehr_ids.setdefault(key, set()).add(f"{row.resource_type}/{row.ehr_resource_id}")
    return {ref for key, action in last.items() if action == "DELETE" for ref in ehr_ids.get(key, ())}


def worker_process(database_url: str, org_id: str, **settings: Any) -> subprocess.Popen[bytes]:
    """`fhir-adapter worker --org` in a process of its own, with short timings."""
    env = os.environ | {"FHIR_ADAPTER_DATABASE_URL": database_url}
    env |= {f"FHIR_ADAPTER_{name.upper()}": str(value) for name, value in (FAST | settings).items()}
    command = [str(Path(sys.executable).with_name("fhir-adapter")), "worker", "--org", org_id]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
