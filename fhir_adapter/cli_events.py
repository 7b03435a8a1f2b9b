"""The admission and discharge commands: the MLLP listener, and the inbound messages."""

from __future__ import annotations

import argparse
import getpass
import ssl
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from fhir_adapter.adapters import inbound_store, org_store
from fhir_adapter.adapters.db import reading
from fhir_adapter.adapters.unit_of_work import SqlStorage
from fhir_adapter.bootstrap import ListenerOptions, NotReady, build_listener, database, record_deps
from fhir_adapter.config import Settings
from fhir_adapter.domain.inbound import STATES, Inbound
from fhir_adapter.service import intake
from fhir_adapter.service.auth import to_org
from fhir_adapter.service.context import Principal, utc_now
from fhir_adapter.service.errors import ServiceError


def _options(args: argparse.Namespace, settings: Settings) -> ListenerOptions:
    """What the options ask for, else the settings."""
    return ListenerOptions(
        host=args.host or settings.mllp_host,
        port=args.port if args.port is not None else settings.mllp_port,
        tls_cert=args.tls_cert or settings.mllp_tls_cert,
        tls_key=args.tls_key or settings.mllp_tls_key,
        tls_client_ca=args.tls_client_ca or settings.mllp_tls_client_ca,
        idle_seconds=args.idle_seconds if args.idle_seconds is not None else settings.mllp_idle_seconds,
        max_connections=(
            args.max_connections if args.max_connections is not None else settings.mllp_max_connections
        ),
    )


def cmd_mllp(args: argparse.Namespace, settings: Settings) -> int:
    try:
        listener = build_listener(settings, args.org, args.ehr, _options(args, settings))
    except NotReady as err:
        print(err, file=sys.stderr)
        return 2
    host, context = listener.host, listener.context

    def ready(bound: int) -> None:
        required = context is not None and context.verify_mode == ssl.CERT_REQUIRED
        over = " over TLS" + (", client certificates required" if required else "") if context else ""
        print(
            f"fhir-adapter MLLP listening on {host}:{bound}{over} for EHR {listener.ehr.id}",
            file=sys.stderr,
            flush=True,
        )

    try:
        listener.run(ready)
    except KeyboardInterrupt:
        pass
    except OSError as err:
        print(f"cannot listen on {host}:{listener.port}: {err.strerror}", file=sys.stderr)
        return 2
    return 0


def _line(m: Inbound) -> str:
    who = m.client_id or f"MRN {m.event.patient.mrn or '?'}"
    return f"{m.seq}\t{m.received_at}\t{m.ehr_id}\t{m.event.event}\t{m.state}\t{who}\t{m.detail or ''}"


def _person(engine: Engine, settings: Settings, org_id: str) -> Principal | None:
    """Whoever runs the command, acting for the organisation (audited as cli:<user>)."""
    with reading(engine) as conn:
        row = org_store.get_org(conn, org_id)
    if row is None:
        return None
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container, say)
        user = "unknown"
    org = to_org(row, settings)
    return Principal(f"cli:{user}", "fhir-adapter command line", org, frozenset({("*", "*")}), True)


def _decide(engine: Engine, settings: Settings, args: argparse.Namespace) -> int:
    """`inbound match SEQ --client CL` or `inbound dismiss SEQ --reason TEXT`."""
    if args.seq is None or (args.action == "match" and not args.client):
        print(
            f"inbound {args.action} needs the message's id" + (" and --client" * (args.action == "match")),
            file=sys.stderr,
        )
        return 2
    if args.action == "dismiss" and not (args.reason or "").strip():
        print("inbound dismiss needs --reason: why the message is about nobody we serve", file=sys.stderr)
        return 2
    person = _person(engine, settings, args.org)
    if person is None:
        print(f"no organisation {args.org}", file=sys.stderr)
        return 2
    try:
        if args.action == "match":
            done = intake.resolve(SqlStorage(engine), person, args.seq, args.client, record_deps(settings))
        else:
            done = [intake.dismiss(SqlStorage(engine), person, args.seq, args.reason.strip()[:500], utc_now)]
    except ServiceError as err:
        print("; ".join(p.message for p in err.problems), file=sys.stderr)
        return 2
    for m in done:
        print(_line(m))
    return 0


def cmd_inbound(args: argparse.Namespace, settings: Settings) -> int:
    engine = database(settings)
    try:
        if args.action != "list":
            return _decide(engine, settings, args)
        with reading(engine) as conn:
            found = inbound_store.listing(conn, args.org, args.state, args.client, 0, args.limit)
        for m in found:
            print(_line(m))
        return 0
    finally:
        engine.dispose()


def add_parsers(sub: Any) -> None:
    m = sub.add_parser("mllp", help="listen for HL7 v2 ADT over MLLP from one EHR")
    m.add_argument("--org", required=True, help="the organisation the EHR is registered for")
    m.add_argument("--ehr", required=True, help="the registered EHR the feed comes from")
    m.add_argument("--host", help="default FHIR_ADAPTER_MLLP_HOST or 127.0.0.1")
    m.add_argument("--port", type=int, help="default FHIR_ADAPTER_MLLP_PORT or 2575 (0: any free port)")
    m.add_argument(
        "--tls-cert", type=Path, help="MLLP over TLS: the certificate chain, PEM (FHIR_ADAPTER_MLLP_TLS_CERT)"
    )
    m.add_argument("--tls-key", type=Path, help="its private key, PEM, when not in the certificate file")
    m.add_argument("--tls-client-ca", type=Path, help="require sender certificates signed by these CAs, PEM")
    m.add_argument(
        "--idle-seconds",
        type=float,
        help="close a connection idle, or with a message unfinished, this long (FHIR_ADAPTER_MLLP_IDLE_SECONDS, 60)",
    )
    m.add_argument(
        "--max-connections",
        type=int,
        help="connections held at once; more are closed at once (FHIR_ADAPTER_MLLP_MAX_CONNECTIONS, 100)",
    )
    m.set_defaults(service=cmd_mllp)
    i = sub.add_parser(
        "inbound",
        help="list inbound messages (those that match nobody: --state needs_match); `match SEQ --client CL` "
        "says whom one is about, `dismiss SEQ --reason TEXT` that it is about nobody we serve",
    )
    i.add_argument("--org", required=True)
    i.add_argument("action", nargs="?", choices=("list", "match", "dismiss"), default="list")
    i.add_argument("seq", nargs="?", type=int, help="match and dismiss: the message's id")
    i.add_argument("--state", choices=STATES)
    i.add_argument("--client", help="list: that client's messages; match: the client the message is about")
    i.add_argument("--reason", help="dismiss: why the message is about nobody we serve")
    i.add_argument("--limit", type=int, default=100)
    i.set_defaults(service=cmd_inbound)
