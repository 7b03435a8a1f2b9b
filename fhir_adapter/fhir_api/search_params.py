"""FHIR search parameters → Criteria. https://hl7.org/fhir/R4/search.html

Supported: _id, _lastUpdated (eq, ge, gt, le, lt), patient / subject (not on Patient), status, the token
parameters of search_index.TOKEN_PARAMS (identifier, category, code, type), _count, _offset, _include and
_revinclude (see INCLUDES / REVINCLUDES); on AuditEvent: date, patient, action. Handling is strict by
default: a parameter the server does not support, or one without a value, is a 400 naming it. With
`Prefer: handling=lenient` such parameters are left out and listed in the answer (`Search.ignored`). A search
takes at most `Limits.parameters` parameters and `Limits.values` values (each comma-separated value counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fhir_adapter.adapters.fhir_search import Criteria
from fhir_adapter.api.http_errors import HttpError
from fhir_adapter.api.numbers import number_arg
from fhir_adapter.fhir_api.search_dates import date_filter
from fhir_adapter.mapping.kinds import RESOURCE_KINDS
from fhir_adapter.mapping.search_index import TOKEN_PARAMS
from fhir_adapter.service.errors import Problem

READABLE = tuple(sorted(RESOURCE_KINDS))
PATIENT_ELEMENT = {t: k.patient for t, k in RESOURCE_KINDS.items() if k.patient}
# _include=<Type>:<param> → the element holding the references: the kind's own, and its patient's (as
# `patient`, and as `subject` where the patient is a top-level element other than Task's `for`).
INCLUDES = {(t, p): e for t, k in RESOURCE_KINDS.items() for p, e in k.includes.items()}
INCLUDES |= {(t, "patient"): e for t, e in PATIENT_ELEMENT.items()}
INCLUDES |= {(t, "subject"): e for t, e in PATIENT_ELEMENT.items() if e != "for" and "." not in e}
# _revinclude=<SourceType>:<param> on a search of the referenced type.
REVINCLUDES = {(t, p): target for t, k in RESOURCE_KINDS.items() for p, (_, target) in k.referrers.items()}
MAX_COUNT = 500
MAX_OFFSET = 10**9
# (name, raw value, why it was left out) of a parameter ignored under lenient handling
Ignored = tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class Limits:
    """How much one search may ask: parameters in the query, and values over all of them."""

    parameters: int = 20
    values: int = 100


@dataclass(frozen=True)
class Search:
    criteria: Criteria
    count: int
    offset: int
    includes: tuple[tuple[str, str], ...]  # (resource type, element)
    revincludes: tuple[tuple[str, str], ...]  # (source type, param)
    used: tuple[tuple[str, str], ...]  # the parameters applied, for the self link
    ignored: Ignored = ()


@dataclass(frozen=True)
class AuditSearch:
    filters: dict[str, list[Any]]  # patient, action: values; date: (ge | lt, stamp)
    count: int
    offset: int
    used: tuple[tuple[str, str], ...]
    ignored: Ignored = ()


def bad(message: str, path: str) -> HttpError:
    return HttpError(
        400, [Problem(path, message, "not-supported" if "not supported" in message else "invalid")]
    )


def _values(raw: str) -> list[str]:
    return [v for v in raw.split(",") if v]


def _token(raw: str) -> tuple[str | None, str]:
    if "|" in raw:
        system, _, code = raw.partition("|")
        return system, code
    return None, raw


def _patient_id(raw: str, name: str) -> str:
    ref = raw.rstrip("/")
    if "/" in ref:
        parts = ref.split("/")
        if parts[-2] != "Patient":
            raise bad(f"not a reference to a Patient: {raw}", name)
        return parts[-1]
    return ref


def _pair(raw: str) -> tuple[str, str]:
    source, _, param = raw.partition(":")
    return source, param.split(":")[0]


def check_size(args: list[tuple[str, str]], limits: Limits) -> None:
    """400 (too-costly) for a search beyond the limits, before any of it is read."""
    values = sum(max(1, len(_values(raw))) for _, raw in args)
    for what, have, most, setting in (
        ("parameters", len(args), limits.parameters, "SEARCH_MAX_PARAMETERS"),
        ("values", values, limits.values, "SEARCH_MAX_VALUES"),
    ):
        if have > most:
            message = f"a search takes at most {most} {what} (FHIR_ADAPTER_{setting}); this one has {have}"
            raise HttpError(400, [Problem("", message, "too-costly")])


@dataclass
class _Reader:
    """The parameters of one search of `rtype`, read one at a time."""

    rtype: str
    fields: dict[str, list[Any]] = field(default_factory=dict)
    count: int = 50
    offset: int = 0
    used: list[tuple[str, str]] = field(default_factory=list)

    def add(self, key: str, *values: Any) -> None:
        self.fields.setdefault(key, []).extend(values)

    def paging(self, base: str, name: str, raw: str) -> bool:
        if base == "_count":
            self.count = number_arg(raw, name, MAX_COUNT)
        elif base == "_offset":
            self.offset = number_arg(raw, name, MAX_OFFSET)
        elif base == "_format":
            if raw not in ("json", "application/json", "application/fhir+json"):
                raise bad("only JSON is served", name)
        else:
            return False
        return True

    def take(self, name: str, raw: str) -> str | None:
        """Apply one parameter; the reason it cannot be applied, or None when it was."""
        base = name.split(":", 1)[0]
        if ":" in name and base not in ("_include", "_revinclude"):
            return f"search modifiers are not supported: {name}"
        if self.paging(base, name, raw):
            return None
        if base == "_include":
            key = _pair(raw)
            if key not in INCLUDES or key[0] != self.rtype:
                return f"_include={raw} is not supported on {self.rtype}"
            self.add("includes", (key[0], INCLUDES[key]))
        elif base == "_revinclude":
            key = _pair(raw)
            if REVINCLUDES.get(key) != self.rtype:
                return f"_revinclude={raw} is not supported on {self.rtype}"
            self.add("revincludes", key)
        elif base == "_id":
            self.add("ids", *_values(raw))
        elif base == "_lastUpdated":
            self.add("updated", *date_filter(raw, name))
        elif base in ("patient", "subject") and self.rtype in PATIENT_ELEMENT:
            self.add("patients", *(_patient_id(v, name) for v in _values(raw)))
        elif base == "status" and RESOURCE_KINDS[self.rtype].status:
            self.add("statuses", *_values(raw))
        elif base in TOKEN_PARAMS.get(self.rtype, {}):
            self.add("tokens", (base, tuple(_token(v) for v in _values(raw))))
        else:
            return f"the search parameter {name} is not supported on {self.rtype}"
        self.used.append((name, raw))
        return None

    def take_audit(self, name: str, raw: str) -> str | None:
        """Apply one parameter of an AuditEvent search; the reason it cannot be applied, or None."""
        if self.paging(name, name, raw):
            return None
        if name == "patient":
            self.add("patient", *(v.rsplit("/", 1)[-1] for v in _values(raw)))
        elif name == "action":
            self.add("action", *_values(raw))
        elif name == "date":
            self.add("date", *date_filter(raw, name))
        else:
            return f"the search parameter {name} is not supported on AuditEvent"
        self.used.append((name, raw))
        return None


def _read_all(reader: _Reader, args: list[tuple[str, str]], lenient: bool, audit: bool) -> Ignored:
    """Every parameter applied or, under lenient handling, left out with its reason; strict: 400."""
    ignored = []
    for name, raw in args:
        if not _values(raw):
            why: str | None = f"the search parameter {name} has no value"
        else:
            why = reader.take_audit(name, raw) if audit else reader.take(name, raw)
        if why is None:
            continue
        if not lenient:
            raise bad(why, name)
        ignored.append((name, raw, why))
    return tuple(ignored)


def parse(rtype: str, args: list[tuple[str, str]], lenient: bool, limits: Limits = Limits()) -> Search:
    check_size(args, limits)
    reader = _Reader(rtype)
    ignored = _read_all(reader, args, lenient, audit=False)
    f = reader.fields
    criteria = Criteria(
        rtype,
        tuple(f.get("ids", ())),
        tuple(f.get("patients", ())),
        tuple(f.get("statuses", ())),
        tuple(f.get("tokens", ())),
        tuple(f.get("updated", ())),
    )
    includes, revincludes = tuple(f.get("includes", ())), tuple(f.get("revincludes", ()))
    return Search(criteria, reader.count, reader.offset, includes, revincludes, tuple(reader.used), ignored)


def parse_audit(args: list[tuple[str, str]], lenient: bool, limits: Limits = Limits()) -> AuditSearch:
    check_size(args, limits)
    reader = _Reader("AuditEvent")
    ignored = _read_all(reader, args, lenient, audit=True)
    return AuditSearch(reader.fields, reader.count, reader.offset, tuple(reader.used), ignored)
