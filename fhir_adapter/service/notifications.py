"""Subscriptions-backport notifications from an EHR: handshake and heartbeat answered, each notified
Encounter taken as an event (fetched from the EHR when the notification carries only its id), and a gap in
the event count recovered by asking the EHR what changed since the last event we saw."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine

from fhir_adapter.adapters import ehr_store, inbound_store
from fhir_adapter.adapters.db import reading, writing
from fhir_adapter.adapters.ehr_store import Ehr
from fhir_adapter.adapters.inbound_store import Subscription
from fhir_adapter.events.fhir_events import Notification, encounter_event, patient_of
from fhir_adapter.events.model import Event
from fhir_adapter.service import intake
from fhir_adapter.service.context import Clock, stamp

JSON = dict[str, Any]
Read = Callable[[str], JSON]  # GET a path of the EHR's FHIR API: its JSON
RECOVERY_PAGES = 20


@dataclass
class Report:
    subscription: str
    type: str
    events: list[JSON] = field(default_factory=list)
    gap: JSON | None = None

    def to_json(self) -> JSON:
        out: JSON = {"subscription": self.subscription, "type": self.type, "events": self.events}
        return out | ({"gap": self.gap} if self.gap else {})


def _tail(ref: str) -> str:
    return "/".join(ref.rstrip("/").split("/")[-2:])


def _patient(read: Read, ehr: Ehr, encounter: JSON, included: dict[str, JSON], engine: Engine) -> Any:
    subject = (encounter.get("subject") or {}).get("reference") or ""
    pid = _tail(subject).split("/")[-1] if subject else None
    resource = included.get(subject) or included.get(_tail(subject)) if subject else None
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
    path: str | None = "Encounter?" + urlencode({"_lastUpdated": f"ge{since[:19]}Z", "_count": "100"})
    for _ in range(RECOVERY_PAGES):
        if path is None:
            break
        bundle = read(path)
        for entry in bundle.get("entry", []):
            enc = entry.get("resource") or {}
            if enc.get("resourceType") != "Encounter":
                continue
            version = (enc.get("meta") or {}).get("versionId", "")
            patient = _patient(read, ehr, enc, {}, engine)
            event = encounter_event(enc, patient, "query", f"enc:{enc.get('id')}/{version}")
            taken.append({"encounter": enc.get("id")} | _take(engine, ehr, event, "", clock, demographics))
        path = next((link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"), None)
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
    missing: list[int] = []
    if note.type == "handshake":
        seen = note.events_since_start or seen
    for ev in note.events:
        if ev.number is not None and ev.number <= seen:
            report.events.append({"number": ev.number, "state": "duplicate", "detail": "processed before"})
            continue
        if ev.number is not None and ev.number > seen + 1:
            missing += range(seen + 1, ev.number)
        if not ev.focus:
            report.events.append({"number": ev.number, "state": "ignored", "detail": "no focus"})
            continue
        encounter = ev.resource or read(_tail(ev.focus))
        patient = _patient(read, ehr, encounter, note.included, engine)
        control = f"sub:{note.subscription}#{ev.number if ev.number is not None else _tail(ev.focus)}"
        event = encounter_event(encounter, patient, "notification", control)
        report.events.append({"number": ev.number} | _take(engine, ehr, event, body, clock, demographics))
        seen = max(seen, ev.number or seen)
        last = now
    if (
        note.type in ("heartbeat", "event-notification", "query-status")
        and (note.events_since_start or 0) > seen
    ):
        missing += range(seen + 1, (note.events_since_start or 0) + 1)
    if missing:
        since = last or sub.last_event_at or stamp(clock() - timedelta(days=1))
        recovered = recover(engine, ehr, read, since, clock, demographics)
        report.gap = {"missing": missing[:100], "since": since, "recovered": recovered}
        seen = max(seen, note.events_since_start or 0, *missing)
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
