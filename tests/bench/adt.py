"""Admission benchmark: how fast `fhir-adapter mllp` acknowledges HL7 v2 ADT, and how long an A01 takes to
put the client's records into the EHR.

Set-up: a fresh PostgreSQL database; clients made through the service layer in this process (what the HTTP
API calls) from fixtures/cases/discharge-kim.json, each with its own ids and its own medical record number
(a client identifier of the EHR's MRN system), then ANALYZE: the planner's statistics, which autovacuum
keeps in a running database (without them, matching by MRN takes a plan that reads every client); the
stand-in EHR (tests/ehr/server.js, as in tests/bench/delivery.py) behind the fault proxy, which adds
BENCH_EHR_LATENCY_MS (default 20) to every request, holding a Patient with the MRN and an Encounter with the
visit number for each admission. The listener is one `fhir-adapter mllp --org --ehr` process, logging at
INFO to a file, as deployed; the messages come from this process over MLLP (tests/support/adt.py). Where
the time goes: the CPU each process used (from /proc: the listener, the workers, PostgreSQL's processes for
this database, node, this process, anything else on the machine, which should be near 0) and how long the
EHR took to answer each kind of request, past the proxy's added latency.

ACK latency: BENCH_ADT_SECONDS (default 30) × BENCH_ADT_RATE (default 30) messages/s, open loop: each
message has its time on a fixed schedule and latency counts from that time to its ACK, so a slow answer is
not hidden by the sender waiting for it. A sender waits for each ACK before its connection's next message
(MLLP), so the messages go over BENCH_ADT_CONNECTIONS (default 4) connections in turn, each carrying every
fourth message; a message whose connection is still waiting goes late, and the wait counts. The mix:
visits of 4 known clients for every unknown MRN, each visit an A01, then its A08 2 s later, then its A03
2 s after that (A01/A08/A03 a third each). No worker runs meanwhile: the queued pushes wait (another
organisation than the next scenario's). Target (issue): p99 <= 100 ms.

Admission to the EHR: BENCH_ADT_BURSTS (default 6) bursts of 20 A01s, one every 10 s (2 admissions/s on
average), each burst's 20 sent at once over the same connections, each A01 a client not yet linked to the
EHR; 2 `fhir-adapter worker --org` processes (FHIR_ADAPTER_POLL_SECONDS=0.05 as in the delivery benchmark)
find the EHR's Patient by MRN and the Encounter by visit number, then send the push: the client's active
plan with its goals, latest assessments, open referral and its Task, the episode's care team, in one
transaction Bundle. Per admission: from the A01's ACK (received here) to the EHR's meta.lastUpdated of the
last resource that push wrote (the EHR's own clock, the same machine's), and for comparison to the job's
finished_at (stamped by the worker after the EHR's 2xx, with the delivery recorded). Before the bursts, a
few admissions are sent one at a time, each waiting for the last to arrive (the first absorbs the workers'
start-up): what one admission takes with no queue. Target (issue): p95 <= 2 s.

Afterwards the EHR must hold, for each admitted client, one CarePlan linked to its admission's Encounter: a
duplicate, a miss or a wrong link fails the run (non-zero exit status). Misses of the targets are printed,
never fatal. About 2 minutes. Repeat with `make bench`, or alone with
`.venv/bin/python -m tests.bench.adt`; BENCH_PG_URL names the PostgreSQL server (default
postgresql+psycopg://postgres@127.0.0.1:5432/test).

Where it is: this module sets up and runs both measures; the set-up and the settings they share in
tests/bench/adt_setup.py, the ACK latency in adt_ack.py, the admission to the EHR in adt_admission.py
with its checks of the EHR in adt_ehr.py; the MLLP listener and sender in mllp.py, the CPU accounting in
cpu.py.
"""

from __future__ import annotations

import json
import os
from contextlib import ExitStack

import requests
import sqlalchemy as sa

from tests.bench.adt_ack import ack_latency
from tests.bench.adt_admission import admission_to_ehr
from tests.bench.adt_ehr import TimedProxy
from tests.bench.adt_setup import LATENCY_MS, add_org
from tests.bench.delivery import WrongContent, rig
from tests.bench.service import CASE_FILE, BenchError


def run() -> None:
    case = json.loads(CASE_FILE.read_text())
    with ExitStack() as stack:
        url, label, ehr, proxy, services = rig(stack, TimedProxy)
        orgs = {org_id: add_org(services, org_id, proxy.url) for org_id in ("bench-adt-ack", "bench-adt-ehr")}
        print(
            f"admission benchmark: one `fhir-adapter mllp` process, {label}; stand-in EHR (node, "
            f"@medplum/fhir-router in memory) behind the fault proxy, {LATENCY_MS:g} ms added per request; "
            f"only {os.cpu_count()} cores, shared by the listener, the workers, the database, the EHR, the "
            "proxy and the sender"
        )
        ack_latency(url, orgs["bench-adt-ack"], case)
        admission_to_ehr(url, orgs["bench-adt-ehr"], ehr, proxy, case)
        if proxy.errors:
            print(
                f"  WARNING: the fault proxy's handlers raised {len(proxy.errors)} times:\n{proxy.errors[0]}"
            )
    print("repeat: `make bench`, or alone `.venv/bin/python -m tests.bench.adt`")


def main() -> None:
    """Run the benchmark; exit non-zero when it could not run or the EHR's content is wrong (not for a miss)."""
    try:
        run()
    except WrongContent as err:
        raise SystemExit(f"ADMISSIONS ARE WRONG: {err}") from err
    except (BenchError, OSError, RuntimeError, requests.RequestException, sa.exc.SQLAlchemyError) as err:
        raise SystemExit(f"the admission benchmark could not run: {err}") from err


if __name__ == "__main__":
    main()
