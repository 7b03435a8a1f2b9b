"""Stored FHIR resources: the current version with its search index, and every version for vread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select, update

from fhir_adapter.adapters.tables import fhir_resources as res
from fhir_adapter.adapters.tables import fhir_tokens as tok
from fhir_adapter.adapters.tables import fhir_versions as ver
from fhir_adapter.mapping.search_index import tokens

JSON = dict[str, Any]
RESTRICTED = ("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R")


@dataclass(frozen=True)
class Stored:
    resource_type: str
    id: str
    version_id: int
    last_updated: str
    deleted: bool
    data: str  # the resource as served, JSON text
    restricted: bool = False


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


def is_restricted(resource: JSON) -> bool:
    """Labelled restricted (v3-Confidentiality R): substance-use treatment, abuse reports, ..."""
    labels = resource.get("meta", {}).get("security", [])
    return any((label.get("system"), label.get("code")) == RESTRICTED for label in labels)


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
    where = (res.c.org_id == org_id, res.c.record_kind == kind, res.c.record_id == record_id)
    current = {(row.resource_type, row.id): row for row in conn.execute(select(res).where(*where))}
    changed = []
    for resource in resources:
        row = current.pop((resource["resourceType"], resource["id"]), None)
        if row is not None and not row.deleted and _content(orjson.loads(row.data)) == _content(resource):
            continue
        changed.append(_put(conn, org_id, record, patient_id, resource, row, stamp))
    for row in current.values():
        if not row.deleted:
            changed.append(_mark_deleted(conn, org_id, row, stamp))
    return changed


def _put(
    conn: Connection,
    org_id: str,
    record: tuple[str, str],
    patient_id: str | None,
    resource: JSON,
    row: Any,
    stamp: str,
) -> Stored:
    rtype, rid = resource["resourceType"], resource["id"]
    version = row.version_id + 1 if row is not None else 1
    data = orjson.dumps(_with_meta(resource, version, stamp)).decode()
    restricted = is_restricted(resource)
    status = resource.get("status")
    values = {
        "version_id": version,
        "last_updated": stamp,
        "patient_id": rid if rtype == "Patient" else patient_id,
        "status": status if isinstance(status, str) else None,
        "deleted": False,
        "restricted": restricted,
        "data": data,
    }
    if row is None:
        key = {"org_id": org_id, "resource_type": rtype, "id": rid}
        conn.execute(insert(res).values(**key, record_kind=record[0], record_id=record[1], **values))
    else:
        conn.execute(update(res).where(res.c.seq == row.seq).values(**values))
    _reindex(conn, org_id, (rtype, rid), resource)
    _version(conn, org_id, rtype, rid, version, stamp, False, restricted, data)
    return Stored(rtype, rid, version, stamp, False, data, restricted)


def _version(
    conn: Connection,
    org_id: str,
    rtype: str,
    rid: str,
    version: int,
    stamp: str,
    deleted: bool,
    restricted: bool,
    data: str,
) -> None:
    conn.execute(
        insert(ver).values(
            org_id=org_id,
            resource_type=rtype,
            id=rid,
            version_id=version,
            last_updated=stamp,
            deleted=deleted,
            restricted=restricted,
            data=data,
        )
    )


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
    _version(conn, org_id, row.resource_type, row.id, version, stamp, True, row.restricted, row.data)
    return Stored(row.resource_type, row.id, version, stamp, True, row.data, row.restricted)


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
        select(res.c.version_id, res.c.last_updated, res.c.deleted, res.c.restricted, res.c.data).where(
            res.c.org_id == org_id, res.c.resource_type == rtype, res.c.id == rid
        )
    ).first()
    if row is None:
        return None
    return Stored(rtype, rid, row.version_id, row.last_updated, row.deleted, row.data, row.restricted)


def vread(conn: Connection, org_id: str, rtype: str, rid: str, version: int) -> Stored | None:
    row = conn.execute(
        select(ver.c.last_updated, ver.c.deleted, ver.c.restricted, ver.c.data).where(
            ver.c.org_id == org_id, ver.c.resource_type == rtype, ver.c.id == rid, ver.c.version_id == version
        )
    ).first()
    return (
        Stored(rtype, rid, version, row.last_updated, row.deleted, row.data, row.restricted) if row else None
    )


def record_of(conn: Connection, org_id: str, rtype: str, rid: str) -> tuple[str, str, bool] | None:
    """The (record kind, record id, restricted) a current resource was made from."""
    row = conn.execute(
        select(res.c.record_kind, res.c.record_id, res.c.restricted).where(
            res.c.org_id == org_id, res.c.resource_type == rtype, res.c.id == rid, res.c.deleted.is_(False)
        )
    ).first()
    return (row.record_kind, row.record_id, row.restricted) if row else None
