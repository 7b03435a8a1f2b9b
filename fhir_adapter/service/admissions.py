"""What an admission, discharge or cancellation does to the client's admissions and what it queues.

Every effect goes through the outbox in the transaction that stores the event: an admission queues one push,
a discharge a push and a pull, and a cancellation withdraws what its event queued when it has not gone yet,
or queues a retraction of what it sent. Events that arrive out of order never re-open a finished visit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from fhir_adapter.domain.events import Event
from fhir_adapter.domain.inbound import InboundState
from fhir_adapter.domain.sync import Admission, AdmissionState, Ehr, JobAction, Link
from fhir_adapter.service import sync_plan
from fhir_adapter.service.ports import Work

ACTED_ON = frozenset(
    {"admit", "register", "update", "discharge", "cancel-admit", "cancel-discharge", "merge"}
)


@dataclass(frozen=True)
class Applied:
    state: InboundState  # applied | reported | ignored
    detail: str


def _visit_fields(a: Admission, event: Event) -> Admission:
    v = event.visit
    return replace(
        a,
        encounter_id=v.encounter_id or a.encounter_id,
        class_code=v.class_code or a.class_code,
        location=v.location or a.location,
        admit_source=v.admit_source or a.admit_source,
        admitted_at=a.admitted_at
        or v.admitted_at
        or (event.occurred_at if event.kind in ("admit", "register") else None),
    )


def _new(ehr: Ehr, client_id: str, event: Event, state: AdmissionState, now: str) -> Admission:
    key = event.visit_key or ""
    return _visit_fields(Admission(0, ehr.org_id, ehr.id, client_id, key, state, updated_at=now), event)


def ensure_link(work: Work, ehr: Ehr, client_id: str, event: Event, now: str) -> None:
    """The client linked to the EHR's patient: by its id when the event is FHIR, else by MRN (the worker
    looks the patient up in the EHR the first time it sends). A link the event makes, or makes anew after
    a cancelled admission ended it, names the visit: cancelling that admission ends it again."""
    before = work.ehrs.get_link(ehr.org_id, client_id, ehr.id)
    if before is not None and before.active:
        return
    p = event.patient
    known = before.patient_id if before is not None and before.mrn == p.mrn else ""
    link = Link(
        ehr.org_id, client_id, ehr.id, p.ehr_patient_id or known, p.mrn, p.authority, now, event.visit_key
    )
    work.ehrs.put_link(link, before)


def _link_made_by(work: Work, a: Admission) -> Link | None:
    """The client's link to the EHR when this admission made it and no other stay there keeps it."""
    link = work.ehrs.get_link(a.org_id, a.client_id, a.ehr_id)
    if link is None or not link.active or link.made_by_visit != a.visit_number:
        return None
    others = [
        o
        for o in work.admissions.of_client(a.org_id, a.client_id)
        if o.ehr_id == a.ehr_id and o.id != a.id and o.state is not AdmissionState.CANCELLED
    ]
    return None if others else link


def _queue(
    work: Work,
    a: Admission,
    keys: list[tuple[str, str]],
    cause: str,
    now: str,
    action: JobAction = JobAction.PUSH,
    context: dict[str, object] | None = None,
) -> list[int]:
    """The job, if it has something to do (a pull always has)."""
    if not keys and action is not JobAction.PULL:
        return []
    return [work.outbox.enqueue(a.org_id, a.ehr_id, a.client_id, cause, keys, now, action, context)]


def _admit(work: Work, ehr: Ehr, client_id: str, event: Event, found: Admission | None, now: str) -> Applied:
    key = event.visit_key
    state = AdmissionState.REGISTERED if event.kind == "register" else AdmissionState.ADMITTED
    if found is not None and found.state in (
        AdmissionState.ADMITTED,
        AdmissionState.REGISTERED,
        AdmissionState.DISCHARGED,
    ):
        work.admissions.save(replace(_visit_fields(found, event), updated_at=now))
        why = "discharged already" if found.state is AdmissionState.DISCHARGED else found.state
        return Applied(InboundState.APPLIED, f"visit {key} is {why}: nothing is sent again")
    a = (
        _new(ehr, client_id, event, state, now)
        if found is None
        else replace(_visit_fields(found, event), state=state)
    )
    keys = sync_plan.for_admission(work, ehr.org_id, client_id)
    jobs = _queue(work, a, keys, f"{event.event} admission, visit {key}", now)
    work.admissions.save(replace(a, jobs={**a.jobs, "admit": jobs}, updated_at=now))
    return Applied(
        InboundState.APPLIED,
        f"visit {key} {state}: {len(keys)} resources queued"
        if jobs
        else f"visit {key} {state}: the client has nothing to send",
    )


def _discharge(
    work: Work, ehr: Ehr, client_id: str, event: Event, found: Admission | None, now: str
) -> Applied:
    key = event.visit_key
    if found is not None and found.state is AdmissionState.DISCHARGED:
        work.admissions.save(replace(_visit_fields(found, event), updated_at=now))
        return Applied(InboundState.APPLIED, f"visit {key} is discharged already: nothing is sent again")
    a = (
        _new(ehr, client_id, event, AdmissionState.DISCHARGED, now)
        if found is None
        else _visit_fields(found, event)
    )
    a = replace(
        a,
        state=AdmissionState.DISCHARGED,
        discharged_at=event.visit.discharged_at or event.occurred_at or now,
        disposition=event.visit.disposition or a.disposition,
    )
    a = work.admissions.save(a)
    keys = sync_plan.for_discharge(work, ehr.org_id, client_id, a.admitted_at)
    jobs = _queue(work, a, keys, f"{event.event} discharge, visit {key}", now)
    cause = f"{event.event} discharge, visit {key}: read back"
    jobs += _queue(work, a, [], cause, now, JobAction.PULL, {"admission": a.id, "since": a.admitted_at})
    work.admissions.save(replace(a, jobs={**a.jobs, "discharge": jobs}, updated_at=now))
    first = "" if found is not None else " (no admission of it was received: opened from the discharge)"
    return Applied(
        InboundState.APPLIED,
        f"visit {key} discharged{first}: {len(keys)} resources queued, the EHR's discharge information to read back",
    )


def _undo(
    work: Work, a: Admission, ids: list[int], only: set[tuple[str, str]] | None, cause: str, now: str
) -> str:
    """Withdraw the jobs not yet sent; retract what the sent ones carried (all, or those in `only`) unless
    the EHR had it before the stay began."""
    withdrawn = set(work.outbox.withdraw(a.org_id, ids, now, cause))
    sent = [
        j for j in work.outbox.of_ids(a.org_id, ids) if j.id not in withdrawn and j.action is JobAction.PUSH
    ]
    keys = list(dict.fromkeys(k for j in sent for k in j.resources if only is None or k in only))
    if only is None:  # also what a job sent along because its resources named it (delivery/closure.py)
        keys = list(dict.fromkeys([*keys, *work.ehrs.written_by([j.id for j in sent])]))
    first = min(a.jobs.get("admit", []) + ids or [0])
    if first and keys:  # what the EHR had before the stay stays there
        keep = work.ehrs.sent_before(a.org_id, a.ehr_id, keys, first)
        keys = [k for k in keys if k not in keep]
    retract = _queue(work, a, keys, cause, now, JobAction.RETRACT)
    return f"{len(withdrawn)} queued jobs withdrawn" + (
        f", {len(keys)} resources to retract from the EHR" if retract else ""
    )


def _cancel(work: Work, event: Event, found: Admission | None, now: str) -> Applied:
    """A cancelled admission or discharge undone; ignored when the visit has none to cancel."""
    if event.kind == "cancel-admit":
        if found is None or found.state not in (AdmissionState.ADMITTED, AdmissionState.REGISTERED):
            return _nothing_to_cancel(event, found, "open admission")
        return _cancel_admission(work, event, found, now)
    if found is None or found.state is not AdmissionState.DISCHARGED:
        return _nothing_to_cancel(event, found, "discharge")
    return _cancel_discharge(work, event, found, now)


def _nothing_to_cancel(event: Event, found: Admission | None, what: str) -> Applied:
    """The event is ignored: the visit has no `what` to cancel."""
    state = f" (it is {found.state})" if found else ""
    return Applied(InboundState.IGNORED, f"visit {event.visit_key} has no {what} to cancel" + state)


def _cancel_admission(work: Work, event: Event, found: Admission, now: str) -> Applied:
    """The admission cancelled, what it queued taken back, and the link it made to the EHR's patient ended."""
    key = event.visit_key
    cause = f"{event.event} cancels the admission of visit {key}"
    link = _link_made_by(work, found)
    if link is None:
        done = _undo(work, found, found.jobs.get("admit", []), None, cause, now)
    else:  # all that went through the link since it was made goes back with it
        ids = work.outbox.lane_since(found.org_id, found.ehr_id, found.client_id, link.created_at)
        done = _undo(work, found, ids, None, cause, now) + "; the link it made to the EHR's patient is ended"
        work.ehrs.end_link(link, now)
    work.admissions.save(replace(found, state=AdmissionState.CANCELLED, updated_at=now))
    return Applied(InboundState.APPLIED, f"admission of visit {key} cancelled: {done}")


def _cancel_discharge(work: Work, event: Event, found: Admission, now: str) -> Applied:
    """The discharge cancelled: what it queued withdrawn or, for the referrals it sent, retracted; the
    client is admitted again."""
    key = event.visit_key
    referrals = sync_plan.of_discharge_referrals(work, found.org_id, found.client_id, found.admitted_at)
    cause = f"{event.event} cancels the discharge of visit {key}"
    done = _undo(work, found, found.jobs.get("discharge", []), set(referrals), cause, now)
    jobs = {k: v for k, v in found.jobs.items() if k != "discharge"}
    again = replace(
        found, state=AdmissionState.ADMITTED, discharged_at=None, disposition=None, jobs=jobs, updated_at=now
    )
    work.admissions.save(again)
    return Applied(InboundState.APPLIED, f"discharge of visit {key} cancelled: {done}")


def apply(work: Work, ehr: Ehr, client_id: str, event: Event, now: str) -> Applied:
    """Act on one matched event, in the caller's transaction."""
    if event.kind == "merge":
        return Applied(
            InboundState.REPORTED,
            f"{event.event}: MRN {event.merged_mrn} merged into {event.patient.mrn}; not applied, a person must merge the case records",
        )
    if event.kind not in ACTED_ON:
        return Applied(InboundState.IGNORED, f"{event.event} is stored, not acted on")
    key = event.visit_key
    found = work.admissions.find(ehr.org_id, ehr.id, key) if key else None
    if found is not None and found.client_id != client_id:  # a visit is one client's: never mix two
        return Applied(
            InboundState.REPORTED,
            f"visit {key} is client {found.client_id}'s, this message matched client {client_id}: not applied, a person must check the match",
        )
    if event.kind == "update":
        if found is None:
            return Applied(InboundState.APPLIED, "no admission of this visit yet: nothing to update")
        work.admissions.save(replace(_visit_fields(found, event), updated_at=now))
        return Applied(InboundState.APPLIED, f"visit {key} updated")
    if event.kind.startswith("cancel"):
        return _cancel(work, event, found, now)
    ensure_link(work, ehr, client_id, event, now)
    if event.kind in ("admit", "register"):
        return _admit(work, ehr, client_id, event, found, now)
    return _discharge(work, ehr, client_id, event, found, now)
