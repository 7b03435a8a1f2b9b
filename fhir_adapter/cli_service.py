"""The service's commands: serve, db, clients."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from fhir_adapter.adapters import idempotency_store, migrate, org_store
from fhir_adapter.adapters.db import reading, writing
from fhir_adapter.adapters.unit_of_work import SqlStorage
from fhir_adapter.bootstrap import database, serving
from fhir_adapter.config import Settings
from fhir_adapter.service.auth import register_client
from fhir_adapter.service.context import stamp, utc_now


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    server = serving(settings, upgrade=not args.no_migrate)
    host, port = args.host or settings.host, args.port or settings.port
    if server.start_worker() is not None:
        print("delivery worker running in this process", file=sys.stderr)
    print(
        f"fhir-adapter listening on http://{host}:{port} (workspace /app/, API /api/v1, FHIR /fhir, docs /api/v1/docs)",
        file=sys.stderr,
    )
    server.app.run(host=host, port=port, threaded=True, use_reloader=False)
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    engine = database(settings)
    if args.action == "upgrade":
        migrate.upgrade(engine)
    if args.action == "prune":
        before = stamp(utc_now() - timedelta(hours=args.hours))
        with writing(engine) as conn:
            pruned = idempotency_store.prune(conn, before)
        print(f"removed {pruned} idempotency keys older than {args.hours:g} hours")
        return 0
    print(f"database at revision {migrate.current(engine)} (latest {migrate.head()})")
    return 0


def cmd_clients(args: argparse.Namespace, settings: Settings) -> int:
    engine = database(settings)
    migrate.upgrade(engine)
    if args.action == "add":
        if not args.org or not args.scopes:
            print("clients add needs --org and --scopes", file=sys.stderr)
            return 2
        try:
            client, token = register_client(
                SqlStorage(engine),
                settings,
                args.org,
                args.name or args.org,
                args.scopes,
                args.namespace,
                args.restricted,
            )
        except ValueError as err:
            print(err, file=sys.stderr)
            return 2
        restricted = " (sees restricted records)" if client.restricted_access else ""
        print(f"client {client.id} of organisation {client.org_id}, scopes: {client.scopes}{restricted}")
        print("token (shown once; only its hash is kept):")
        print(token)
        return 0
    if args.action == "revoke":
        with writing(engine) as conn:
            done = org_store.revoke(conn, args.client_id or "", stamp(utc_now()))
        print(
            f"client {args.client_id} revoked" if done else f"no active client {args.client_id}",
            file=sys.stdout if done else sys.stderr,
        )
        return 0 if done else 2
    with reading(engine) as conn:
        for c in org_store.clients(conn, args.org):
            state = f"revoked {c.revoked_at}" if c.revoked_at else "active"
            state += ", restricted" if c.restricted_access else ""
            print(f"{c.id}\t{c.org_id}\t{c.name}\t{state}\t{c.scopes}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    s = sub.add_parser("serve", help="run the HTTP service (development server; production: gunicorn)")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--no-migrate", action="store_true", help="do not upgrade the database first")
    s.set_defaults(service=cmd_serve)
    d = sub.add_parser("db", help="database migrations; prune old idempotency keys")
    d.add_argument("action", choices=["upgrade", "current", "prune"])
    d.add_argument(
        "--hours", type=float, default=24.0, help="with prune: keep idempotency keys this long (default 24)"
    )
    d.set_defaults(service=cmd_db)
    c = sub.add_parser("clients", help="API clients: add (prints the token once), list, revoke")
    c.add_argument("action", choices=["add", "list", "revoke"])
    c.add_argument("client_id", nargs="?", help="with revoke: the client")
    c.add_argument("--org", help="the organisation the client acts for (made when new)")
    c.add_argument("--scopes", help="space-separated SMART scopes, e.g. 'system/*.read system/*.write'")
    c.add_argument("--name", help="a name for the client, shown in audit events")
    c.add_argument("--namespace", help="with a new organisation: the URI its identifiers live under")
    c.add_argument(
        "--restricted",
        action="store_true",
        help="on /fhir, also see records labelled restricted (substance-use treatment, abuse reports)",
    )
    c.set_defaults(service=cmd_clients)
