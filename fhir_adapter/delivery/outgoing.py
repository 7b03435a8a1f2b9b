"""What one job sends: the job's stored resources sorted into those that go and those the EHR's policy
holds back, with what the job needs to address them."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from fhir_adapter.adapters.fhir_store import content
from fhir_adapter.delivery.writes import Outgoing
from fhir_adapter.domain.stored import Stored
from fhir_adapter.domain.sync import Admission, Ehr, Job, JobAction, LedgerAction, Link, Sent


@dataclass(frozen=True)
class Prepared:
    """What one job sends: the resources that go, those held back by the EHR's policy, the references."""

    ehr: Ehr
    send: list[Outgoing]
    withheld: list[Outgoing]
    refs: dict[str, str]
    known: dict[tuple[str, str], Sent]
    patient_id: str | None  # ours
    link: Link
    admission: Admission | None  # the client's current admission in the EHR: what the resources belong to


def outgoing(stored: Stored, removed: bool = False) -> Outgoing:
    """A stored resource as the EHR is sent it: without our version and time stamp."""
    data = content(orjson.loads(stored.data))
    return Outgoing(stored.resource_type, stored.id, stored.version_id, removed, data)


def sort_out(
    job: Job, ehr: Ehr, stored: list[Stored], known: dict[tuple[str, str], Sent]
) -> tuple[list[Outgoing], list[Outgoing], str | None]:
    """The resources that go, those the EHR's policy holds back, and our Patient's id."""
    send: list[Outgoing] = []
    withheld: list[Outgoing] = []
    patient_id = None
    for item in stored:
        if item.resource_type == "Patient":
            continue  # the EHR keeps its own Patient: ours only names who the records are about
        patient_id = item.patient_id or patient_id
        removed = item.deleted or job.action is JobAction.RETRACT
        out = outgoing(item, removed)
        if removed and (item.resource_type, item.id) not in known:
            continue  # never sent there: nothing to remove
        if removed and known[(item.resource_type, item.id)].action is LedgerAction.DELETE:
            continue  # removed there already
        (withheld if item.restricted and not ehr.send_restricted else send).append(out)
    return send, withheld, patient_id
