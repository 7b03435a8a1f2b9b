"""Subscriptions-backport notifications from an EHR: handshake and heartbeat answered, each notified
Encounter taken as an event (fetched from the EHR when the notification carries only its id), and a gap in
the event count recovered by asking the EHR what changed since the last event we saw."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import chain, islice
from typing import Any
from urllib.parse import urlencode

import orjson

from fhir_adapter.domain.events import ContentError, Event
from fhir_adapter.domain.inbound import Subscription
from fhir_adapter.domain.sync import Ehr
from fhir_adapter.events.fhir_events import encounter_event, local_ref, patient_of, subject_of
from fhir_adapter.events.subscriptions import Notification
from fhir_adapter.mapping.paging import pages
from fhir_adapter.service import intake
from fhir_adapter.service.context import Clock, stamp
from fhir_adapter.service.ports import Storage

JSON = dict[str, Any]
Read = Callable[[str], JSON]  # GET a path of the EHR's FHIR API: its JSON
RECOVERY_PAGES = 20
RECOVERY_PAGE_SIZE = 100
RECOVERY_WINDOW = timedelta(days=1)  # how far back a subscription never heard from is recovered
CLOCK_SKEW = timedelta(minutes=5)  # how far the EHR's clock may be behind ours


class Gone(Exception):
    """The EHR answered 404 or 410 for what a notification names."""

    def __init__(self, path: str, status: int) -> None:
        super().__init__(f"the EHR answered GET {path} with {status}: it has no such resource (any more)")
        self.path = path


@dataclass
class Report:
    subscription: str
    type: str
    events: list[JSON] = field(default_factory=list)
    gap: JSON | None = None
    restarted: bool = False  # a handshake that starts the event count again

    def to_json(self) -> JSON:
        out: JSON = {"subscription": self.subscription, "type": self.type, "events": self.events}
        return out | ({"gap": self.gap} if self.gap else {}) | ({"restarted": True} if self.restarted else {})


@dataclass(frozen=True)
class Feed:
    """One EHR's notifications: where they are stored and how the EHR is read."""

    storage: Storage
    ehr: Ehr
    read: Read
    clock: Clock
    demographics: bool
    fetched: dict[str, JSON | None] = field(default_factory=dict)  # EHR Patients read (None: linked already)

    def patient(self, encounter: JSON, included: dict[str, JSON]) -> Any:
        subject = subject_of(encounter)
        target = local_ref(subject)
        pid = target.split("/")[1] if target and target.startswith("Patient/") else None
        resource = (included.get(subject) or included.get(target or "")) if subject else None
        if resource is None and pid:
            if pid not in self.fetched:  # once per notification: a recovery may name one patient often
                with self.storage.reading() as work:
                    linked = work.ehrs.link_by_patient(self.ehr.org_id, self.ehr.id, pid)
                # an MRN is needed to match a patient never seen
                self.fetched[pid] = self.read(f"Patient/{pid}") if linked is None else None
            resource = self.fetched[pid]
        return patient_of(resource, pid, self.ehr.mrn_system)

    def take(self, event: Event, body: str) -> JSON:
        outcome = intake.receive(self.storage, self.ehr, event, body, self.clock, self.demographics)
        return {"state": outcome.state, "detail": outcome.detail, "inbound": outcome.seq}

    def gone(self, err: Gone, body: str) -> JSON:
        """An event whose resource the EHR does not have: kept as rejected, with the reason."""
        problem = ContentError(str(err), err.path.split("?")[0])
        outcome = intake.reject(self.storage, self.ehr, "notification", body, problem, self.clock)
        return {"state": outcome.state, "detail": str(err), "inbound": outcome.seq}


@dataclass
class Recovered:
    taken: list[JSON]
    complete: bool  # False: more pages than we read at once; `through` is where the next recovery starts
    through: str | None


def recover(feed: Feed, since: str) -> Recovered:
    """Every Encounter the EHR changed since `since`, oldest first, taken as events (each version once)."""
    taken: list[JSON] = []
    through, more, read = None, False, 0
    query = {"_lastUpdated": f"ge{since[:23]}Z", "_sort": "_lastUpdated", "_count": str(RECOVERY_PAGE_SIZE)}
    for bundle in pages(feed.read, "Encounter?" + urlencode(query), feed.ehr.base_url, RECOVERY_PAGES):
        read += len(bundle.get("entry", []))
        total = bundle.get("total")
        more = any(link.get("relation") == "next" for link in bundle.get("link", [])) or (
            isinstance(total, int) and total > read
        )
        for entry in bundle.get("entry", []):
            enc = entry.get("resource") or {}
            if enc.get("resourceType") != "Encounter":
                continue
            meta = enc.get("meta") or {}
            version = meta.get("versionId") or meta.get("lastUpdated") or ""
            through = max(through or "", meta.get("lastUpdated") or "") or through
            try:
                patient = feed.patient(enc, {})
            except Gone as err:
                taken.append({"encounter": enc.get("id")} | feed.gone(err, orjson.dumps(enc).decode()))
                continue
            event = encounter_event(enc, patient, "query", f"enc:{enc.get('id')}/{version}")
            taken.append({"encounter": enc.get("id")} | feed.take(event, ""))
    return Recovered(taken, not more or through is None, through)


def _instant(text: str | None, otherwise: str) -> datetime:
    """An instant the EHR wrote (`meta.lastUpdated`), or `otherwise` when it is not one."""
    try:
        return datetime.fromisoformat(text or otherwise)
    except ValueError:
        return datetime.fromisoformat(otherwise)


def _state(feed: Feed, note: Notification, report: Report) -> Subscription:
    """Our count of the subscription's events: a new subscription's handshake sets it; a handshake below it
    starts a new generation (the EHR counts again); one above it leaves a gap (a subscription re-activated
    after an error: the events in between are recovered)."""
    with feed.storage.reading() as work:
        known = work.messages.subscription(feed.ehr.org_id, feed.ehr.id, note.subscription)
    sub = known or Subscription(note.subscription, note.topic, note.status, 0, None)
    count = note.events_since_start  # a handshake need not carry it: then it says nothing of the count
    if note.type != "handshake" or count is None:
        return sub
    if known is None:
        return replace(sub, events_seen=count)
    if count < sub.events_seen:
        report.restarted = True
        return replace(sub, events_seen=count, generation=sub.generation + 1)
    return sub


def _events(
    feed: Feed, note: Notification, sub: Subscription, body: str, report: Report
) -> tuple[int, bool, list[range]]:
    """Take the notified events not seen before, in number order (a later event first would make an
    earlier one look processed), each one's fate in `report`. The count seen after them, whether any was
    taken, and the numbers skipped, as ranges (a count far ahead must not become a list of every number)."""
    seen, took, missing = sub.events_seen, False, []
    generation = f"~{sub.generation}" if sub.generation else ""
    for ev in sorted(note.events, key=lambda e: (e.number is None, e.number or 0)):
        if ev.number is not None and ev.number <= seen:
            report.events.append({"number": ev.number, "state": "duplicate", "detail": "processed before"})
            continue
        if ev.number is not None and ev.number > seen + 1:
            missing.append(range(seen + 1, ev.number))
        seen = max(seen, ev.number or seen)
        if not ev.focus:  # seen, though there is nothing to take
            report.events.append({"number": ev.number, "state": "ignored", "detail": "no focus"})
            continue
        target = local_ref(ev.focus) or ev.focus
        try:
            encounter = ev.resource or feed.read(target)
            patient = feed.patient(encounter, note.included)
        except Gone as err:  # nothing to take: kept with the reason, and counted as seen
            report.events.append({"number": ev.number} | feed.gone(err, body))
            continue
        control = f"sub:{note.subscription}{generation}#{ev.number if ev.number is not None else target}"
        event = encounter_event(encounter, patient, "notification", control)
        report.events.append({"number": ev.number} | feed.take(event, body))
        took = True
    counted = note.type in ("handshake", "heartbeat", "event-notification", "query-status")
    if counted and (note.events_since_start or 0) > seen:
        missing.append(range(seen + 1, (note.events_since_start or 0) + 1))
    return seen, took, missing


def receive(feed: Feed, note: Notification, body: str) -> Report:
    now = stamp(feed.clock())
    report = Report(note.subscription, note.type)
    sub = _state(feed, note, report)
    seen, took, missing = _events(feed, note, sub, body, report)
    last = now if took else sub.last_event_at
    if missing:
        # From the last event seen before this notification: the missing ones came after it, and before
        # the events this notification carries.
        # Earlier by a margin: the EHR's clock stamps `_lastUpdated`, ours the last event.
        start = (
            datetime.fromisoformat(sub.last_event_at) if sub.last_event_at else feed.clock() - RECOVERY_WINDOW
        )
        since = stamp(start - CLOCK_SKEW)
        recovered = recover(feed, since)
        report.gap = {
            "missing": list(islice(chain(*missing), 100)),
            "since": since,
            "recovered": recovered.taken,
            "complete": recovered.complete,
        }
        if recovered.complete:
            seen, last = max(seen, note.events_since_start or 0, *(r[-1] for r in missing)), now
        else:  # the gap stays open: the next notification goes on from the last Encounter read (a time
            # on the EHR's clock, so without the margin)
            seen = sub.events_seen
            last = stamp(_instant(recovered.through, since) + CLOCK_SKEW)
    sub = replace(
        sub, topic=note.topic or sub.topic, status=note.status, events_seen=seen, last_event_at=last
    )
    with feed.storage.writing() as work:
        work.messages.save_subscription(feed.ehr.org_id, feed.ehr.id, sub, now, report.restarted)
    return report
