"""The EHRs an organisation delivers to, the links from its clients to their patients there, and the
ledger of what was sent."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, tuple_, update

from fhir_adapter.adapters.sync_tables import delivery_ledger as ledger
from fhir_adapter.adapters.sync_tables import ehrs, patient_links
from fhir_adapter.domain.sync import Ehr, LedgerAction, Link, Sent


def _ehr(row: Any) -> Ehr:
    return Ehr(
        row.org_id,
        row.id,
        row.base_url,
        row.auth,
        row.client_id,
        row.scope,
        row.token_url,
        row.bearer_token,
        bool(row.send_restricted),
        row.mrn_system,
        row.mrn_authority,
    )


def add_ehr(conn: Connection, ehr: Ehr, now: str) -> None:
    conn.execute(insert(ehrs).values(**ehr.__dict__, created_at=now))


def remove_ehr(conn: Connection, org_id: str, ehr_id: str) -> bool:
    return conn.execute(delete(ehrs).where(ehrs.c.org_id == org_id, ehrs.c.id == ehr_id)).rowcount == 1


def get_ehr(conn: Connection, org_id: str, ehr_id: str) -> Ehr | None:
    row = conn.execute(select(ehrs).where(ehrs.c.org_id == org_id, ehrs.c.id == ehr_id)).first()
    return _ehr(row) if row else None


def list_ehrs(conn: Connection, org_id: str | None = None) -> list[Ehr]:
    query = select(ehrs).order_by(ehrs.c.org_id, ehrs.c.id)
    if org_id is not None:
        query = query.where(ehrs.c.org_id == org_id)
    return [_ehr(row) for row in conn.execute(query)]


def _link(row: Any) -> Link:
    return Link(
        row.org_id,
        row.client_id,
        row.ehr_id,
        row.patient_id,
        row.mrn,
        row.assigner,
        row.created_at,
        row.made_by_visit,
        row.ended_at,
    )


def put_link(conn: Connection, link: Link, ended: Link | None) -> None:
    """A new link, or the `ended` one made anew with every field as in `link`."""
    if ended is None:
        conn.execute(insert(patient_links).values(**link.__dict__))
        return
    fields = {k: v for k, v in link.__dict__.items() if k not in ("org_id", "client_id", "ehr_id")}
    _update_link(conn, link, **fields)


def get_link(conn: Connection, org_id: str, client_id: str, ehr_id: str) -> Link | None:
    row = conn.execute(
        select(patient_links).where(
            patient_links.c.org_id == org_id,
            patient_links.c.client_id == client_id,
            patient_links.c.ehr_id == ehr_id,
        )
    ).first()
    return _link(row) if row else None


def links_of(conn: Connection, org_id: str, client_id: str, active: bool = False) -> list[Link]:
    """The client's links (only those not ended, when `active`)."""
    query = select(patient_links).where(
        patient_links.c.org_id == org_id, patient_links.c.client_id == client_id
    )
    if active:
        query = query.where(patient_links.c.ended_at.is_(None))
    return [_link(row) for row in conn.execute(query.order_by(patient_links.c.ehr_id))]


def _update_link(conn: Connection, link: Link, **values: Any) -> None:
    conn.execute(
        update(patient_links)
        .where(
            patient_links.c.org_id == link.org_id,
            patient_links.c.client_id == link.client_id,
            patient_links.c.ehr_id == link.ehr_id,
        )
        .values(**values)
    )


def end_link(conn: Connection, link: Link, now: str) -> None:
    _update_link(conn, link, ended_at=now)


def record_sent(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    rows = list(rows)
    if rows:
        conn.execute(insert(ledger), rows)


def last_sent(
    conn: Connection, org_id: str, ehr_id: str, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Sent]:
    """For each of our (type, id), the EHR's id and version from the latest ledger row."""
    keys = list(keys)
    if not keys:
        return {}
    where = and_(
        ledger.c.org_id == org_id,
        ledger.c.ehr_id == ehr_id,
        tuple_(ledger.c.resource_type, ledger.c.id).in_(keys),
    )
    latest = (
        select(func.max(ledger.c.seq).label("seq"))
        .where(where, ledger.c.action != LedgerAction.WITHHELD)
        .group_by(ledger.c.resource_type, ledger.c.id)
    )
    rows = conn.execute(select(ledger).where(ledger.c.seq.in_(latest)))
    return {
        (row.resource_type, row.id): Sent(row.ehr_resource_id, row.ehr_version_id, LedgerAction(row.action))
        for row in rows
    }


def written_by(conn: Connection, job_ids: Sequence[int]) -> list[tuple[str, str]]:
    """Our (type, id) of every resource these jobs wrote to an EHR (not removed, not held back)."""
    if not job_ids:
        return []
    query = select(ledger.c.resource_type, ledger.c.id).where(
        ledger.c.job_id.in_(list(job_ids)), ledger.c.action == LedgerAction.PUT
    )
    return [(row.resource_type, row.id) for row in conn.execute(query.order_by(ledger.c.seq))]


def sent_by_job(conn: Connection, job_id: int) -> list[dict[str, Any]]:
    return sent_by_jobs(conn, [job_id]).get(job_id, [])


def sent_by_jobs(conn: Connection, job_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """What each job wrote, from the ledger, in one query."""
    found: dict[int, list[dict[str, Any]]] = {}
    if not job_ids:
        return found
    rows = conn.execute(select(ledger).where(ledger.c.job_id.in_(list(job_ids))).order_by(ledger.c.seq))
    for row in rows:
        found.setdefault(row.job_id, []).append(
            {
                "resource": f"{row.resource_type}/{row.id}",
                "version": row.version_id,
                "action": row.action,
                "ehr_resource": f"{row.resource_type}/{row.ehr_resource_id}" if row.ehr_resource_id else None,
                "ehr_version": row.ehr_version_id,
                "sent_at": row.sent_at,
            }
        )
    return found


def link_by_patient(
    conn: Connection, org_id: str, ehr_id: str, patient_id: str | None = None, mrn: str | None = None
) -> Link | None:
    """The link to the EHR's patient with this id, or else with this medical record number."""
    for column, value in ((patient_links.c.patient_id, patient_id), (patient_links.c.mrn, mrn)):
        if not value:
            continue
        row = conn.execute(
            select(patient_links).where(
                patient_links.c.org_id == org_id, patient_links.c.ehr_id == ehr_id, column == value
            )
        ).first()
        if row:
            return _link(row)
    return None


def found_patient(conn: Connection, link: Link, patient_id: str) -> None:
    """The EHR's Patient id, once looked up by the link's MRN."""
    _update_link(conn, link, patient_id=patient_id)


def ours_of(conn: Connection, org_id: str, ehr_id: str, refs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Which of the EHR's (type, id) are resources we sent: "Type/ehr id" → "Type/our id"."""
    refs = list(refs)
    if not refs:
        return {}
    rows = conn.execute(
        select(ledger.c.resource_type, ledger.c.id, ledger.c.ehr_resource_id)
        .where(
            ledger.c.org_id == org_id,
            ledger.c.ehr_id == ehr_id,
            tuple_(ledger.c.resource_type, ledger.c.ehr_resource_id).in_(refs),
        )
        .distinct()
    )
    return {f"{r.resource_type}/{r.ehr_resource_id}": f"{r.resource_type}/{r.id}" for r in rows}


def sent_before(
    conn: Connection, org_id: str, ehr_id: str, keys: Iterable[tuple[str, str]], job_id: int
) -> set[tuple[str, str]]:
    """Those of our (type, id) that a job older than `job_id` wrote to the EHR."""
    keys = list(keys)
    if not keys:
        return set()
    rows = conn.execute(
        select(ledger.c.resource_type, ledger.c.id).where(
            ledger.c.org_id == org_id,
            ledger.c.ehr_id == ehr_id,
            ledger.c.job_id < job_id,
            ledger.c.action == LedgerAction.PUT,
            tuple_(ledger.c.resource_type, ledger.c.id).in_(keys),
        )
    )
    return {(row.resource_type, row.id) for row in rows}
