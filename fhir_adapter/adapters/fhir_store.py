"""Stored FHIR resources: the current version with its search index, and every version for vread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select, tuple_, update

from fhir_adapter.adapters.tables import fhir_resources as res
from fhir_adapter.adapters.tables import fhir_tokens as tok
from fhir_adapter.adapters.tables import fhir_versions as ver
from fhir_adapter.domain.stored import Stored
from fhir_adapter.mapping.kinds import status_of
from fhir_adapter.mapping.search_index import tokens

JSON = dict[str, Any]
RESTRICTED = ("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R")


def content(resource: JSON) -> JSON:
    """The resource without the server's version and time stamp: to tell a real change from a re-send, and
    what another server gets (it keeps its own)."""
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
) -> list[tuple[str, str]]:
    """Store the resources of one record: a new version where the content changed; resources the record
    no longer has are marked deleted. Returns the (type, id) of every resource that changed."""
    kind, record_id = record
    where = (res.c.org_id == org_id, res.c.record_kind == kind, res.c.record_id == record_id)
    current = {(row.resource_type, row.id): row for row in conn.execute(select(res).where(*where))}
    batch = _Batch(org_id, record, patient_id, stamp)
    for resource in resources:
        row = current.pop((resource["resourceType"], resource["id"]), None)
        if row is not None and not row.deleted and content(orjson.loads(row.data)) == content(resource):
            continue
        batch.put(resource, row)
    for row in current.values():
        if not row.deleted:
            batch.delete(row)
    batch.write(conn)
    return batch.changed


@dataclass
class _Batch:
    """The rows one save writes, sent in a few statements: one round trip per table, not per resource."""

    org_id: str
    record: tuple[str, str]
    patient_id: str | None
    stamp: str
    inserts: list[JSON] = field(default_factory=list)
    updates: list[tuple[int, JSON]] = field(default_factory=list)
    versions: list[JSON] = field(default_factory=list)
    tokens: list[JSON] = field(default_factory=list)
    stale: list[tuple[str, str]] = field(default_factory=list)  # resources whose tokens are replaced
    changed: list[tuple[str, str]] = field(default_factory=list)

    def put(self, resource: JSON, row: Any) -> None:
        rtype, rid = resource["resourceType"], resource["id"]
        self.changed.append((rtype, rid))
        version = row.version_id + 1 if row is not None else 1
        data = orjson.dumps(_with_meta(resource, version, self.stamp)).decode()
        restricted = is_restricted(resource)
        status = status_of(resource)
        patient = rid if rtype == "Patient" else self.patient_id
        values = {
            "version_id": version,
            "last_updated": self.stamp,
            "patient_id": patient,
            "status": status if isinstance(status, str) else None,
            "deleted": False,
            "restricted": restricted,
            "data": data,
        }
        if row is None:
            key = {"org_id": self.org_id, "resource_type": rtype, "id": rid}
            self.inserts.append(key | {"record_kind": self.record[0], "record_id": self.record[1]} | values)
        else:
            self.updates.append((row.seq, values))
            self.stale.append((rtype, rid))
        head = {"org_id": self.org_id, "resource_type": rtype, "id": rid}
        self.tokens += [
            head | {"param": p, "system": s[:400], "value": v[:400]} for p, s, v in tokens(resource)
        ]
        self._version(rtype, rid, version, False, restricted, data, patient)

    def delete(self, row: Any) -> None:
        self.changed.append((row.resource_type, row.id))
        version = row.version_id + 1
        self.updates.append((row.seq, {"version_id": version, "last_updated": self.stamp, "deleted": True}))
        self.stale.append((row.resource_type, row.id))
        self._version(row.resource_type, row.id, version, True, row.restricted, row.data, row.patient_id)

    def _version(
        self,
        rtype: str,
        rid: str,
        version: int,
        deleted: bool,
        restricted: bool,
        data: str,
        patient: str | None,
    ) -> None:
        self.versions.append(
            {
                "org_id": self.org_id,
                "resource_type": rtype,
                "id": rid,
                "version_id": version,
                "last_updated": self.stamp,
                "deleted": deleted,
                "restricted": restricted,
                "patient_id": patient,
                "data": data,
            }
        )

    def write(self, conn: Connection) -> None:
        for seq, values in self.updates:
            conn.execute(update(res).where(res.c.seq == seq).values(**values))
        if self.stale:
            key = tuple_(tok.c.resource_type, tok.c.id)
            conn.execute(delete(tok).where(tok.c.org_id == self.org_id, key.in_(self.stale)))
        for table, rows in ((res, self.inserts), (tok, self.tokens), (ver, self.versions)):
            if rows:
                conn.execute(insert(table), rows)


_CURRENT = (
    res.c.resource_type,
    res.c.id,
    res.c.version_id,
    res.c.last_updated,
    res.c.deleted,
    res.c.data,
    res.c.restricted,
    res.c.patient_id,
)


def read(conn: Connection, org_id: str, rtype: str, rid: str) -> Stored | None:
    row = conn.execute(
        select(*_CURRENT).where(res.c.org_id == org_id, res.c.resource_type == rtype, res.c.id == rid)
    ).first()
    return Stored(*row) if row else None


def read_many(conn: Connection, org_id: str, keys: Sequence[tuple[str, str]]) -> list[Stored]:
    """The current version of each (type, id) we hold, in the order asked, in one query."""
    if not keys:
        return []
    rows = conn.execute(
        select(*_CURRENT).where(res.c.org_id == org_id, tuple_(res.c.resource_type, res.c.id).in_(keys))
    )
    found = {(row.resource_type, row.id): Stored(*row) for row in rows}
    return [found[key] for key in keys if key in found]


def vread(conn: Connection, org_id: str, rtype: str, rid: str, version: int) -> Stored | None:
    row = conn.execute(
        select(ver.c.last_updated, ver.c.deleted, ver.c.restricted, ver.c.data, ver.c.patient_id).where(
            ver.c.org_id == org_id, ver.c.resource_type == rtype, ver.c.id == rid, ver.c.version_id == version
        )
    ).first()
    if row is None:
        return None
    return Stored(
        rtype, rid, version, row.last_updated, row.deleted, row.data, row.restricted, row.patient_id
    )


def record_of(conn: Connection, org_id: str, rtype: str, rid: str) -> tuple[str, str, bool] | None:
    """The (record kind, record id, restricted) a current resource was made from."""
    row = conn.execute(
        select(res.c.record_kind, res.c.record_id, res.c.restricted).where(
            res.c.org_id == org_id, res.c.resource_type == rtype, res.c.id == rid, res.c.deleted.is_(False)
        )
    ).first()
    return (row.record_kind, row.record_id, row.restricted) if row else None


def of_patient(conn: Connection, org_id: str, patient_id: str) -> list[tuple[str, str]]:
    """The (type, id) of every current resource about one patient, the Patient excluded."""
    rows = conn.execute(
        select(res.c.resource_type, res.c.id)
        .where(
            res.c.org_id == org_id,
            res.c.patient_id == patient_id,
            res.c.deleted.is_(False),
            res.c.resource_type != "Patient",
        )
        .order_by(res.c.seq)
    )
    return [(row.resource_type, row.id) for row in rows]


def of_records(conn: Connection, org_id: str, records: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (type, id) of every current resource the (record kind, record id) pairs show as."""
    if not records:
        return []
    rows = conn.execute(
        select(res.c.resource_type, res.c.id)
        .where(
            res.c.org_id == org_id,
            tuple_(res.c.record_kind, res.c.record_id).in_(list(records)),
            res.c.deleted.is_(False),
        )
        .order_by(res.c.seq)
    )
    return [(row.resource_type, row.id) for row in rows]
