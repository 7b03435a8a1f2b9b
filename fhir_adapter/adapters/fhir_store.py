"""Stored FHIR resources: the current version with its search index, and every version for vread."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from fhir_adapter.adapters.tables import fhir_resources as res
from fhir_adapter.adapters.tables import fhir_tokens as tok
from fhir_adapter.adapters.tables import fhir_versions as ver
from fhir_adapter.service.search_index import tokens

JSON = dict[str, Any]


@dataclass(frozen=True)
class Stored:
    resource_type: str
    id: str
    version_id: int
    last_updated: str
    deleted: bool
    data: str  # the resource as served, JSON text


def _content(resource: JSON) -> JSON:
    """The resource without the server's version and time stamp, to tell a real change from a re-send."""
    meta = {k: v for k, v in resource.get("meta", {}).items() if k not in ("versionId", "lastUpdated")}
    out = {k: v for k, v in resource.items() if k != "meta"}
    if meta:
        out["meta"] = meta
    return out


def _with_meta(resource: JSON, version: int, stamp: str) -> JSON:
    meta = {"versionId": str(version), "lastUpdated": stamp, **resource.get("meta", {})}
    head = {"resourceType": resource["resourceType"], "id": resource["id"], "meta": meta}
    return head | {k: v for k, v in resource.items() if k not in head}


def save(
    conn: Connection,
    org_id: str,
    record: tuple[str, str],
    patient_id: str | None,
    resources: Sequence[JSON],
    stamp: str,
) -> list[Stored]:
    """Store the resources of one record: a new version where the content changed; resources the record
    no longer has are marked deleted. Returns what changed."""
    kind, record_id = record
    current = {
        (row.resource_type, row.id): row
        for row in conn.execute(
            select(res).where(res.c.org_id == org_id, res.c.record_kind == kind, res.c.record_id == record_id)
        )
    }
    changed = []
    for resource in resources:
        key = (resource["resourceType"], resource["id"])
        row = current.pop(key, None)
        if row is not None and not row.deleted and _content(orjson.loads(row.data)) == _content(resource):
            continue
        version = row.version_id + 1 if row is not None else 1
        data = orjson.dumps(_with_meta(resource, version, stamp)).decode()
        values = {
            "version_id": version,
            "last_updated": stamp,
            "patient_id": resource["id"] if key[0] == "Patient" else patient_id,
            "status": resource.get("status") if isinstance(resource.get("status"), str) else None,
            "deleted": False,
            "data": data,
        }
        if row is None:
            conn.execute(
                insert(res).values(
                    org_id=org_id,
                    resource_type=key[0],
                    id=key[1],
                    record_kind=kind,
                    record_id=record_id,
                    **values,
                )
            )
        else:
            conn.execute(update(res).where(res.c.seq == row.seq).values(**values))
        _reindex(conn, org_id, key, resource)
        conn.execute(
            insert(ver).values(
                org_id=org_id,
                resource_type=key[0],
                id=key[1],
                version_id=version,
                last_updated=stamp,
                deleted=False,
                data=data,
            )
        )
        changed.append(Stored(key[0], key[1], version, stamp, False, data))
    for row in current.values():
        if not row.deleted:
            changed.append(_mark_deleted(conn, org_id, row, stamp))
    return changed


def _mark_deleted(conn: Connection, org_id: str, row: Any, stamp: str) -> Stored:
    version = row.version_id + 1
    conn.execute(
        update(res).where(res.c.seq == row.seq).values(version_id=version, last_updated=stamp, deleted=True)
    )
    conn.execute(
        delete(tok).where(
            tok.c.org_id == org_id, tok.c.resource_type == row.resource_type, tok.c.id == row.id
        )
    )
    conn.execute(
        insert(ver).values(
            org_id=org_id,
            resource_type=row.resource_type,
            id=row.id,
            version_id=version,
            last_updated=stamp,
            deleted=True,
            data=row.data,
        )
    )
    return Stored(row.resource_type, row.id, version, stamp, True, row.data)


def _reindex(conn: Connection, org_id: str, key: tuple[str, str], resource: JSON) -> None:
    conn.execute(delete(tok).where(tok.c.org_id == org_id, tok.c.resource_type == key[0], tok.c.id == key[1]))
    rows = [
        {
            "org_id": org_id,
            "resource_type": key[0],
            "id": key[1],
            "param": p,
            "system": s[:400],
            "value": v[:400],
        }
        for p, s, v in tokens(resource)
    ]
    if rows:
        conn.execute(insert(tok), rows)


def read(conn: Connection, org_id: str, rtype: str, rid: str) -> Stored | None:
    row = conn.execute(
        select(res.c.version_id, res.c.last_updated, res.c.deleted, res.c.data).where(
            res.c.org_id == org_id, res.c.resource_type == rtype, res.c.id == rid
        )
    ).first()
    return Stored(rtype, rid, row.version_id, row.last_updated, row.deleted, row.data) if row else None


def vread(conn: Connection, org_id: str, rtype: str, rid: str, version: int) -> Stored | None:
    row = conn.execute(
        select(ver.c.last_updated, ver.c.deleted, ver.c.data).where(
            ver.c.org_id == org_id, ver.c.resource_type == rtype, ver.c.id == rid, ver.c.version_id == version
        )
    ).first()
    return Stored(rtype, rid, version, row.last_updated, row.deleted, row.data) if row else None


def record_of(conn: Connection, org_id: str, rtype: str, rid: str) -> tuple[str, str] | None:
    """The (record kind, record id) a current resource was made from."""
    row = conn.execute(
        select(res.c.record_kind, res.c.record_id).where(
            res.c.org_id == org_id, res.c.resource_type == rtype, res.c.id == rid, res.c.deleted.is_(False)
        )
    ).first()
    return (row.record_kind, row.record_id) if row else None


@dataclass(frozen=True)
class Criteria:
    """A search, already parsed: each token/reference condition is (param, [(system or None, value)])."""

    resource_type: str
    ids: tuple[str, ...] = ()
    patients: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    tokens: tuple[tuple[str, tuple[tuple[str | None, str], ...]], ...] = ()
    updated: tuple[tuple[str, str], ...] = ()  # (operator, stamp): ge, lt


def _where(org_id: str, c: Criteria) -> list[Any]:
    cond: list[Any] = [
        res.c.org_id == org_id,
        res.c.resource_type == c.resource_type,
        res.c.deleted.is_(False),
    ]
    if c.ids:
        cond.append(res.c.id.in_(c.ids))
    if c.patients:
        cond.append(res.c.patient_id.in_(c.patients))
    if c.statuses:
        cond.append(res.c.status.in_(c.statuses))
    for op, value in c.updated:
        cond.append(res.c.last_updated >= value if op == "ge" else res.c.last_updated < value)
    for param, values in c.tokens:
        alternatives = [
            and_(tok.c.value == v, tok.c.system == s) if s is not None else tok.c.value == v
            for s, v in values
        ]
        cond.append(
            res.c.id.in_(
                select(tok.c.id).where(
                    tok.c.org_id == org_id,
                    tok.c.resource_type == c.resource_type,
                    tok.c.param == param,
                    or_(*alternatives),
                )
            )
        )
    return cond


def search(conn: Connection, org_id: str, c: Criteria, count: int, offset: int) -> tuple[int, list[Stored]]:
    where = _where(org_id, c)
    total = conn.execute(select(func.count()).select_from(res).where(*where)).scalar_one()
    if count == 0 or offset >= total:
        return total, []
    rows = conn.execute(
        select(res.c.id, res.c.version_id, res.c.last_updated, res.c.data)
        .where(*where)
        .order_by(res.c.seq)
        .limit(count)
        .offset(offset)
    )
    return total, [Stored(c.resource_type, r.id, r.version_id, r.last_updated, False, r.data) for r in rows]


def read_many(conn: Connection, org_id: str, refs: Iterable[tuple[str, str]]) -> list[Stored]:
    """Current resources by (type, id), for _include; unknown and deleted ones are left out."""
    by_type: dict[str, set[str]] = {}
    for rtype, rid in refs:
        by_type.setdefault(rtype, set()).add(rid)
    out = []
    for rtype, ids in by_type.items():
        rows = conn.execute(
            select(res.c.id, res.c.version_id, res.c.last_updated, res.c.data)
            .where(
                res.c.org_id == org_id,
                res.c.resource_type == rtype,
                res.c.id.in_(sorted(ids)),
                res.c.deleted.is_(False),
            )
            .order_by(res.c.seq)
        )
        out += [Stored(rtype, r.id, r.version_id, r.last_updated, False, r.data) for r in rows]
    return out


def referring(
    conn: Connection, org_id: str, source_type: str, param: str, targets: Iterable[str]
) -> list[Stored]:
    """Current resources of `source_type` whose reference parameter names one of the targets (_revinclude)."""
    targets = sorted(set(targets))
    if not targets:
        return []
    ids = select(tok.c.id).where(
        tok.c.org_id == org_id,
        tok.c.resource_type == source_type,
        tok.c.param == param,
        tok.c.value.in_(targets),
    )
    rows = conn.execute(
        select(res.c.id, res.c.version_id, res.c.last_updated, res.c.data)
        .where(
            res.c.org_id == org_id,
            res.c.resource_type == source_type,
            res.c.id.in_(ids),
            res.c.deleted.is_(False),
        )
        .order_by(res.c.seq)
    )
    return [Stored(source_type, r.id, r.version_id, r.last_updated, False, r.data) for r in rows]
