"""What an admission and a discharge carry to the hospital, chosen from the client's records.

Admission: the active service plans with their goals, the latest assessment of each kind, the open referrals
(ServiceRequest + Task) and the open case episodes with their care team. Discharge: the active plans again
(as amended during the stay) and the referrals made since the admission began: the discharge referrals.
The rules are data, per kind of record: `admission` and `discharge` in mapping/kinds.py.
"""

from __future__ import annotations

from fhir_adapter.domain.dates import on_or_after_day_of
from fhir_adapter.domain.stored import StoredRecord
from fhir_adapter.mapping.kinds import RECORD_KINDS, Selection
from fhir_adapter.service.ports import Work

Key = tuple[str, str]


def _selected(
    records: list[StoredRecord], kind: str, rule: Selection, since: str | None
) -> list[StoredRecord]:
    chosen = [
        r
        for r in records
        if r.kind == kind
        and (r.data.get("status") in rule.statuses if rule.statuses else True)
        and r.data.get("status") not in rule.excluded
    ]
    if rule.since_admission and since:
        field = rule.since_admission
        chosen = [r for r in chosen if on_or_after_day_of(r.data.get(field) or "", since)]
    if rule.latest_by:
        by, date = rule.latest_by
        latest: dict[str, StoredRecord] = {}
        for rec in chosen:
            value = rec.data.get(by, "")
            if value not in latest or rec.data.get(date, "") >= latest[value].data.get(date, ""):
                latest[value] = rec
        chosen = list(latest.values())
    return chosen


def _chosen(
    records: list[StoredRecord], moment: str, since: str | None, of_the_stay: bool = False
) -> list[Key]:
    """The records `moment` carries; with `of_the_stay`, only those it carries for being made during it."""
    out: list[StoredRecord] = []
    for kind, record_kind in RECORD_KINDS.items():
        rule = record_kind.admission if moment == "admission" else record_kind.discharge
        if rule is not None and (rule.since_admission or not of_the_stay):
            out += _selected(records, kind, rule, since)
    return [(r.kind, r.record_id) for r in out]


def admission_records(records: list[StoredRecord]) -> list[Key]:
    return _chosen(records, "admission", None)


def discharge_records(records: list[StoredRecord], since: str | None) -> list[Key]:
    return _chosen(records, "discharge", since)


def discharge_referrals(records: list[StoredRecord], since: str | None) -> list[Key]:
    """What the discharge carried because it was made during the stay: what a cancelled discharge takes
    back (the records it carries in any case, such as the active plans, stay)."""
    return _chosen(records, "discharge", since, of_the_stay=True)


def resources(work: Work, org_id: str, keys: list[Key]) -> list[Key]:
    """The resources the chosen records show as (the Patient stays the EHR's own)."""
    return [k for k in work.resources.of_records(org_id, keys) if k[0] != "Patient"]


def for_admission(work: Work, org_id: str, client_id: str) -> list[Key]:
    return resources(work, org_id, admission_records(work.records.of_client(org_id, client_id)))


def for_discharge(work: Work, org_id: str, client_id: str, since: str | None) -> list[Key]:
    return resources(work, org_id, discharge_records(work.records.of_client(org_id, client_id), since))


def of_discharge_referrals(work: Work, org_id: str, client_id: str, since: str | None) -> list[Key]:
    """The discharge referrals' resources: what a cancelled discharge takes back."""
    return resources(work, org_id, discharge_referrals(work.records.of_client(org_id, client_id), since))
