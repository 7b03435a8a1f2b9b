"""What a finished delivery leaves behind: ledger rows and the AuditEvent of the disclosure."""

from __future__ import annotations

from sqlalchemy import Connection

from fhir_adapter.adapters import audit_store, ehr_store
from fhir_adapter.delivery.writes import Outgoing, Written
from fhir_adapter.domain.audit import AuditRow
from fhir_adapter.domain.sync import Ehr, Job, LedgerAction
from fhir_adapter.service.audit import by_service


def record_delivery(
    conn: Connection,
    job: Job,
    ehr: Ehr,
    patient_id: str | None,
    written: list[Written],
    withheld: list[Outgoing],
    now: str,
) -> None:
    def row(
        item: Outgoing, action: LedgerAction, ehr_id: str | None, version: str | None
    ) -> dict[str, object]:
        return {
            "org_id": job.org_id,
            "ehr_id": job.ehr_id,
            "job_id": job.id,
            "resource_type": item.resource_type,
            "id": item.id,
            "version_id": item.version_id,
            "action": action,
            "ehr_resource_id": ehr_id,
            "ehr_version_id": version,
            "sent_at": now,
        }

    rows = [row(w.item, _action(w), w.ehr_id, w.ehr_version) for w in written]
    rows += [row(item, LedgerAction.WITHHELD, None, None) for item in withheld]
    ehr_store.record_sent(conn, rows)
    if written:
        audit_store.add_many(conn, [disclosure(job, ehr, patient_id, written, now)])


def _action(w: Written) -> LedgerAction:
    if w.item.deleted:
        return LedgerAction.DELETE
    if w.not_taken:
        return LedgerAction.NOT_SENT
    return LedgerAction.DOCUMENT if w.as_document else LedgerAction.PUT


def disclosure(job: Job, ehr: Ehr, patient_id: str | None, written: list[Written], now: str) -> AuditRow:
    """Records of a patient disclosed to an EHR: who (the delivery worker), what, where."""
    agent = (f"delivery:{job.ehr_id}", f"fhir-adapter delivery to {job.ehr_id}")
    entities = [w.item.ref for w in written]
    return by_service(job.org_id, agent, "transaction", "POST", ehr.base_url, patient_id, now, entities)
