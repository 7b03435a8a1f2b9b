"""Searching the stored FHIR resources: criteria, _include and _revinclude. Resources labelled restricted
are found only by callers allowed to see them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select

from fhir_adapter.adapters.tables import fhir_resources as res
from fhir_adapter.adapters.tables import fhir_tokens as tok
from fhir_adapter.domain.stored import Stored

COLUMNS = (res.c.id, res.c.version_id, res.c.last_updated, res.c.restricted, res.c.data, res.c.patient_id)


@dataclass(frozen=True)
class Criteria:
    """A search, already parsed: each token/reference condition is (param, [(system or None, value)])."""

    resource_type: str
    ids: tuple[str, ...] = ()
    patients: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    tokens: tuple[tuple[str, tuple[tuple[str | None, str], ...]], ...] = ()
    updated: tuple[tuple[str, str], ...] = ()  # (operator, stamp): ge, lt


def _visible(org_id: Any, rtype: Any, restricted_ok: bool) -> list[Any]:
    cond = [res.c.org_id == org_id, res.c.resource_type == rtype, res.c.deleted.is_(False)]
    return cond if restricted_ok else [*cond, res.c.restricted.is_(False)]


def _shape(c: Criteria, restricted_ok: bool) -> tuple[Any, ...]:
    """What the SQL of a search depends on; the values go in as parameters."""
    tokens_shape = tuple((param, tuple(s is not None for s, _ in values)) for param, values in c.tokens)
    return (
        bool(c.ids),
        bool(c.patients),
        bool(c.statuses),
        tuple(op for op, _ in c.updated),
        tokens_shape,
        restricted_ok,
    )


def _params(org_id: str, c: Criteria) -> dict[str, Any]:
    params: dict[str, Any] = {
        "org": org_id,
        "rtype": c.resource_type,
        "ids": list(c.ids),
        "patients": list(c.patients),
        "statuses": list(c.statuses),
    }
    params |= {f"updated_{i}": value for i, (_, value) in enumerate(c.updated)}
    for i, (param, values) in enumerate(c.tokens):
        params[f"param_{i}"] = param
        for j, (system, value) in enumerate(values):
            params[f"value_{i}_{j}"] = value
            if system is not None:
                params[f"system_{i}_{j}"] = system
    return params


@lru_cache(maxsize=1024)
def _conditions(shape: tuple[Any, ...]) -> tuple[Any, ...]:
    """The WHERE of a search shape, with bind parameters: built and cached once per shape."""
    has_ids, has_patients, has_statuses, updated, tokens_shape, restricted_ok = shape
    org: Any = bindparam("org")
    rtype: Any = bindparam("rtype")
    cond = _visible(org, rtype, restricted_ok)
    if has_ids:
        cond.append(res.c.id.in_(bindparam("ids", expanding=True)))
    if has_patients:
        cond.append(res.c.patient_id.in_(bindparam("patients", expanding=True)))
    if has_statuses:
        cond.append(res.c.status.in_(bindparam("statuses", expanding=True)))
    for i, op in enumerate(updated):
        value: Any = bindparam(f"updated_{i}")
        cond.append(res.c.last_updated >= value if op == "ge" else res.c.last_updated < value)
    for i, (_, systems) in enumerate(tokens_shape):
        alternatives = [
            and_(tok.c.value == bindparam(f"value_{i}_{j}"), tok.c.system == bindparam(f"system_{i}_{j}"))
            if has_system
            else tok.c.value == bindparam(f"value_{i}_{j}")
            for j, has_system in enumerate(systems)
        ]
        matching = select(tok.c.id).where(
            tok.c.org_id == org,
            tok.c.resource_type == rtype,
            tok.c.param == bindparam(f"param_{i}"),
            or_(*alternatives),
        )
        cond.append(res.c.id.in_(matching))
    return tuple(cond)


@lru_cache(maxsize=1024)
def _page_query(shape: tuple[Any, ...]) -> Any:
    total = func.count().over().label("total")
    page = select(*COLUMNS, total).where(*_conditions(shape)).order_by(res.c.seq)
    return page.limit(bindparam("limit")).offset(bindparam("offset"))


@lru_cache(maxsize=1024)
def _count_query(shape: tuple[Any, ...]) -> Any:
    return select(func.count()).select_from(res).where(*_conditions(shape))


def _stored(rtype: str, rows: Any) -> list[Stored]:
    return [
        Stored(rtype, r.id, r.version_id, r.last_updated, False, r.data, r.restricted, r.patient_id)
        for r in rows
    ]


def search(
    conn: Connection, org_id: str, c: Criteria, count: int, offset: int, restricted_ok: bool
) -> tuple[int, list[Stored]]:
    """The total and one page; the total comes with the page (one query) unless the page is empty."""
    shape, params = _shape(c, restricted_ok), _params(org_id, c)
    if count:
        rows = conn.execute(_page_query(shape), params | {"limit": count, "offset": offset}).all()
        if rows:
            return int(rows[0].total), _stored(c.resource_type, rows)
    return conn.execute(_count_query(shape), params).scalar_one(), []


def read_many(
    conn: Connection, org_id: str, refs: Iterable[tuple[str, str]], restricted_ok: bool
) -> list[Stored]:
    """Current resources by (type, id), for _include; unknown, deleted and hidden ones are left out."""
    by_type: dict[str, set[str]] = {}
    for rtype, rid in refs:
        by_type.setdefault(rtype, set()).add(rid)
    out = []
    for rtype, ids in by_type.items():
        where = [*_visible(org_id, rtype, restricted_ok), res.c.id.in_(sorted(ids))]
        out += _stored(rtype, conn.execute(select(*COLUMNS).where(*where).order_by(res.c.seq)))
    return out


def referring(
    conn: Connection, org_id: str, source_type: str, param: str, targets: Iterable[str], restricted_ok: bool
) -> list[Stored]:
    """Current resources of `source_type` whose reference parameter names one of the targets (_revinclude)."""
    wanted = sorted(set(targets))
    if not wanted:
        return []
    ids = select(tok.c.id).where(
        tok.c.org_id == org_id,
        tok.c.resource_type == source_type,
        tok.c.param == param,
        tok.c.value.in_(wanted),
    )
    where = [*_visible(org_id, source_type, restricted_ok), res.c.id.in_(ids)]
    return _stored(source_type, conn.execute(select(*COLUMNS).where(*where).order_by(res.c.seq)))
