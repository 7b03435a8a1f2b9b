"""How the demo words what it finds: a resource in the EHR as a row, the timeline's entries, the client's
referrals and the state of the deliveries."""

from __future__ import annotations

from typing import Any


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def concept(value: Any) -> str:
    """A CodeableConcept's text, or its first coding's display."""
    if not isinstance(value, dict):
        return ""
    return str(value.get("text") or (value.get("coding") or [{}])[0].get("display", ""))


def resource_row(rtype: str, resource: dict[str, Any]) -> tuple[str, ...]:
    """Type, id, what it is and the Encounter it is linked to."""
    return (rtype, resource["id"], short(about(resource), 48), linked(resource))


def linked(resource: dict[str, Any]) -> str:
    encounter = resource.get("encounter")
    if not encounter:
        return "-" if resource["resourceType"] == "Goal" else "not linked"
    return str(encounter.get("reference") or encounter.get("display") or encounter)


def about(resource: dict[str, Any]) -> str:
    """A few words on what a resource the EHR holds is."""
    rtype = resource["resourceType"]
    if rtype == "CarePlan":
        return f'"{resource.get("title", "")}"'
    if rtype == "Goal":
        return str(resource.get("description", {}).get("text", ""))
    if rtype == "CareTeam":
        return f"{len(resource.get('participant', []))} members"
    if rtype == "QuestionnaireResponse":
        return str(resource.get("questionnaire", "")).rsplit("/", 1)[-1].split("|")[0]
    if rtype == "Observation":
        return concept(resource.get("code"))
    if rtype == "ServiceRequest":
        value = (resource.get("identifier") or [{}])[0].get("value", "")
        return f"{value}: {concept(resource.get('code'))}"
    if rtype == "Task":
        return f"status {resource.get('status', '?')}"
    return ""


def timeline_row(entry: dict[str, Any]) -> tuple[str, ...]:
    what = entry["what"]
    if "inbound" in entry:
        detail = entry.get("event") or entry.get("kind") or ""
        if entry.get("detail"):
            detail += f": {entry['detail']}"
    elif what == "read back":
        detail = f"job {entry['job']}: read from the EHR ({entry.get('cause', '')})"
    else:
        resources = entry.get("resources", [])
        detail = f"job {entry['job']}: {len(resources)} resources to the EHR ({entry.get('cause', '')})"
    return (entry["at"][:19].replace("T", " "), what, entry.get("state", ""), detail)


def referral_row(referral: dict[str, Any], new: bool) -> tuple[str, ...]:
    to = (referral.get("target") or {}).get("name", "")
    note = referral.get("note") or (referral.get("reason") or {}).get("text", "")
    what = referral["service_type"] + (f" to {to}" if to else "")
    mark = "new, from the hospital" if new else "ours"
    return (referral["id"], what, referral["status"], mark, short(note, 60))


def job_states(jobs: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job["state"]] = counts.get(job["state"], 0) + 1
    return "deliveries " + (", ".join(f"{n} {s}" for s, n in counts.items()) or "none yet")
