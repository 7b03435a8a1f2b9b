"""The workspace's people: users add | list | disable."""

from __future__ import annotations

import argparse
import sys

from fhir_adapter.adapters.unit_of_work import SqlStorage
from fhir_adapter.bootstrap import migrated_storage
from fhir_adapter.config import Settings
from fhir_adapter.domain.people import ROLES
from fhir_adapter.service import people
from fhir_adapter.service.context import stamp, utc_now


def _add(args: argparse.Namespace, settings: Settings, storage: SqlStorage) -> int:
    if not args.org or not args.role or not args.password_stdin:
        print(
            "users add needs --org, --role and --password-stdin (the password on standard input)",
            file=sys.stderr,
        )
        return 2
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        person = people.add_person(
            storage, settings, args.org, args.name, args.role, password, stamp(utc_now())
        )
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    print(f"user {person.name} of organisation {person.org_id}, role {person.role}: sign in at /app/login")
    return 0


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    if args.action in ("add", "disable") and not args.name:
        print(f"users {args.action} needs the user's name", file=sys.stderr)
        return 2
    with migrated_storage(settings) as storage:
        return _act(args, settings, storage)


def _act(args: argparse.Namespace, settings: Settings, storage: SqlStorage) -> int:
    if args.action == "add":
        return _add(args, settings, storage)
    if args.action == "disable":
        done = people.disable(storage, args.name, stamp(utc_now()))
        print(
            f"user {args.name} disabled" if done else f"no enabled user {args.name}",
            file=sys.stdout if done else sys.stderr,
        )
        return 0 if done else 2
    for p in people.people(storage, args.org):
        state = f"disabled {p.disabled_at}" if p.disabled_at else "enabled"
        state += f", locked until {p.locked_until}" if p.locked_until else ""
        print(f"{p.name}\t{p.org_id}\t{p.role}\t{state}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    u = sub.add_parser("users", help="people who sign in to the workspace (/app/): add, list, disable")
    u.add_argument("action", choices=["add", "list", "disable"])
    u.add_argument("name", nargs="?", help="with add and disable: the user name they sign in with")
    u.add_argument(
        "--org", help="the organisation whose clients they see (made when new); with list: only its"
    )
    u.add_argument(
        "--role",
        choices=ROLES,
        help="planner: read, resolve matches; admin: also replay deliveries, link clients to EHR patients",
    )
    u.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password (at least 10 characters) from standard input",
    )
    u.set_defaults(service=cmd_users)
