"""A Subscriptions-backport notification (R4 history Bundle, the SubscriptionStatus Parameters first): its
type, the subscription, the event count and each notification event with its focus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir_adapter.domain.events import ContentError
from fhir_adapter.events.fhir_events import JSON, local_ref, objects, reference, resolve

NOTIFICATION_TYPES = ("handshake", "heartbeat", "event-notification", "query-status", "query-event")
SUBSCRIPTION_STATUSES = ("requested", "active", "error", "off", "entered-in-error")
MAX_COUNT = 2**31 - 1  # event numbers and counts as stored
MAX_REF = 400  # a subscription or topic as stored


@dataclass(frozen=True)
class NotificationEvent:
    number: int | None
    focus: str | None  # a reference: Encounter/123 or a full URL
    resource: JSON | None  # present in full-resource notifications


@dataclass(frozen=True)
class Notification:
    subscription: str
    topic: str | None
    status: str
    type: str
    events_since_start: int | None
    events: list[NotificationEvent]
    included: dict[str, JSON]  # full-resource content by fullUrl and by Type/id


def _value(param: JSON) -> Any:
    for key, value in param.items():
        if key.startswith("value"):
            return value
    return None


def _number(value: Any, where: str) -> int | None:
    if value is None:
        return None
    try:
        number = int(str(value))
    except ValueError as err:
        raise ContentError(f"{where} is not a whole number: {str(value)[:20]!r}", where) from err
    if number < 0:
        raise ContentError(f"{where} is negative", where)
    if number > MAX_COUNT:
        raise ContentError(f"{where} is beyond {MAX_COUNT}", where)
    return number


def _text(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_REF:
        raise ContentError(f"{where} is not a text of at most {MAX_REF} characters", where)
    return value


def _status(bundle: Any) -> tuple[JSON, list[JSON]]:
    """The SubscriptionStatus Parameters and the entries after it."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise ContentError("a notification is a Bundle", "resourceType")
    if bundle.get("type") != "history":
        raise ContentError("a notification Bundle in R4 has type history", "Bundle.type")
    entries = objects(bundle, "entry", "Bundle.entry")
    status = (entries[0].get("resource") if entries else None) or {}
    if not isinstance(status, dict) or status.get("resourceType") != "Parameters":
        raise ContentError("the first entry must be the SubscriptionStatus Parameters", "Bundle.entry[0]")
    return status, entries[1:]


def _event(param: JSON) -> NotificationEvent:
    parts = {q.get("name"): _value(q) for q in objects(param, "part", "notification-event.part")}
    focus = reference(parts.get("focus"))
    if parts.get("focus") is not None and focus is None:
        raise ContentError("the focus is not a literal reference", "notification-event.focus")
    number = _number(parts.get("event-number"), "notification-event.event-number")
    return NotificationEvent(number, focus, None)


def _included(entries: list[JSON]) -> dict[str, JSON]:
    """Full-resource content by its fullUrl and by Type/id."""
    included: dict[str, JSON] = {}
    for e in entries:
        res = e.get("resource")
        if isinstance(res, dict) and res.get("resourceType"):
            if e.get("fullUrl"):
                included[str(e["fullUrl"])] = res
            included[f"{res['resourceType']}/{res.get('id')}"] = res
    return included


def _with_content(events: list[NotificationEvent], included: dict[str, JSON]) -> list[NotificationEvent]:
    """Each event with its focus's content when the Bundle carries it; else its focus must be one we can
    read: an Encounter."""
    out = [NotificationEvent(ev.number, ev.focus, resolve(ev.focus, included)) for ev in events]
    for ev in out:
        target = local_ref(ev.focus)
        if ev.focus and ev.resource is None and (target is None or not target.startswith("Encounter/")):
            raise ContentError(
                "an id-only focus must reference an Encounter (Encounter/<id>)", "notification-event.focus"
            )
    return out


def notification(bundle: Any) -> Notification:
    """Read a notification Bundle; ContentError names what is wrong."""
    status, rest = _status(bundle)
    params: dict[str, Any] = {}
    events: list[NotificationEvent] = []
    for p in objects(status, "parameter", "Parameters.parameter"):
        if p.get("name") == "notification-event":
            events.append(_event(p))
        else:
            params[str(p.get("name"))] = _value(p)
    kind = params.get("type")
    if not isinstance(kind, str) or kind not in NOTIFICATION_TYPES:
        raise ContentError(f"type must be one of {', '.join(NOTIFICATION_TYPES)}", "Parameters.type")
    subscription = _text(reference(params.get("subscription")), "Parameters.subscription")
    if not subscription:
        raise ContentError("the subscription reference is missing", "Parameters.subscription")
    status_code = params.get("status") or "active"
    if status_code not in SUBSCRIPTION_STATUSES:
        raise ContentError(f"status must be one of {', '.join(SUBSCRIPTION_STATUSES)}", "Parameters.status")
    included = _included(rest)
    return Notification(
        subscription,
        _text(params.get("topic"), "Parameters.topic"),
        str(status_code),
        kind,
        _number(params.get("events-since-subscription-start"), "events-since-subscription-start"),
        _with_content(events, included),
        included,
    )
