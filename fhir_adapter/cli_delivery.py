"""The delivery commands: worker, ehrs, deliveries, replay, keys."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from fhir_adapter import cli_ehr_ways as ehr_ways
from fhir_adapter.adapters import ehr_store, migrate, org_store, outbox_store
from fhir_adapter.adapters.db import reading, writing
from fhir_adapter.adapters.unit_of_work import SqlWork
from fhir_adapter.api.delivery import job_json
from fhir_adapter.bootstrap import NotReady, database, worker_process
from fhir_adapter.config import Settings
from fhir_adapter.delivery.keys import SigningKeyError, generate, jwks, load_keys
from fhir_adapter.domain.sync import STATES, Ehr, Job
from fhir_adapter.service import outbox
from fhir_adapter.service.context import stamp, utc_now
from fhir_adapter.service.errors import ServiceError


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    try:
        worker = worker_process(settings, args.org)
    except NotReady as err:
        print(err, file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"fhir-adapter worker delivering from {worker.engine.url.render_as_string()}", file=sys.stderr)
    worker.run(stop)
    return 0


def cmd_ehrs(args: argparse.Namespace, settings: Settings) -> int:
    engine = database(settings)
    migrate.upgrade(engine)
    if args.action == "add":
        return _add_ehr(engine, args)
    if args.action in ("show", "update"):
        return (
            ehr_ways.show(engine, settings, args) if args.action == "show" else ehr_ways.update(engine, args)
        )
    if args.action == "remove":
        with writing(engine) as conn:
            done = ehr_store.remove_ehr(conn, args.org, args.ehr_id or "")
        print(
            f"EHR {args.ehr_id} removed" if done else f"no EHR {args.ehr_id} in {args.org}",
            file=sys.stdout if done else sys.stderr,
        )
        return 0 if done else 2
    with reading(engine) as conn:
        for e in ehr_store.list_ehrs(conn, args.org):
            restricted = "sends restricted" if e.send_restricted else "withholds restricted"
            print(f"{e.org_id}\t{e.id}\t{e.base_url}\t{e.auth}\t{restricted}")
    return 0


def _add_ehr(engine: Any, args: argparse.Namespace) -> int:
    if not args.org or not args.ehr_id or not args.base_url:
        print("ehrs add needs --org, an EHR id and --base-url", file=sys.stderr)
        return 2
    auth = "smart" if args.client_id else "bearer" if args.bearer else "none"
    ehr = Ehr(
        args.org,
        args.ehr_id,
        args.base_url.rstrip("/"),
        auth,
        args.client_id,
        args.scope,
        args.token_url,
        args.bearer,
        args.send_restricted,
        args.mrn_system,
        args.mrn_authority,
    )
    try:
        with writing(engine) as conn:
            if org_store.get_org(conn, args.org) is None:
                print(f"no organisation {args.org}: add an API client for it first", file=sys.stderr)
                return 2
            ehr_store.add_ehr(conn, ehr, stamp(utc_now()))
    except IntegrityError:
        print(f"EHR {args.ehr_id} exists in {args.org}", file=sys.stderr)
        return 2
    print(f"EHR {args.ehr_id} of {args.org}: {ehr.base_url} ({auth})")
    return 0


def cmd_deliveries(args: argparse.Namespace, settings: Settings) -> int:
    engine = database(settings)
    with reading(engine) as conn:
        jobs = outbox_store.listing(conn, args.org, args.state, args.client, 0, args.limit)
    for job in jobs:
        print(json.dumps(job_json(job)) if args.json else _line(job))
    return 0


def _line(job: Job) -> str:
    why = f"\t{job.last_reason}" if job.last_reason else ""
    return f"{job.id}\t{job.state}\t{job.ehr_id}\t{job.client_id}\t{job.cause}\tattempts={job.attempts}{why}"


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    if not args.all_dead and args.job is None:
        print("replay needs a job id or --all-dead", file=sys.stderr)
        return 2
    engine = database(settings)
    now = stamp(utc_now())
    try:
        with writing(engine) as conn:
            if args.all_dead:
                pairs = outbox.replay_dead(SqlWork(conn), args.org, now)
            else:
                pairs = outbox.replay(SqlWork(conn), args.org, args.job, now)
    except ServiceError as err:
        print("; ".join(p.message for p in err.problems), file=sys.stderr)
        return 2
    for old, new in pairs:
        print(f"job {old} queued again as job {new}")
    if not pairs:
        print("no dead letters")
    return 0


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.action == "generate":
            path = Path(args.path) if args.path else settings.signing_keys[0]
            key = generate(path, args.alg)
            print(f"{path}: {key.alg} key {key.kid}; published at /.well-known/jwks.json")
        else:
            print(json.dumps(jwks(load_keys(settings.signing_keys)), indent=2))
    except SigningKeyError as err:
        print(err, file=sys.stderr)
        return 2
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    w = sub.add_parser(
        "worker", help="deliver queued jobs to the EHRs (run as many as you like on PostgreSQL)"
    )
    w.add_argument("--org", help="deliver only this organisation's jobs (default: every organisation's)")
    w.set_defaults(service=cmd_worker)
    _ehrs_parser(sub)
    ehr_ways.add_preview_parser(sub)
    d = sub.add_parser("deliveries", help="list delivery jobs (dead letters: --state dead)")
    d.add_argument("--org", required=True)
    d.add_argument("--state", choices=STATES)
    d.add_argument("--client")
    d.add_argument("--limit", type=int, default=100)
    d.add_argument("--json", action="store_true", help="one JSON object per line, with the EHR's answer")
    d.set_defaults(service=cmd_deliveries)
    r = sub.add_parser("replay", help="queue dead letters again")
    r.add_argument("job", nargs="?", type=int, help="the job to send again")
    r.add_argument("--org", required=True)
    r.add_argument("--all-dead", action="store_true", help="every dead letter of the organisation")
    r.set_defaults(service=cmd_replay)
    k = sub.add_parser("keys", help="signing keys for SMART Backend Services: generate, jwks")
    k.add_argument("action", choices=["generate", "jwks"])
    k.add_argument(
        "path", nargs="?", help="with generate: where (default: the first FHIR_ADAPTER_SIGNING_KEYS)"
    )
    k.add_argument("--alg", choices=["ES384", "RS384"], default="ES384")
    k.set_defaults(service=cmd_keys)


def _ehrs_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    e = sub.add_parser("ehrs", help="the EHRs an organisation delivers to: add, list, show, update, remove")
    e.add_argument("action", choices=["add", "list", "show", "update", "remove"])
    e.add_argument("ehr_id", nargs="?", help="a short name: lower-case letters, digits and dashes")
    e.add_argument("--org", help="the organisation")
    e.add_argument("--base-url", help="the EHR's FHIR base URL")
    e.add_argument("--client-id", help="SMART Backend Services: our client id at the EHR")
    e.add_argument("--scope", help="SMART: the scopes to ask for (default system/*.write)")
    e.add_argument(
        "--token-url", help="SMART: the token endpoint (default: from .well-known/smart-configuration)"
    )
    e.add_argument("--bearer", help="a static bearer token (test servers)")
    e.add_argument("--send-restricted", action="store_true", help="also deliver records labelled restricted")
    e.add_argument("--mrn-system", help="the FHIR identifier system of the EHR's medical record numbers")
    e.add_argument("--mrn-authority", help="their HL7 v2 assigning authority (PID-3.4 namespace or OID)")
    ehr_ways.add_arguments(e)
    e.set_defaults(service=cmd_ehrs)
