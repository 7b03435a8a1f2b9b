"""fhir-adapter: map case files to FHIR R4 and back, and validate FHIR R4.

Exit codes: 0 done; 1 the output or the checked files are not valid FHIR; 2 the input or the mappings are
at fault (the message names the file and the field).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson
from marshmallow import ValidationError
from sqlalchemy.exc import OperationalError

from fhir_adapter import cli_delivery, cli_events, cli_orgs, cli_service, cli_users
from fhir_adapter.api.schemas import load_case_file
from fhir_adapter.api.schemas.dump import to_contract
from fhir_adapter.api.schemas.openapi import contract_document
from fhir_adapter.bootstrap import mappings
from fhir_adapter.config import Settings, SettingsError
from fhir_adapter.errors import flatten_messages
from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.mapping.errors import (
    FhirValidationError,
    InvalidFhirInput,
    MappingConfigError,
    MappingError,
)
from fhir_adapter.mapping.from_fhir_bundle import from_fhir
from fhir_adapter.mapping.to_fhir_bundle import to_fhir_bundle
from fhir_adapter.mapping.validation import ensure_valid_bundle, validate_fhir
from fhir_adapter.service.ports import StorageUnavailable


class InputError(Exception):
    """A problem with the user's input, already worded for them."""


def _read_json(path: str) -> Any:
    try:
        data = Path(path).read_bytes() if path != "-" else sys.stdin.buffer.read()
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror}") from err
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as err:
        raise InputError(f"{path}: not JSON: {err}") from err


def _write(data: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")


def cmd_map(args: argparse.Namespace, settings: Settings, catalogue: Catalogue) -> int:
    data = _read_json(args.file)
    if args.reverse:
        try:
            result = from_fhir(data, catalogue, settings.identity(), args.client_id)
        except InvalidFhirInput as err:
            raise InputError("\n".join(f"{args.file}: {i}" for i in err.issues)) from err
        except MappingError as err:
            raise InputError(f"{args.file}: {err}") from err
        _write(to_contract(result))
        return 0
    try:
        case = load_case_file(data)
    except ValidationError as err:
        lines = [f"{args.file}: {path}: {msg}" for path, msg in flatten_messages(err.messages)]
        raise InputError("\n".join(lines)) from err
    try:
        bundle = to_fhir_bundle(case, catalogue, settings.identity(), args.write_mode)
    except MappingError as err:
        raise InputError(f"{args.file}: {err}") from err
    _write(ensure_valid_bundle(bundle, catalogue))
    return 0


def cmd_validate(args: argparse.Namespace, settings: Settings, catalogue: Catalogue) -> int:
    failed = False
    for path in args.files:
        try:
            issues = validate_fhir(_read_json(path), catalogue)
        except InputError as err:
            print(err, file=sys.stderr)
            return 2
        errors = [i for i in issues if i.severity == "error"]
        failed = failed or bool(errors)
        print(f"{path}: {'OK' if not errors else f'{len(errors)} error(s)'}")
        for issue in issues:
            print(f"  {issue}")
    return 1 if failed else 0


def cmd_contract(args: argparse.Namespace, settings: Settings, catalogue: Catalogue) -> int:
    _write(contract_document())
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fhir-adapter", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser(
        "map", help="case-management JSON → FHIR R4 transaction Bundle (or back with --reverse)"
    )
    m.add_argument("file", help="a JSON file, or - for standard input")
    m.add_argument("--reverse", action="store_true", help="FHIR resource or Bundle → case-management JSON")
    m.add_argument(
        "--write-mode",
        choices=["conditional", "put"],
        default="conditional",
        help="conditional: PUT Type?identifier=… (default); put: PUT Type/<uuid>",
    )
    m.add_argument("--client-id", help="with --reverse: the client the input's patient is (when not ours)")
    m.set_defaults(run=cmd_map)
    v = sub.add_parser("validate", help="layered FHIR R4 validation; exit 1 when any file has errors")
    v.add_argument("files", nargs="+")
    v.set_defaults(run=cmd_validate)
    c = sub.add_parser("contract", help="print the case-management JSON contract as OpenAPI 3.1 components")
    c.set_defaults(run=cmd_contract)
    cli_service.add_parsers(sub)
    cli_delivery.add_parsers(sub)
    cli_events.add_parsers(sub)
    cli_users.add_parsers(sub)
    cli_orgs.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as err:
        print(err, file=sys.stderr)
        return 2
    if hasattr(args, "service"):
        try:
            code: int = args.service(args, settings)
        except (StorageUnavailable, OperationalError) as err:  # migrations run on the engine directly
            reason = type(err.orig).__name__ if isinstance(err, OperationalError) else err
            print(f"the database is not available: {reason}", file=sys.stderr)
            return 2
        return code
    try:
        catalogue = mappings(settings)
        code = args.run(args, settings, catalogue)
    except MappingConfigError as err:
        print(f"mappings: {err}", file=sys.stderr)
        return 2
    except InputError as err:
        print(err, file=sys.stderr)
        return 2
    except FhirValidationError as err:
        print("the mapped Bundle is not valid FHIR R4; nothing was written:", file=sys.stderr)
        for issue in err.issues:
            print(f"  {issue}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
