"""What the admissions put into the EHR: each A01's push job, the resources the delivery ledger says it
wrote, checked against what the EHR holds (once, for the right patient and encounter) and timed by the
EHR's meta.lastUpdated; and the EHR's requests as the fault proxy timed them."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from fhir_adapter.adapters.db import reading
from fhir_adapter.adapters.sync_tables import delivery_ledger, outbox_jobs
from fhir_adapter.delivery.writes import provenance_id
from tests.bench.adt_setup import EHR_ID, Org, client_id
from tests.bench.delivery import WrongContent, moment
from tests.bench.mllp import Answer
from tests.bench.service import BenchError
from tests.support.ehr_server import EhrServer
from tests.support.fault_proxy import FaultProxy

SUBJECT = {"Task": "for", "EpisodeOfCare": "patient"}  # the others name their patient in `subject`

# --- the EHR's share ---


@dataclass(frozen=True)
class Trip:
    method: str
    path: str
    arrived: float  # wall clock, the request read by the proxy
    answered: float  # wall clock, the EHR's answer back at the proxy
    ehr: float  # seconds the EHR took, the added latency apart

    @property
    def kind(self) -> str:
        resource = self.path.split("?", 1)[0].strip("/").split("/")[0] or "(transaction)"  # the type
        return f"{self.method} {resource}{'?' if '?' in self.path else ''}"


class TimedProxy(FaultProxy):
    """The fault proxy, also timing each request's trip on to the EHR and back."""

    def __init__(self, upstream: str, delay_seconds: float = 0.0) -> None:
        super().__init__(upstream, delay_seconds)
        self.trips: list[Trip] = []

    def forward(self, method: str, path: str, body: bytes, headers: Any) -> Any:
        arrived, started = time.time(), time.perf_counter()
        reply = super().forward(method, path, body, headers)
        took = time.perf_counter() - started
        self.trips.append(Trip(method, path, arrived, arrived + took, took - self.delay_seconds))
        return reply


# --- what each admission's push wrote ---


@dataclass(frozen=True)
class Admission:
    tag: str
    acked: float  # wall clock, the A01's ACK read here
    claimed: float  # the push job's (last) claim, as the worker stamped it
    committed: float  # the EHR's meta.lastUpdated of the last resource the push wrote
    finished: float  # the job's finished_at: after the EHR's 2xx, the delivery recorded
    place: int  # in its burst, 0 first

    @property
    def to_ehr(self) -> float:
        return self.committed - self.acked

    @property
    def to_finished(self) -> float:
        return self.finished - self.acked


def push_jobs(org: Org, after: int) -> dict[str, Any]:
    """The push job of each client (the A01's), after job `after`."""
    j = outbox_jobs.c
    query = sa.select(j.id, j.client_id, j.state, j.claimed_at, j.finished_at).where(
        j.org_id == org.id, j.id > after, j.action == "push"
    )
    with reading(org.engine) as conn:
        rows = list(conn.execute(query))
    found: dict[str, Any] = {}
    for row in rows:
        if row.client_id in found:
            raise WrongContent(f"client {row.client_id} has two push jobs from one admission")
        found[row.client_id] = row
    return found


def written(org: Org, job_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Each job's resources as the EHR named them (the delivery ledger)."""
    ledger = delivery_ledger.c
    query = sa.select(ledger.job_id, ledger.resource_type, ledger.ehr_resource_id, ledger.id).where(
        ledger.org_id == org.id, ledger.job_id.in_(job_ids), ledger.action == "PUT"
    )
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    with reading(org.engine) as conn:
        for job_id, rtype, ehr_id, our_id in conn.execute(query):
            out[job_id].append((rtype, ehr_id or our_id))
    return out


def ehr_resources(ehr: EhrServer, types: set[str]) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for rtype in sorted(types):
        page = ehr.search(rtype)
        if len(page) >= 1000:
            raise BenchError(f"the EHR holds 1,000 {rtype} or more: one search page no longer sees them all")
        found |= {(rtype, r["id"]): r for r in page}
    return found


def admissions(
    org: Org, ehr: EhrServer, answers: list[Answer], after: int, places: dict[str, int]
) -> list[Admission]:
    """Per A01: its ACK, its push's claim and finish, the EHR's last write of it; WrongContent when the
    EHR does not hold what was sent, once, for the right patient and encounter."""
    jobs = push_jobs(org, after)
    ledger = written(org, [row.id for row in jobs.values()])
    types = {rtype for keys in ledger.values() for rtype, _ in keys} | {"Provenance"}
    held = ehr_resources(ehr, types)
    plans = _care_plans(held)
    out, wrong = [], []
    for a in answers:
        tag = a.message.tag
        row = jobs.get(client_id(tag))
        if row is None or row.state != "delivered" or not ledger.get(row.id):
            wrong.append(f"{tag}: no delivered push ({row.state if row is not None else 'no job'})")
            continue
        keys = [*ledger[row.id], ("Provenance", provenance_id(org.id, EHR_ID, row.id))]
        missing = [k for k in keys if k not in held]
        if missing:
            wrong.append(f"{tag}: {len(missing)} resources not in the EHR ({missing[0]})")
            continue
        mine = plans.get(f"Patient/pt-{tag}", [])
        if len(mine) != 1 or mine[0].get("encounter", {}).get("reference") != f"Encounter/enc-{tag}":
            wrong.append(f"{tag}: {len(mine)} CarePlans, encounter {[p.get('encounter') for p in mine]}")
            continue
        wrong += _about_others(tag, ledger[row.id], held)
        committed = max(moment(held[k]["meta"]["lastUpdated"]) for k in keys)
        out.append(
            Admission(
                tag, a.acked_wall, moment(row.claimed_at), committed, moment(row.finished_at), places[tag]
            )
        )
    if wrong:
        raise WrongContent(f"the EHR's admissions are wrong: {'; '.join(wrong[:10])}")
    return out


def _care_plans(held: dict[tuple[str, str], dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    """The EHR's CarePlans by the patient they name."""
    plans: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for (rtype, _), r in held.items():
        if rtype == "CarePlan":
            plans[r.get("subject", {}).get("reference")].append(r)
    return plans


def _about_others(
    tag: str, keys: list[tuple[str, str]], held: dict[tuple[str, str], dict[str, Any]]
) -> list[str]:
    """The resources a push wrote that name another patient than its admission's."""
    wrong = []
    for rtype, rid in keys:
        field = SUBJECT.get(rtype, "subject")
        subject = (held[(rtype, rid)].get(field) or {}).get("reference")
        if subject is not None and subject != f"Patient/pt-{tag}":
            wrong.append(f"{tag}: {rtype}/{rid} is about {subject}")
    return wrong


def worker_steps(done: list[Admission], trips: list[Trip]) -> dict[str, list[float]]:
    """From the claim to the EHR's commit, step by step: the Patient lookup by MRN and the Encounter lookup
    by visit number (each the added latency and the EHR's time), and the gaps the worker spends between."""
    steps: dict[str, list[float]] = defaultdict(list)
    for d in done:
        patient = [t for t in trips if t.path.startswith("/Patient?") and t.path.endswith(f"MRN-{d.tag}")]
        encounter = [t for t in trips if t.path.startswith("/Encounter?") and f"V-{d.tag}" in t.path]
        if len(patient) != 1 or len(encounter) != 1:
            continue
        (p,), (e,) = patient, encounter
        steps["claim to the Patient lookup"].append(p.arrived - d.claimed)
        steps["Patient lookup"].append(p.answered - p.arrived)
        steps["then to the Encounter lookup"].append(e.arrived - p.answered)
        steps["Encounter lookup"].append(e.answered - e.arrived)
        steps["then to the last resource committed"].append(d.committed - e.answered)
    return steps
