"""Organisations: orgs list | show | update (the time zone their people see times in)."""

from __future__ import annotations

import argparse
import sys

from fhir_adapter.adapters.unit_of_work import SqlStorage
from fhir_adapter.bootstrap import migrated_storage
from fhir_adapter.config import Settings
from fhir_adapter.domain.stored import OrgRow
from fhir_adapter.service import orgs


def _line(row: OrgRow, settings: Settings) -> str:
    zone = row.time_zone or f"{settings.time_zone} (the site's, FHIR_ADAPTER_TIME_ZONE)"
    return f"{row.id}\t{row.name}\t{zone}\t{row.identifier_namespace}"


def _act(args: argparse.Namespace, settings: Settings, storage: SqlStorage) -> int:
    if args.action == "list":
        for row in orgs.organisations(storage):
            print(_line(row, settings))
        return 0
    if args.action == "show":
        found = orgs.organisation(storage, args.org_id)
        if found is None:
            print(f"there is no organisation {args.org_id}", file=sys.stderr)
            return 2
        print(_line(found, settings))
        return 0
    if not args.time_zone:
        print("orgs update needs what to change: --time-zone ZONE", file=sys.stderr)
        return 2
    try:
        row = orgs.set_time_zone(storage, args.org_id, args.time_zone)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    print(_line(row, settings))
    return 0


def cmd_orgs(args: argparse.Namespace, settings: Settings) -> int:
    if args.action != "list" and not args.org_id:
        print(f"orgs {args.action} needs the organisation's id", file=sys.stderr)
        return 2
    with migrated_storage(settings) as storage:
        return _act(args, settings, storage)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    o = sub.add_parser("orgs", help="organisations: list, show, update (their time zone)")
    o.add_argument("action", choices=["list", "show", "update"])
    o.add_argument("org_id", nargs="?", help="with show and update: the organisation")
    o.add_argument(
        "--time-zone",
        help="with update: the IANA zone its people see times in (e.g. Asia/Seoul); "
        "default: the site's FHIR_ADAPTER_TIME_ZONE again",
    )
    o.set_defaults(service=cmd_orgs)
