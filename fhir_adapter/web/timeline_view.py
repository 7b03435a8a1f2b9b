"""A client's timeline as a person reads it: what was sent to which EHR and whether it arrived (or why
not), what the hospital sent us, and what came back at discharge."""

from __future__ import annotations

from typing import Any

from fhir_adapter.web.present import WORDS, refusal, what

JSON = dict[str, Any]
EVENTS = {
    "admit": "Admission",
    "register": "Registration",
    "update": "Update of the visit",
    "discharge": "Discharge",
    "cancel-admit": "Admission cancelled",
    "cancel-discharge": "Discharge cancelled",
    "merge": "Patient records merged",
}
MESSAGE_STATES = {
    "applied": "acted on",
    "needs_match": "waiting for a person to say who it is about",
    "reported": "needs a person's attention",
    "ignored": "nothing to do",
    "rejected": "could not be read",
    "dismissed": "dismissed",
    "received": "received, not yet acted on",
}


def rows(entries: list[JSON]) -> list[JSON]:
    """Each timeline entry as {at, group, title, outcome, time, state, detail}; the group says whether we sent
    it (sent), asked the EHR for the discharge (asked), or the EHR sent it (received) or gave it back (back)."""
    return [_job(e) if "job" in e else _message(e) for e in entries]


def _job(e: JSON) -> JSON:
    ehr, state, reason = e["ehr"], e["state"], e.get("reason")
    if e["what"] == "read back":
        title, done = f"Asked {ehr} what it holds for the discharge", f"read from {ehr}"
    elif e["what"] == "retracted":
        title, done = f"Taking back {what(e.get('resources', []))}", f"taken back from {ehr}"
    else:
        title, done = f"Sent {what(e.get('resources', []))}", f"arrived in {ehr}"
    outcomes = {
        "delivered": (done, e.get("finished_at")),
        "pending": (f"waiting to go to {ehr}" + (f" (last try: {refusal(reason)})" if reason else ""), None),
        "leased": (f"being sent to {ehr} now", None),
        "dead": (f"not delivered to {ehr}: {refusal(reason)}", e.get("finished_at")),
        "withheld": (f"held back: {ehr}'s policy does not allow it", None),
        "replayed": (f"failed, then queued again: {refusal(reason)}", None),
        "withdrawn": ("withdrawn before it was sent" + (f": {reason}" if reason else ""), None),
    }
    outcome, time = outcomes.get(state, (state, None))
    return {
        "at": e["at"],
        "group": "asked" if e["what"] == "read back" else "sent",
        "title": title,
        "outcome": outcome,
        "time": time,
        "state": state,
        "detail": e.get("cause"),
    }


def _message(e: JSON) -> JSON:
    ehr, state = e["ehr"], e["state"]
    if e["what"] == "read back":
        rtype = str(e.get("event", "")).split(" ")[0]
        title = f"Came back from {ehr}: {WORDS.get(rtype, (rtype,))[0]}"
        group = "back"
    else:
        title = f"{EVENTS.get(e.get('kind', ''), 'Message')} ({e.get('event')}) from {ehr}"
        title += f", visit {e['visit']}" if e.get("visit") else ""
        group = "received"
    return {
        "at": e["at"],
        "group": group,
        "title": title,
        "outcome": MESSAGE_STATES.get(state, state),
        "time": None,
        "state": state,
        "detail": e.get("detail"),
    }
