"""In-memory stores for the services' unit tests: each keeps what the real one keeps in plain lists and
dicts and answers the same questions (service/stores.py). `FakeStorage` opens units of work over one
`FakeWork`; a block that raises leaves it as it was, as a rolled-back transaction would."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from fhir_adapter.domain.audit import AuditRow
from fhir_adapter.domain.events import Event
from fhir_adapter.domain.inbound import Inbound, InboundState
from fhir_adapter.domain.stored import StoredRecord
from fhir_adapter.domain.sync import Admission, Ehr, Job, JobAction, JobState, LedgerAction, Link

Key = tuple[str, str]
JSON = dict[str, Any]


@dataclass
class FakeRecords:
    rows: dict[tuple[str, str, str], StoredRecord] = field(default_factory=dict)

    def put(self, org_id: str, rec: StoredRecord) -> None:
        self.rows[(org_id, rec.kind, rec.record_id)] = rec

    def get(self, org_id: str, kind: str, record_id: str, for_update: bool = False) -> StoredRecord | None:
        return self.rows.get((org_id, kind, record_id))

    def of_client(self, org_id: str, client_id: str) -> list[StoredRecord]:
        return [r for (org, _, _), r in self.rows.items() if org == org_id and r.client_id == client_id]


@dataclass
class FakeResources:
    """What each record shows as in FHIR: (kind, record id) → its (type, id)s."""

    shown_as: dict[tuple[str, str, str], list[Key]] = field(default_factory=dict)

    def of_records(self, org_id: str, records: Sequence[Key]) -> list[Key]:
        return [k for kind, rid in records for k in self.shown_as.get((org_id, kind, rid), [])]


@dataclass
class FakePatients:
    patients: dict[tuple[str, str], JSON] = field(default_factory=dict)  # (org, client id) → Patient

    def with_identifier(self, org_id: str, value: str) -> list[tuple[str, JSON]]:
        return [
            (client, p)
            for (org, client), p in self.patients.items()
            if org == org_id and any(i.get("value") == value for i in p.get("identifier", []))
        ]

    def born_on(self, org_id: str, birth_date: str) -> list[tuple[str, JSON]]:
        return [
            (client, p)
            for (org, client), p in self.patients.items()
            if org == org_id and p.get("birthDate") == birth_date
        ]


@dataclass
class FakeEhrs:
    ehrs: dict[tuple[str, str], Ehr] = field(default_factory=dict)
    links: dict[tuple[str, str, str], Link] = field(default_factory=dict)  # (org, client, ehr)
    ledger: list[JSON] = field(default_factory=list)  # job, org, ehr, type, id, action

    def get_ehr(self, org_id: str, ehr_id: str) -> Ehr | None:
        return self.ehrs.get((org_id, ehr_id))

    def get_link(self, org_id: str, client_id: str, ehr_id: str) -> Link | None:
        return self.links.get((org_id, client_id, ehr_id))

    def put_link(self, link: Link, ended: Link | None) -> None:
        self.links[(link.org_id, link.client_id, link.ehr_id)] = link

    def end_link(self, link: Link, now: str) -> None:
        self.links[(link.org_id, link.client_id, link.ehr_id)] = replace(link, ended_at=now)

    def link_by_patient(
        self, org_id: str, ehr_id: str, patient_id: str | None = None, mrn: str | None = None
    ) -> Link | None:
        for attr, value in (("patient_id", patient_id), ("mrn", mrn)):
            for (org, _, ehr), link in self.links.items():
                if value and org == org_id and ehr == ehr_id and getattr(link, attr) == value:
                    return link
        return None

    def written_by(self, job_ids: Sequence[int]) -> list[Key]:
        return [(r["type"], r["id"]) for r in self.ledger if r["job"] in job_ids and r["action"] == "PUT"]

    def sent_before(self, org_id: str, ehr_id: str, keys: Iterable[Key], job_id: int) -> set[Key]:
        wanted = set(keys)
        return {
            (r["type"], r["id"])
            for r in self.ledger
            if (r["org"], r["ehr"]) == (org_id, ehr_id)
            and r["job"] < job_id
            and r["action"] == LedgerAction.PUT
            and (r["type"], r["id"]) in wanted
        }


@dataclass
class FakeOutbox:
    jobs: list[Job] = field(default_factory=list)

    def enqueue(
        self,
        org_id: str,
        ehr_id: str,
        client_id: str,
        cause: str,
        resources: Sequence[Key],
        now: str,
        action: JobAction = JobAction.PUSH,
        context: dict[str, Any] | None = None,
    ) -> int:
        new = len(self.jobs) + 1
        self.jobs.append(
            Job(new, org_id, ehr_id, client_id, cause, list(resources), JobState.PENDING, 0, now, None,
                None, None, None, now, None, None, action=action, context=context)
        )  # fmt: skip
        return new

    def of_ids(self, org_id: str, ids: Sequence[int]) -> list[Job]:
        return [j for j in self.jobs if j.org_id == org_id and j.id in ids]

    def lane_since(self, org_id: str, ehr_id: str, client_id: str, since: str) -> list[int]:
        lane = (org_id, ehr_id, client_id)
        return [
            j.id for j in self.jobs if (j.org_id, j.ehr_id, j.client_id) == lane and j.created_at >= since
        ]

    def withdraw(self, org_id: str, ids: Sequence[int], now: str, why: str) -> list[int]:
        taken = [j.id for j in self.of_ids(org_id, ids) if j.state is JobState.PENDING]
        self.jobs = [replace(j, state=JobState.WITHDRAWN) if j.id in taken else j for j in self.jobs]
        return taken


@dataclass
class FakeAdmissions:
    rows: list[Admission] = field(default_factory=list)

    def find(self, org_id: str, ehr_id: str, visit_number: str) -> Admission | None:
        return next((a for a in self.rows if (a.org_id, a.ehr_id, a.visit_number) == (org_id, ehr_id, visit_number)), None)  # fmt: skip

    def of_client(self, org_id: str, client_id: str) -> list[Admission]:
        return [a for a in self.rows if a.org_id == org_id and a.client_id == client_id]

    def save(self, a: Admission) -> Admission:
        if a.id == 0:
            a = replace(a, id=len(self.rows) + 1)
            self.rows.append(a)
        else:
            self.rows = [a if o.id == a.id else o for o in self.rows]
        return a


@dataclass
class FakeMessages:
    rows: list[Inbound] = field(default_factory=list)

    def seen(self, org_id: str, ehr_id: str, control_id: str) -> Inbound | None:
        return next((m for m in self.rows if (m.org_id, m.ehr_id, m.control_id) == (org_id, ehr_id, control_id)), None)  # fmt: skip

    def add(self, org_id: str, ehr_id: str, event: Event, body: str, now: str) -> int | None:
        if self.seen(org_id, ehr_id, event.control_id):
            return None
        seq = len(self.rows) + 1
        self.rows.append(
            Inbound(seq, org_id, ehr_id, event.channel, event.control_id, event, InboundState.RECEIVED,
                    None, None, None, now, None, None, body)
        )  # fmt: skip
        return seq

    def _change(self, seq: int, **values: Any) -> None:
        self.rows = [replace(m, **values) if m.seq == seq else m for m in self.rows]

    def settle(
        self,
        seq: int,
        state: InboundState,
        detail: str | None = None,
        client_id: str | None = None,
        matched_by: str | None = None,
    ) -> None:
        self._change(seq, state=state, detail=detail, client_id=client_id, matched_by=matched_by)

    def resolved(self, seq: int, by: str, now: str) -> None:
        self._change(seq, resolved_at=now, resolved_by=by)

    def get(self, org_id: str, seq: int) -> Inbound | None:
        return next((m for m in self.rows if m.org_id == org_id and m.seq == seq), None)

    def waiting(self, org_id: str, ehr_id: str, mrn: str | None) -> list[Inbound]:
        return [
            m
            for m in self.rows
            if (m.org_id, m.ehr_id) == (org_id, ehr_id)
            and m.state is InboundState.NEEDS_MATCH
            and (not mrn or m.event.patient.mrn == mrn)
        ]


@dataclass
class FakeAudit:
    rows: list[AuditRow] = field(default_factory=list)

    def add_many(self, rows: list[AuditRow]) -> None:
        self.rows += rows


@dataclass
class FakeAttachments:
    kept: dict[tuple[str, str], tuple[str, bytes]] = field(default_factory=dict)

    def put(self, org_id: str, sha256: str, content_type: str, data: bytes, now: str) -> bool:
        if (org_id, sha256) in self.kept:
            return False
        self.kept[(org_id, sha256)] = (content_type, data)
        return True

    def has(self, org_id: str, sha256: str) -> bool:
        return (org_id, sha256) in self.kept

    def get(self, org_id: str, sha256: str) -> tuple[str, bytes] | None:
        return self.kept.get((org_id, sha256))


@dataclass
class FakeWork:
    """The stores the admission planner and intake use, in memory."""

    records: FakeRecords = field(default_factory=FakeRecords)
    resources: FakeResources = field(default_factory=FakeResources)
    patients: FakePatients = field(default_factory=FakePatients)
    ehrs: FakeEhrs = field(default_factory=FakeEhrs)
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    admissions: FakeAdmissions = field(default_factory=FakeAdmissions)
    messages: FakeMessages = field(default_factory=FakeMessages)
    audit: FakeAudit = field(default_factory=FakeAudit)
    attachments: FakeAttachments = field(default_factory=FakeAttachments)

    def delivered(self, job_id: int) -> None:
        """The worker sent the job: the ledger says it wrote each resource."""
        job = next(j for j in self.outbox.jobs if j.id == job_id)
        self.outbox.jobs = [
            replace(j, state=JobState.DELIVERED) if j.id == job_id else j for j in self.outbox.jobs
        ]
        for rtype, rid in job.resources:
            self.ehrs.ledger.append(
                {
                    "job": job_id,
                    "org": job.org_id,
                    "ehr": job.ehr_id,
                    "type": rtype,
                    "id": rid,
                    "action": "PUT",
                }
            )


@dataclass
class FakeStorage:
    work: FakeWork = field(default_factory=FakeWork)
    opened: int = 0  # units of work opened, for a test to count

    @contextmanager
    def writing(self) -> Iterator[FakeWork]:
        self.opened += 1
        before = copy.deepcopy(self.work.__dict__)
        try:
            yield self.work
        except BaseException:
            self.work.__dict__.update(before)
            raise

    reading = writing
