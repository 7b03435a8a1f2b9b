"""`fhir-adapter ehrs show` and `ehrs update`: what an EHR lets us write, per resource type, and a site's
word on it (delivery/capabilities.py); `fhir-adapter preview`: what the next admission push would write."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from fhir_adapter.adapters import capability_store, ehr_store
from fhir_adapter.adapters.db import reading, writing
from fhir_adapter.config import Settings
from fhir_adapter.delivery import profiles
from fhir_adapter.delivery.capabilities import (
    WAYS,
    Capabilities,
    from_statement,
    of_json,
    parse_overrides,
)
from fhir_adapter.delivery.ehr_client import EhrClients, Failure
from fhir_adapter.service.context import stamp, utc_now


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--way",
        action="append",
        default=[],
        metavar="TYPE=WAY",
        help=f"update: write TYPE this way whatever the EHR says ({', '.join(WAYS)}); repeat for more types",
    )
    parser.add_argument("--clear-ways", action="store_true", help="update: drop the site's ways first")
    parser.add_argument("--refresh", action="store_true", help="show: read the EHR's CapabilityStatement now")


def show(engine: Any, settings: Settings, args: argparse.Namespace) -> int:
    with reading(engine) as conn:
        ehr = ehr_store.get_ehr(conn, args.org or "", args.ehr_id or "")
        data, read_at, overrides = capability_store.read(conn, args.org or "", args.ehr_id or "")
    if ehr is None:
        print(f"no EHR {args.ehr_id} in {args.org}", file=sys.stderr)
        return 2
    print(f"{ehr.org_id}\t{ehr.id}\t{ehr.base_url}\t{ehr.auth}")
    if args.refresh:
        try:
            client = EhrClients(settings.signing_keys, settings.ehr_timeout_seconds).get(ehr)
            caps = from_statement(client.request("GET", "metadata"), client.granted_scopes())
        except Failure as failure:
            print(f"the EHR did not answer: {failure.reason} {failure.detail or ''}", file=sys.stderr)
            return 2
        data, read_at = caps.to_json(), stamp(utc_now())
        with writing(engine) as conn:
            capability_store.store(conn, ehr.org_id, ehr.id, data, read_at)
    _print_ways(data, read_at, overrides, settings)
    return 0


def _print_ways(
    data: dict[str, Any] | None, read_at: str | None, overrides: dict[str, str], settings: Settings
) -> None:
    if data is None:
        print("capabilities: not read yet (the worker reads them before it first delivers; --refresh now)")
        for rtype, way in sorted(overrides.items()):
            print(f"  {rtype}\t{way}\t(site)")
        return
    caps = of_json(data, overrides)
    claimed = _ours(caps, settings)
    print(f"capabilities read {read_at}; transaction Bundles: {'yes' if caps.transaction else 'no'}")
    for rtype, way in caps.table().items():
        gap = profiles.gap(caps, rtype, claimed.get(rtype, ()))
        why = [
            "site" if rtype in overrides else "",
            f"refused: {caps.refused[rtype]}" if rtype in caps.refused and rtype not in overrides else "",
            f"profiles: {gap}" if gap else "",
        ]
        print(f"  {rtype}\t{way}" + "".join(f"\t({w})" for w in why if w))


def _ours(caps: Capabilities, settings: Settings) -> profiles.Ours:
    """The profiles ours claim per type: the mappings are read only where the EHR names profiles."""
    if not any(rules.profiles for rules in caps.types.values()):
        return {}
    from fhir_adapter.bootstrap import mappings  # a second to load: only when there is something to compare

    return profiles.ours(mappings(settings))


def update(engine: Any, args: argparse.Namespace) -> int:
    try:
        given = parse_overrides(args.way)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    with writing(engine) as conn:
        _, _, overrides = capability_store.read(conn, args.org or "", args.ehr_id or "")
        overrides = given if args.clear_ways else {**overrides, **given}
        if not capability_store.set_overrides(conn, args.org or "", args.ehr_id or "", overrides):
            print(f"no EHR {args.ehr_id} in {args.org}", file=sys.stderr)
            return 2
    ways = ", ".join(f"{t}={w}" for t, w in sorted(overrides.items())) or "none (the EHR's statement decides)"
    print(f"EHR {args.ehr_id} of {args.org}: the site's ways: {ways}")
    return 0


def add_preview_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("preview", help="what the next admission push of a client would write to an EHR")
    p.add_argument("--org", required=True)
    p.add_argument("--ehr", required=True, help="the EHR's id")
    p.add_argument("--client", required=True, help="the client's id")
    p.add_argument("--full", action="store_true", help="with the documents' attachments whole (base64)")
    p.set_defaults(service=cmd_preview)


def cmd_preview(args: argparse.Namespace, settings: Settings) -> int:
    from fhir_adapter.bootstrap import build_worker, database  # the worker's own parts, as it runs
    from fhir_adapter.delivery.preview import NothingToPreview, brief, preview

    worker = build_worker(settings, database(settings), org_id=args.org)
    try:
        shown = preview(worker, args.org, args.ehr, args.client)
    except NothingToPreview as err:
        print(err, file=sys.stderr)
        return 2
    except Failure as failure:
        print(f"the EHR could not be read: {failure.reason} {failure.detail or ''}", file=sys.stderr)
        return 2
    print(json.dumps(shown if args.full else brief(shown), indent=2, ensure_ascii=False))
    return 0
