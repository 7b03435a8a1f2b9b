"""Subscriptions-backport notifications from an EHR: handshake and heartbeat answered, each notified
Encounter taken as an event (fetched from the EHR when the notification carries only its id), and a gap in
the event count recovered by asking the EHR what changed since the last event we saw."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from itertools import chain, islice
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine

from fhir_adapter.adapters import ehr_store, inbound_store
from fhir_adapter.adapters.db import reading, writing
from fhir_adapter.adapters.ehr_store import Ehr
from fhir_adapter.adapters.inbound_store import Subscription
from fhir_adapter.delivery.ehr_client import pages
from fhir_adapter.events.fhir_events import encounter_event, local_ref, patient_of, subject_of
from fhir_adapter.events.model import Event
from fhir_adapter.events.subscriptions import Notification
from fhir_adapter.service import intake
from fhir_adapter.service.context import Clock, stamp

JSON = dict[str, Any]
Read = Callable[[str], JSON]  # GET a path of the EHR's FHIR API: its JSON
RECOVERY_PAGES = 20
RECOVERY_PAGE_SIZE = 100


@dataclass
class Report:
    subscription: str
    type: str
    events: list[JSON] = field(default_factory=list)
    gap: JSON | None = None

    def to_json(self) -> JSON:
        out: JSON = {"subscription": self.subscription, "type": self.type, "events": self.events}
        return out | ({"gap": self.gap} if self.gap else {})


def _patient(read: Read, ehr: Ehr, encounter: JSON, included: dict[str, JSON], engine: Engine) -> Any:
    subject = subject_of(encounter)
    target = local_ref(subject)
    pid = target.split("/")[1] if target and target.startswith("Patient/") else None
    resource = (included.get(subject) or included.get(target or "")) if subject else None
    if resource is None and pid:
        with reading(engine) as conn:
            linked = ehr_store.link_by_patient(conn, ehr.org_id, ehr.id, pid)
        if linked is None:  # an MRN is needed to match a patient never seen
            resource = read(f"Patient/{pid}")
    return patient_of(resource, pid, ehr.mrn_system)


def _take(engine: Engine, ehr: Ehr, event: Event, body: str, clock: Clock, demographics: bool) -> JSON:
    outcome = intake.receive(engine, ehr, event, body, clock, demographics)
    return {"state": outcome.state, "detail": outcome.detail, "inbound": outcome.seq}


def recover(engine: Engine, ehr: Ehr, read: Read, since: str, clock: Clock, demographics: bool) -> list[JSON]:
    """Every Encounter the EHR changed since `since`, taken as events (each version once)."""
    taken = []
    query = {"_lastUpdated": f"ge{since[:19]}Z", "_count": str(RECOVERY_PAGE_SIZE)}
    for bundle in pages(read, "Encounter?" + urlencode(query), ehr.base_url, RECOVERY_PAGES):
        for entry in bundle.get("entry", []):
            enc = entry.get("resource") or {}
            if enc.get("resourceType") != "Encounter":
                continue
            meta = enc.get("meta") or {}
            version = meta.get("versionId") or meta.get("lastUpdated") or ""
            patient = _patient(read, ehr, enc, {}, engine)
            event = encounter_event(enc, patient, "query", f"enc:{enc.get('id')}/{version}")
            taken.append({"encounter": enc.get("id")} | _take(engine, ehr, event, "", clock, demographics))
    return taken


def receive(
    engine: Engine, ehr: Ehr, note: Notification, body: str, read: Read, clock: Clock, demographics: bool
) -> Report:
    now = stamp(clock())
    with reading(engine) as conn:
        sub = inbound_store.subscription(conn, ehr.org_id, ehr.id, note.subscription)
    sub = sub or Subscription(note.subscription, note.topic, note.status, 0, None)
    report = Report(note.subscription, note.type)
    seen, last = sub.events_seen, sub.last_event_at
    missing: list[range] = []  # kept as ranges: a count far ahead must not become a list of every number
    if note.type == "handshake":
        seen = note.events_since_start or seen
    # In number order: a later event first would make an earlier one look processed before.
    for ev in sorted(note.events, key=lambda e: (e.number is None, e.number or 0)):
        if ev.number is not None and ev.number <= seen:
            report.events.append({"number": ev.number, "state": "duplicate", "detail": "processed before"})
            continue
        if ev.number is not None and ev.number > seen + 1:
            missing.append(range(seen + 1, ev.number))
        if not ev.focus:
            report.events.append({"number": ev.number, "state": "ignored", "detail": "no focus"})
            seen = max(seen, ev.number or seen)  # seen, though there is nothing to take
            continue
        target = local_ref(ev.focus) or ev.focus
        encounter = ev.resource or read(target)
        patient = _patient(read, ehr, encounter, note.included, engine)
        control = f"sub:{note.subscription}#{ev.number if ev.number is not None else target}"
        event = encounter_event(encounter, patient, "notification", control)
        report.events.append({"number": ev.number} | _take(engine, ehr, event, body, clock, demographics))
        seen = max(seen, ev.number or seen)
        last = now
    if (
        note.type in ("heartbeat", "event-notification", "query-status")
        and (note.events_since_start or 0) > seen
    ):
        missing.append(range(seen + 1, (note.events_since_start or 0) + 1))
    if missing:
        # From the last event seen before this notification: the missing ones came after it, and before
        # the events this notification carries.
        since = sub.last_event_at or stamp(clock() - timedelta(days=1))
        recovered = recover(engine, ehr, read, since, clock, demographics)
        report.gap = {"missing": list(islice(chain(*missing), 100)), "since": since, "recovered": recovered}
        seen = max(seen, note.events_since_start or 0, *(r[-1] for r in missing))
        last = now
    with writing(engine) as conn:
        inbound_store.save_subscription(
            conn,
            ehr.org_id,
            ehr.id,
            replace(
                sub, topic=note.topic or sub.topic, status=note.status, events_seen=seen, last_event_at=last
            ),
            now,
        )
    return report
