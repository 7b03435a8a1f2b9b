"""Documents benchmark: admissions delivered to the restrictive EHR (every record a DocumentReference with its
page rendered as HTML and PDF) beside the full EHR (one transaction Bundle), in the same run.

Set-up: a fresh PostgreSQL database; two stand-in EHRs (tests/ehr/server.js, profiles full and restrictive),
each behind the fault proxy adding BENCH_EHR_LATENCY_MS (default 20) per request; one organisation per EHR,
each with BENCH_ADMISSIONS (default 20) clients made from the Korean case file (fixtures/cases/
discharge-kim.json: an episode, three assessments, a plan with its goals, two referrals; the client's
name in Hangul), the ids made unique per client. An admission is the client's link to its patient in the
EHR: what the client has is queued at once, one job, as an admission does.

Paced: one admission every 0.5 s (2 admissions/s) with one `fhir-adapter worker --org` process; for each
admission the time from its link to its job delivered (the last document, or the Bundle, in the EHR), as
the worker stamps it; p50 and p95 printed. Target (issue): p95 <= 2 s on the restrictive EHR.
Burst: another BENCH_ADMISSIONS admissions queued at once, drained by 2 workers, timed from the first claim
to the last delivery: admissions/s for each EHR and the ratio, what the fallback costs.

Before all that, `tests/bench/pdf_cost.py`: CPU per PDF, WeasyPrint as it comes beside how documents are made
now, side by side in one process. The burst's workers' CPU time per admission (start-up included) is
printed too: unlike the latencies it hardly moves with what else runs on the machine.

Checked after each run: every job delivered; the restrictive EHR holds one current plan of care note per
client and no CarePlan; the full EHR one CarePlan per client. Alone:
`.venv/bin/python -m tests.bench.documents`.
"""

from __future__ import annotations

import copy
import json
import os
import resource
import statistics
import time
from contextlib import ExitStack
from typing import Any

import requests
import sqlalchemy as sa

from fhir_adapter.adapters import ehr_store
from fhir_adapter.adapters.db import reading, writing
from fhir_adapter.adapters.migrate import upgrade
from fhir_adapter.adapters.sync_tables import outbox_jobs
from fhir_adapter.adapters.unit_of_work import SqlWork
from fhir_adapter.bootstrap import bootstrap
from fhir_adapter.config import Settings
from fhir_adapter.domain.sync import Ehr, Link
from fhir_adapter.mapping.kinds import RECORD_KINDS as KINDS
from fhir_adapter.service import outbox, records
from fhir_adapter.service.auth import register_client
from fhir_adapter.service.context import Principal, stamp, utc_now
from tests.bench import pdf_cost
from tests.bench.delivery import (
    EHR_ID,
    LATENCY_MS,
    WORKER_SETTINGS,
    last_job,
    moment,
    verdict,
    wait_delivered,
    workers,
)
from tests.bench.service import ROOT, BenchError, _unpin, database
from tests.support.ehr_server import EhrServer, node_available, start_ehr
from tests.support.fault_proxy import FaultProxy

ADMISSIONS = int(os.environ.get("BENCH_ADMISSIONS", "20"))
CASE = ROOT / "fixtures" / "cases" / "discharge-kim.json"
COLLECTIONS = (
    ("episodes", "episode"),
    ("assessments", "assessment"),
    ("service_plans", "service-plan"),
    ("referrals", "referral"),
)
PACE = 0.5  # seconds between admissions: 2 a second


def case_for(case: dict[str, Any], tag: str) -> dict[str, Any]:
    """The case file with every record id (and each reference to it) made unique by `tag`."""
    ids = [case["client"]["id"]] + [r["id"] for key, _ in COLLECTIONS for r in case.get(key, [])]
    text = json.dumps(case)
    for rid in sorted(ids, key=len, reverse=True):
        text = text.replace(f'"{rid}"', f'"{rid}-{tag}"')
    return json.loads(text)  # type: ignore[no-any-return]


def add_client(services: Any, principal: Principal, case: dict[str, Any]) -> str:
    deps = services.deps
    with writing(services.engine) as conn:
        records.create(SqlWork(conn), deps, principal, KINDS["client"], copy.deepcopy(case["client"]))
        for key, kind in COLLECTIONS:
            for record in case.get(key, []):
                records.create(SqlWork(conn), deps, principal, KINDS[kind], copy.deepcopy(record))
    return str(case["client"]["id"])


def admit(services: Any, principal: Principal, client_id: str) -> None:
    link = Link(
        principal.org.id, client_id, EHR_ID, f"pt-{client_id.lower()}", client_id, None, stamp(utc_now())
    )
    with writing(services.engine) as conn:
        outbox.link(SqlWork(conn), principal, link)


def latencies(engine: sa.Engine, org_id: str, after: int) -> list[float]:
    """Each job's time from made to delivered."""
    query = sa.select(outbox_jobs.c.created_at, outbox_jobs.c.finished_at).where(
        outbox_jobs.c.org_id == org_id, outbox_jobs.c.id > after
    )
    with reading(engine) as conn:
        return [moment(done) - moment(made) for made, done in conn.execute(query)]


def span(engine: sa.Engine, org_id: str, after: int) -> float:
    query = sa.select(sa.func.min(outbox_jobs.c.claimed_at), sa.func.max(outbox_jobs.c.finished_at)).where(
        outbox_jobs.c.org_id == org_id, outbox_jobs.c.id > after
    )
    with reading(engine) as conn:
        first, last = conn.execute(query).one()
    return moment(last) - moment(first)


def check(ehr: EhrServer, clients: int) -> str:
    if ehr.profile == "restrictive":
        notes = ehr.search("DocumentReference", type="http://loinc.org|18776-5", status="current")
        plans = ehr.search("CarePlan")
        ok = len(notes) == clients and not plans
        return (
            f"{len(notes)} current plan of care notes, {len(plans)} CarePlans: {'right' if ok else 'WRONG'}"
        )
    plans = ehr.search("CarePlan")
    return f"{len(plans)} CarePlans for {clients} clients: {'right' if len(plans) == clients else 'WRONG'}"


def children_cpu() -> float:
    """CPU seconds (user + system) of the child processes ended so far: the workers, once stopped."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def scenario(
    url: str, services: Any, ehr: EhrServer, proxy: FaultProxy, case: dict[str, Any]
) -> tuple[list[float], float, float]:
    """Paced admissions with one worker, then a burst with two: (latencies of the paced, burst admissions/s,
    the burst workers' CPU seconds per admission, their start-up included)."""
    org_id = f"bench-docs-{ehr.profile}"
    _, token = register_client(
        services.storage, services.settings, org_id, "bench", "system/*.read system/*.write"
    )
    principal = services.auth.authenticate(f"Bearer {token}")
    with writing(services.engine) as conn:
        ehr_store.add_ehr(conn, Ehr(org_id, EHR_ID, proxy.url, "none"), stamp(utc_now()))
    paced = [add_client(services, principal, case_for(case, f"p{n}")) for n in range(ADMISSIONS)]
    burst = [add_client(services, principal, case_for(case, f"b{n}")) for n in range(ADMISSIONS)]
    for client_id in paced + burst:
        ehr.put(
            {"resourceType": "Patient", "id": f"pt-{client_id.lower()}", "identifier": [{"value": client_id}]}
        )
    with workers(url, org_id, 1, WORKER_SETTINGS) as running:
        for worker in running:  # the worker's start-up (imports, mappings, renderers) is not an admission's
            worker.wait_ready()
        after = last_job(services.engine)
        for client_id in paced:
            admit(services, principal, client_id)
            time.sleep(PACE)
        wait_delivered(services.engine, org_id, after, running)
        took = latencies(services.engine, org_id, after)
    after = last_job(services.engine)
    for client_id in burst:
        admit(services, principal, client_id)
    before = children_cpu()
    with workers(url, org_id, 2, WORKER_SETTINGS) as running:
        wait_delivered(services.engine, org_id, after, running)
    cpu = (children_cpu() - before) / len(burst)
    rate = len(burst) / span(services.engine, org_id, after)
    print(f"  {ehr.profile:<11} EHR: {check(ehr, 2 * ADMISSIONS)}")
    return took, rate, cpu


def run() -> None:
    _unpin()
    pdf_cost.run()
    missing = node_available()
    if missing:
        raise BenchError(f"the stand-in EHR cannot start: {missing}")
    case = json.loads(CASE.read_text())
    results = {}
    with ExitStack() as stack:
        url, label = stack.enter_context(database())
        services = bootstrap(Settings(database_url=url, log_level="WARNING"))
        stack.callback(services.close)
        upgrade(services.engine)
        print(
            f"documents benchmark: {ADMISSIONS} admissions paced at 2/s (1 worker), then {ADMISSIONS} at once "
            f"(2 workers), to the full and the restrictive stand-in EHR, {LATENCY_MS:g} ms added per request; {label}"
        )
        for profile in ("full", "restrictive"):
            ehr = start_ehr(profile=profile)
            stack.callback(ehr.stop)
            proxy = FaultProxy(ehr.url, delay_seconds=LATENCY_MS / 1000).start()
            stack.callback(proxy.stop)
            results[profile] = scenario(url, services, ehr, proxy, case)
    for profile, (took, rate, cpu) in results.items():
        p50, p95 = statistics.median(took), statistics.quantiles(took, n=20)[-1]
        print(
            f"  {profile:<11} admission -> in the EHR at 2/s: p50 {p50:.2f} s, p95 {p95:.2f} s; burst {rate:.1f} admissions/s, "
            f"workers' CPU {cpu:.2f} s per admission"
        )
    p95 = statistics.quantiles(results["restrictive"][0], n=20)[-1]
    ratio = results["restrictive"][1] / results["full"][1]
    print(f"  restrictive / full admissions/s: {ratio:.2f} (what rendering documents costs)")
    print(f"  restrictive p95 <= 2 s at 2 admissions/s: {verdict(p95 <= 2.0)}")


def main() -> None:
    try:
        run()
    except (BenchError, OSError, RuntimeError, requests.RequestException, sa.exc.SQLAlchemyError) as err:
        raise SystemExit(f"the documents benchmark could not run: {err}") from err


if __name__ == "__main__":
    main()
