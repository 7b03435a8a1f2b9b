"""FHIR search parameters → Criteria. https://hl7.org/fhir/R4/search.html

Supported: _id, _lastUpdated (eq, ge, gt, le, lt), patient / subject (not on Patient), status, the token
parameters of search_index.TOKEN_PARAMS (identifier, category, code, type), _count, _offset, _include and
_revinclude (see INCLUDES / REVINCLUDES). A parameter the server does not support is an error unless the
client sends `Prefer: handling=lenient`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fhir_adapter.adapters.fhir_search import Criteria
from fhir_adapter.mapping.search_index import REFERENCE_PARAMS, TOKEN_PARAMS
from fhir_adapter.service.errors import Problem, ServiceError

READABLE = tuple(sorted(TOKEN_PARAMS))
PATIENT_ELEMENT = {
    "CarePlan": "subject",
    "CareTeam": "subject",
    "EpisodeOfCare": "patient",
    "Goal": "subject",
    "Observation": "subject",
    "QuestionnaireResponse": "subject",
    "ServiceRequest": "subject",
    "Task": "for",
}
# _include=<Type>:<param> → the element holding the references.
INCLUDES = {
    ("CarePlan", "goal"): "goal",
    ("Observation", "derived-from"): "derivedFrom",
    ("Task", "focus"): "focus",
    ("EpisodeOfCare", "team"): "team",
} | {(t, p): e for t, e in PATIENT_ELEMENT.items() for p in ("patient", "subject") if e != "for"}
INCLUDES |= {("Task", "patient"): "for"}
# _revinclude=<SourceType>:<param> on a search of the referenced type.
REVINCLUDES = {("Task", p): "ServiceRequest" for p in REFERENCE_PARAMS["Task"]}
MAX_COUNT = 500
MAX_OFFSET = 10**9


@dataclass(frozen=True)
class Search:
    criteria: Criteria
    count: int
    offset: int
    includes: tuple[tuple[str, str], ...]  # (resource type, element)
    revincludes: tuple[tuple[str, str], ...]  # (source type, param)
    used: tuple[tuple[str, str], ...]  # the parameters applied, for the self link


def bad(message: str, path: str) -> ServiceError:
    return ServiceError(
        400, [Problem(path, message, "not-supported" if "not supported" in message else "invalid")]
    )


def _values(raw: str) -> list[str]:
    return [v for v in raw.split(",") if v]


def _token(raw: str) -> tuple[str | None, str]:
    if "|" in raw:
        system, _, code = raw.partition("|")
        return system, code
    return None, raw


def _patient_id(raw: str) -> str:
    ref = raw.rstrip("/")
    if "/" in ref:
        parts = ref.split("/")
        if len(parts) < 2 or parts[-2] != "Patient":
            raise bad(f"not a reference to a Patient: {raw}", "patient")
        return parts[-1]
    return ref


def instant_range(raw: str, name: str) -> tuple[str, str]:
    """A FHIR date or dateTime → [start, end) as stored UTC stamps; a date without a zone is taken as UTC."""
    text = raw.replace("Z", "+00:00")
    try:
        if len(raw) == 4:
            start = datetime(int(raw), 1, 1, tzinfo=UTC)
            end = start.replace(year=start.year + 1)
        elif len(raw) == 7:
            start = datetime(int(raw[:4]), int(raw[5:7]), 1, tzinfo=UTC)
            end = (start + timedelta(days=32)).replace(day=1)
        elif len(raw) == 10:
            start = datetime.fromisoformat(raw).replace(tzinfo=UTC)
            end = start + timedelta(days=1)
        else:
            start = datetime.fromisoformat(text)
            if start.tzinfo is None:
                raise ValueError("no time zone")
            end = start + timedelta(seconds=1)
    except ValueError as err:
        raise bad(f"not a FHIR date or date-time with a time zone: {raw}", name) from err
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    return start.astimezone(UTC).strftime(fmt), end.astimezone(UTC).strftime(fmt)


def date_filter(raw: str, name: str) -> list[tuple[str, str]]:
    """(ge | lt, stamp) conditions for a date parameter with a FHIR prefix (eq, ge, gt, le, lt)."""
    prefix, value = (raw[:2], raw[2:]) if raw[:2] in ("eq", "ge", "gt", "le", "lt") else ("eq", raw)
    start, end = instant_range(value, name)
    lower = {"eq": start, "ge": start, "gt": end}.get(prefix)
    upper = {"eq": end, "le": end, "lt": start}.get(prefix)
    return ([("ge", lower)] if lower else []) + ([("lt", upper)] if upper else [])


def _pair(raw: str) -> tuple[str, str]:
    source, _, param = raw.partition(":")
    return source, param.split(":")[0]


def number(raw: str, name: str, high: int) -> int:
    if not raw.isdigit() or int(raw) > high:
        raise bad(f"{name} is a whole number from 0 to {high}", name)
    return int(raw)


def parse(rtype: str, args: list[tuple[str, str]], lenient: bool) -> Search:
    ids: list[str] = []
    patients: list[str] = []
    statuses: list[str] = []
    tokens: list[tuple[str, tuple[tuple[str | None, str], ...]]] = []
    updated: list[tuple[str, str]] = []
    includes, revincludes, used = [], [], []
    count, offset = 50, 0
    for name, raw in args:
        base = name.split(":", 1)[0]
        if ":" in name and base not in ("_include", "_revinclude"):
            if lenient:
                continue
            raise bad(f"search modifiers are not supported: {name}", name)
        if base == "_count":
            count = number(raw, name, MAX_COUNT)
        elif base == "_offset":
            offset = number(raw, name, MAX_OFFSET)
        elif base == "_format":
            if raw not in ("json", "application/json", "application/fhir+json"):
                raise bad("only JSON is served", name)
        elif base == "_include":
            key = _pair(raw)
            if key not in INCLUDES or key[0] != rtype:
                if lenient:
                    continue
                raise bad(f"_include={raw} is not supported on {rtype}", name)
            includes.append((key[0], INCLUDES[key]))
        elif base == "_revinclude":
            key = _pair(raw)
            if REVINCLUDES.get(key) != rtype:
                if lenient:
                    continue
                raise bad(f"_revinclude={raw} is not supported on {rtype}", name)
            revincludes.append((key[0], key[1]))
        elif base == "_id":
            ids += _values(raw)
        elif base == "_lastUpdated":
            updated += date_filter(raw, name)
        elif base in ("patient", "subject") and rtype in PATIENT_ELEMENT:
            patients += [_patient_id(v) for v in _values(raw)]
        elif base == "status" and rtype != "Patient":
            statuses += _values(raw)
        elif base in TOKEN_PARAMS.get(rtype, {}):
            tokens.append((base, tuple(_token(v) for v in _values(raw))))
        elif lenient:
            continue
        else:
            raise bad(f"the search parameter {name} is not supported on {rtype}", name)
        if base not in ("_offset", "_count"):
            used.append((name, raw))
    criteria = Criteria(rtype, tuple(ids), tuple(patients), tuple(statuses), tuple(tokens), tuple(updated))
    return Search(criteria, count, offset, tuple(includes), tuple(revincludes), tuple(used))
