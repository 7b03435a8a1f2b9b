"""How the workspace says things to people: times in the organisation's zone, a client's names, kinds of
record and delivery states in words, and what an EHR's refusal means."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort

WORDS = {
    "CarePlan": ("service plan", "service plans"),
    "Goal": ("goal", "goals"),
    "QuestionnaireResponse": ("assessment", "assessments"),
    "ServiceRequest": ("referral", "referrals"),
    "Task": ("referral task", "referral tasks"),
    "Observation": ("observation", "observations"),
    "EpisodeOfCare": ("case episode", "case episodes"),
    "CareTeam": ("care team", "care teams"),
    "DocumentReference": ("document", "documents"),
    "Appointment": ("appointment", "appointments"),
    "Provenance": ("provenance", "provenances"),
}
REASONS = {
    "http_400": "the EHR could not read what we sent",
    "http_401": "the EHR did not accept our credentials",
    "http_403": "the EHR does not let us write this",
    "http_404": "the EHR does not know where to put this",
    "http_405": "the EHR does not take this kind of record",
    "http_410": "the EHR no longer has what this refers to",
    "http_422": "the EHR found what we sent invalid",
    "timeout": "the EHR did not answer in time",
    "connection": "the EHR could not be reached",
    "unauthorized": "the EHR did not accept our credentials",
    "token_refused": "the EHR's sign-in service refused us",
    "conflict_409": "the EHR kept reporting a conflicting change",
    "conflict_412": "the record kept changing in the EHR while we wrote it",
}


def local(stamp: str | None, zone: str, with_date: bool = True) -> str:
    """A stored UTC instant as a person reads it in `zone`: 6 Dec 2026, 09:30 KST."""
    if not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    except ValueError:
        return stamp
    shown = moment.strftime("%-d %b %Y, %H:%M" if with_date else "%H:%M")
    return f"{shown} {moment.tzname()}"


def period(start: str | None, end: str | None, zone: str, today: date) -> tuple[date, date]:
    """The days asked for (?from=&to=, both YYYY-MM-DD, inclusive); yesterday and today by default."""
    try:
        first = date.fromisoformat(start) if start else today - timedelta(days=1)
        last = date.fromisoformat(end) if end else today
    except ValueError:
        abort(400, "Give the days as YYYY-MM-DD.")
    if not (first.year >= 1900 and last.year <= 2999):
        abort(400, "Give days between the years 1900 and 2999.")
    if last < first or (last - first).days > 92:
        abort(400, "The last day must not be before the first, and at most 92 days after it.")
    return first, last


def utc_bounds(first: date, last: date, zone: str) -> tuple[str, str]:
    """The stored instants that open and close the days (their midnights in `zone`)."""
    tz = ZoneInfo(zone)

    def at(day: date) -> str:
        return datetime.combine(day, time(), tz).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    return at(first), at(last + timedelta(days=1))


def names(client: dict[str, Any]) -> list[str]:
    """Every name of a client as written, in every script it has: the official first."""
    out = []
    for name in client.get("names") or []:
        text = name.get("text") or " ".join([*name.get("given", []), name.get("family") or ""]).strip()
        if text and text not in out:
            out.append(text)
    return out or [client.get("id", "")]


def mrns(client: dict[str, Any]) -> list[tuple[str, str]]:
    """(the assigning hospital or system, the number) of each medical record number the client has."""
    found = [i for i in client.get("identifiers") or [] if i.get("type") in (None, "MR")]
    return [(i.get("assigner") or i.get("system") or "", i.get("value", "")) for i in found]


def what(resources: list[str]) -> str:
    """A job's resources counted in words: 1 service plan, 3 goals, 2 assessments."""
    counts = Counter(r.split("/", 1)[0] for r in resources)
    parts = []
    for rtype, n in counts.items():
        one, many = WORDS.get(rtype, (rtype, rtype))
        parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts) or "nothing"


def refusal(reason: str | None, status: int | None = None) -> str:
    """Why a delivery failed, in words."""
    if not reason:
        return "no reason was recorded"
    if reason in REASONS:
        return REASONS[reason]
    if reason.startswith("http_5"):
        return f"the EHR had a fault of its own (HTTP {reason[5:]})"
    return reason.replace("_", " ")


def ehr_said(detail: Any) -> str:
    """What the EHR said, from its OperationOutcome or message."""
    if isinstance(detail, dict) and detail.get("resourceType") == "OperationOutcome":
        texts = [
            i.get("diagnostics") or (i.get("details") or {}).get("text") for i in detail.get("issue", [])
        ]
        return "; ".join(t for t in texts if t)[:600]
    if isinstance(detail, dict):
        return str(detail.get("detail") or detail.get("message") or "")[:600]
    return str(detail or "")[:600]


def agreement(patient: Any, client: dict[str, Any]) -> list[tuple[str, bool]]:
    """What the message says about the patient beside what the client's record says: (fact, the same?)."""
    out = []
    if patient.birth_date:
        out.append(("birth date", patient.birth_date == client.get("birth_date")))
    if patient.gender:
        out.append(("sex", patient.gender == client.get("gender")))
    if patient.family:
        families = {(n.get("family") or "").casefold() for n in client.get("names") or []}
        out.append(("family name", patient.family.casefold() in families))
    if patient.mrn:
        out.append(("MRN", any(i.get("value") == patient.mrn for i in client.get("identifiers") or [])))
    return out
