"""Searching the stored FHIR resources: criteria, _include and _revinclude. Resources labelled restricted
are found only by callers allowed to see them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from fhir_adapter.adapters.fhir_store import Stored
from fhir_adapter.adapters.tables import fhir_resources as res
from fhir_adapter.adapters.tables import fhir_tokens as tok

COLUMNS = (res.c.id, res.c.version_id, res.c.last_updated, res.c.restricted, res.c.data)


@dataclass(frozen=True)
class Criteria:
    """A search, already parsed: each token/reference condition is (param, [(system or None, value)])."""

    resource_type: str
    ids: tuple[str, ...] = ()
    patients: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    tokens: tuple[tuple[str, tuple[tuple[str | None, str], ...]], ...] = ()
    updated: tuple[tuple[str, str], ...] = ()  # (operator, stamp): ge, lt


def _visible(org_id: str, rtype: str, restricted_ok: bool) -> list[Any]:
    cond = [res.c.org_id == org_id, res.c.resource_type == rtype, res.c.deleted.is_(False)]
    return cond if restricted_ok else [*cond, res.c.restricted.is_(False)]


def _token_condition(org_id: str, rtype: str, param: str, values: tuple[tuple[str | None, str], ...]) -> Any:
    alternatives = [
        and_(tok.c.value == v, tok.c.system == s) if s is not None else tok.c.value == v for s, v in values
    ]
    return res.c.id.in_(
        select(tok.c.id).where(
            tok.c.org_id == org_id, tok.c.resource_type == rtype, tok.c.param == param, or_(*alternatives)
        )
    )


def _where(org_id: str, c: Criteria, restricted_ok: bool) -> list[Any]:
    cond = _visible(org_id, c.resource_type, restricted_ok)
    if c.ids:
        cond.append(res.c.id.in_(c.ids))
    if c.patients:
        cond.append(res.c.patient_id.in_(c.patients))
    if c.statuses:
        cond.append(res.c.status.in_(c.statuses))
    for op, value in c.updated:
        cond.append(res.c.last_updated >= value if op == "ge" else res.c.last_updated < value)
    cond += [_token_condition(org_id, c.resource_type, param, values) for param, values in c.tokens]
    return cond


def _stored(rtype: str, rows: Any) -> list[Stored]:
    return [Stored(rtype, r.id, r.version_id, r.last_updated, False, r.data, r.restricted) for r in rows]


def search(
    conn: Connection, org_id: str, c: Criteria, count: int, offset: int, restricted_ok: bool
) -> tuple[int, list[Stored]]:
    where = _where(org_id, c, restricted_ok)
    total = conn.execute(select(func.count()).select_from(res).where(*where)).scalar_one()
    if count == 0 or offset >= total:
        return total, []
    rows = conn.execute(select(*COLUMNS).where(*where).order_by(res.c.seq).limit(count).offset(offset))
    return total, _stored(c.resource_type, rows)


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
