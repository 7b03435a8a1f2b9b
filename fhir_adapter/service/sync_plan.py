"""What an admission and a discharge carry to the hospital, chosen from the client's records.

Admission: the active service plans with their goals, the latest assessment of each kind, the open referrals
(ServiceRequest + Task) and the open case episodes with their care team. Discharge: the active plans again
(as amended during the stay) and the referrals made since the admission began: the discharge referrals.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from fhir_adapter.adapters import fhir_store, record_store
from fhir_adapter.adapters.record_store import StoredRecord

OPEN_REFERRALS = ("sent", "accepted", "in-progress")
OPEN_EPISODES = ("planned", "active", "on-hold")
SETTLED_ASSESSMENTS = ("completed", "amended")

Key = tuple[str, str]


def _latest_assessments(records: Iterable[StoredRecord]) -> list[StoredRecord]:
    latest: dict[str, StoredRecord] = {}
    for rec in records:
        if rec.kind != "assessment" or rec.data.get("status") not in SETTLED_ASSESSMENTS:
            continue
        kind = rec.data.get("kind", "")
        if kind not in latest or rec.data.get("date", "") >= latest[kind].data.get("date", ""):
            latest[kind] = rec
    return list(latest.values())


def admission_records(records: list[StoredRecord]) -> list[Key]:
    chosen = [r for r in records if r.kind == "service-plan" and r.data.get("status") == "active"]
    chosen += _latest_assessments(records)
    chosen += [r for r in records if r.kind == "referral" and r.data.get("status") in OPEN_REFERRALS]
    chosen += [r for r in records if r.kind == "episode" and r.data.get("status") in OPEN_EPISODES]
    return [(r.kind, r.record_id) for r in chosen]


def discharge_referrals(records: list[StoredRecord], since: str | None) -> list[Key]:
    """Referrals made during the stay (authored on or after its first day), drafts left out."""
    day = (since or "")[:10]
    return [
        (r.kind, r.record_id)
        for r in records
        if r.kind == "referral" and r.data.get("status") != "draft" and r.data.get("authored_on", "") >= day
    ]


def discharge_records(records: list[StoredRecord], since: str | None) -> list[Key]:
    plans = [
        (r.kind, r.record_id)
        for r in records
        if r.kind == "service-plan" and r.data.get("status") == "active"
    ]
    return plans + discharge_referrals(records, since)


def resources(conn: Connection, org_id: str, keys: list[Key]) -> list[Key]:
    """The resources the chosen records show as (the Patient stays the EHR's own)."""
    return [k for k in fhir_store.of_records(conn, org_id, keys) if k[0] != "Patient"]


def for_admission(conn: Connection, org_id: str, client_id: str) -> list[Key]:
    return resources(conn, org_id, admission_records(record_store.of_client(conn, org_id, client_id)))


def for_discharge(conn: Connection, org_id: str, client_id: str, since: str | None) -> list[Key]:
    return resources(conn, org_id, discharge_records(record_store.of_client(conn, org_id, client_id), since))


def of_discharge_referrals(conn: Connection, org_id: str, client_id: str, since: str | None) -> list[Key]:
    """The discharge referrals' resources: what a cancelled discharge takes back."""
    return resources(
        conn, org_id, discharge_referrals(record_store.of_client(conn, org_id, client_id), since)
    )
