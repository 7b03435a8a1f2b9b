"""The admission and discharge commands: the MLLP listener, and the inbound messages."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import ssl
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from fhir_adapter.adapters import ehr_store, inbound_store, migrate, org_store
from fhir_adapter.adapters.db import make_engine, reading
from fhir_adapter.config import Settings
from fhir_adapter.domain.inbound import Inbound
from fhir_adapter.events import mllp
from fhir_adapter.logs import configure
from fhir_adapter.mapping.loader import load_catalogue
from fhir_adapter.service import intake
from fhir_adapter.service.auth import to_org
from fhir_adapter.service.context import Principal, utc_now
from fhir_adapter.service.errors import ServiceError


def _tls(args: argparse.Namespace, settings: Settings) -> tuple[ssl.SSLContext | None, str | None]:
    """The TLS context the options ask for (None: plain MLLP), or why there can be none."""
    cert = args.tls_cert or settings.mllp_tls_cert
    key, client_ca = args.tls_key or settings.mllp_tls_key, args.tls_client_ca or settings.mllp_tls_client_ca
    if cert is None:
        return None, "--tls-key and --tls-client-ca need --tls-cert" if key or client_ca else None
    try:
        return mllp.tls(cert, key, client_ca), None
    except (OSError, ssl.SSLError) as err:
        return None, f"cannot use the TLS certificate, key or CA files: {err}"


def _limits(args: argparse.Namespace, settings: Settings) -> tuple[mllp.Limits, str | None]:
    """The idle time and connection cap the options (else the settings) ask for, or why they cannot be."""
    idle = args.idle_seconds if args.idle_seconds is not None else settings.mllp_idle_seconds
    most = args.max_connections if args.max_connections is not None else settings.mllp_max_connections
    if not 0 < idle < float("inf") or most < 1:
        return mllp.Limits(), "--idle-seconds must be above 0 and --max-connections at least 1"
    return mllp.Limits(idle_seconds=idle, max_connections=most), None


def cmd_mllp(args: argparse.Namespace, settings: Settings) -> int:
    configure(settings.log_level)
    engine = make_engine(settings.database_url)
    if why := migrate.behind(engine):
        print(why, file=sys.stderr)
        return 2
    with reading(engine) as conn:
        ehr = ehr_store.get_ehr(conn, args.org, args.ehr)
    if ehr is None:
        print(
            f"no EHR {args.ehr} in organisation {args.org}: `fhir-adapter ehrs add` it first", file=sys.stderr
        )
        return 2
    catalogue = load_catalogue(settings.mappings_dir, settings.mappings_override)
    host, port = args.host or settings.mllp_host, args.port if args.port is not None else settings.mllp_port
    context, why = _tls(args, settings)
    limits, bad = _limits(args, settings)
    if why or bad:
        print(why or bad, file=sys.stderr)
        return 2

    def handle(text: str) -> str:
        return intake.take_v2(engine, catalogue, utc_now, settings.match_demographics, ehr, text, "mllp")[1]

    def ready(bound: int) -> None:
        required = context is not None and context.verify_mode == ssl.CERT_REQUIRED
        over = " over TLS" + (", client certificates required" if required else "") if context else ""
        print(
            f"fhir-adapter MLLP listening on {host}:{bound}{over} for EHR {ehr.id}",
            file=sys.stderr,
            flush=True,
        )

    try:
        asyncio.run(mllp.serve(host, port, handle, ready, context, limits))
    except KeyboardInterrupt:
        pass
    except OSError as err:
        print(f"cannot listen on {host}:{port}: {err.strerror}", file=sys.stderr)
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
            done = intake.resolve(engine, person, args.seq, args.client, utc_now)
        else:
            done = [intake.dismiss(engine, person, args.seq, args.reason.strip()[:500], utc_now)]
    except ServiceError as err:
        print("; ".join(p.message for p in err.problems), file=sys.stderr)
        return 2
    for m in done:
        print(_line(m))
    return 0


def cmd_inbound(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
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
    i.add_argument("--state")
    i.add_argument("--client", help="list: that client's messages; match: the client the message is about")
    i.add_argument("--reason", help="dismiss: why the message is about nobody we serve")
    i.add_argument("--limit", type=int, default=100)
    i.set_defaults(service=cmd_inbound)
