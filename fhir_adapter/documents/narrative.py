"""A record's FHIR resources as one HTML page a person reads: who the client is (their names as written, in
their own script first), then each resource — the narrative it carries, or what it says, element by element.
Pure: the same resources make the same page, byte for byte."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

JSON = dict[str, Any]
FONTS_BEFORE_CJK = '"Noto Sans", "Noto Sans Devanagari"'
FONTS_AFTER_CJK = '"Noto Sans CJK KR", "Noto Sans KR", sans-serif'
FONTS = f"{FONTS_BEFORE_CJK}, {FONTS_AFTER_CJK}"
STYLE = (
    f"body {{ font-family: {FONTS}; font-size: 10.5pt; line-height: 1.45; margin: 0; }}"
    " h1 { font-size: 15pt; margin: 0 0 4pt; } h2 { font-size: 12pt; margin: 14pt 0 4pt; }"
    " .who { color: #333; margin-bottom: 10pt; } table { border-collapse: collapse; }"
    " td, th { text-align: left; vertical-align: top; padding: 2pt 8pt 2pt 0; }"
    " @page { size: A4; margin: 18mm; }"
)
HEADINGS = {
    "CarePlan": "Plan",
    "Goal": "Goal",
    "QuestionnaireResponse": "Assessment",
    "Observation": "Finding",
    "ServiceRequest": "Referral",
    "Task": "Referral status",
    "EpisodeOfCare": "Case episode",
    "CareTeam": "Care team",
}


def text_of(value: Any) -> str:
    """What a CodeableConcept, Coding, Reference, Quantity or primitive says, as one line."""
    if isinstance(value, dict):
        if value.get("text"):
            return str(value["text"])
        if value.get("display"):
            return str(value["display"])
        codings = value.get("coding") or []
        if codings:
            return ", ".join(text_of(c) for c in codings)
        if "value" in value:
            return " ".join(str(value[k]) for k in ("value", "unit") if k in value)
        if "code" in value:
            return str(value["code"])
        if value.get("identifier"):
            return text_of(value["identifier"])
        return ""
    if isinstance(value, list):
        return "; ".join(t for t in (text_of(v) for v in value) if t)
    return "" if value is None else str(value)


def client_names(patient: JSON | None) -> list[str]:
    """The client's names, official (in their own script) first."""
    names = (patient or {}).get("name") or []
    ordered = sorted(names, key=lambda n: 0 if n.get("use") == "official" else 1)
    out = []
    for name in ordered:
        line = name.get("text") or " ".join([*name.get("given", []), name.get("family", "")]).strip()
        if line and line not in out:
            out.append(line)
    return out


def language(patient: JSON | None) -> str:
    """The client's preferred language (BCP 47), for the page's lang: it picks the glyphs a font shapes."""
    for item in (patient or {}).get("communication") or []:
        for coding in item.get("language", {}).get("coding", []):
            if coding.get("code"):
                return str(coding["code"])
    return "en"


def _rows(pairs: Iterable[tuple[str, Any]]) -> str:
    cells = [(label, text_of(value)) for label, value in pairs]
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in cells if v)
    return f"<table>{body}</table>" if body else ""


def _answers(items: list[JSON]) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for item in items:
        answers = item.get("answer") or []
        values = [next((v for k, v in a.items() if k.startswith("value")), None) for a in answers]
        if values:
            pairs.append((item.get("text") or item.get("linkId", ""), values))
        for answer in answers:
            pairs += _answers(answer.get("item") or [])
        pairs += _answers(item.get("item") or [])
    return pairs


def _goal(resource: JSON) -> list[tuple[str, Any]]:
    targets = [
        " ".join(filter(None, [t.get("detailString"), t.get("dueDate")])) for t in resource.get("target", [])
    ]
    return [
        ("Goal", resource.get("description")),
        ("Status", resource.get("lifecycleStatus")),
        ("Achievement", resource.get("achievementStatus")),
        ("Target", targets),
        ("Start", resource.get("startDate")),
    ]


def _response(resource: JSON) -> list[tuple[str, Any]]:
    head = [
        ("Questionnaire", resource.get("questionnaire")),
        ("Status", resource.get("status")),
        ("Completed", resource.get("authored")),
        ("By", resource.get("author")),
    ]
    return head + _answers(resource.get("item") or [])


def _observation(resource: JSON) -> list[tuple[str, Any]]:
    value = next((v for k, v in resource.items() if k.startswith("value")), None)
    return [(text_of(resource.get("code")), value)]


OTHER = (
    "code",
    "status",
    "intent",
    "type",
    "reasonCode",
    "authoredOn",
    "requester",
    "performer",
    "owner",
    "businessStatus",
    "statusReason",
    "period",
    "careManager",
    "participant",
    "note",
)
FACTS = {"Goal": _goal, "QuestionnaireResponse": _response, "Observation": _observation}


def _facts(resource: JSON) -> str:
    """What a resource without a narrative of its own says."""
    facts = FACTS.get(str(resource.get("resourceType")))
    return _rows(facts(resource) if facts else [(k, resource.get(k)) for k in OTHER])


def section(resource: JSON) -> str:
    rtype = str(resource.get("resourceType", ""))
    heading = HEADINGS.get(rtype, rtype)
    div = (resource.get("text") or {}).get("div")
    body = div if isinstance(div, str) and div.startswith("<div") else _facts(resource)
    return f"<section><h2>{escape(heading)}</h2>{body}</section>"


def render(title: str, patient: JSON | None, resources: list[JSON], note: str) -> str:
    """The page: the title, the client, each resource in the order given, and a note on where it came from."""
    names = client_names(patient)
    who = escape(" · ".join(names) or "client")
    born = (patient or {}).get("birthDate")
    born_line = f" — born {escape(born)}" if born else ""
    body = "".join(section(r) for r in resources)
    return (
        f'<!DOCTYPE html><html lang="{escape(language(patient))}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="who">{who}{born_line}</p>{body}'
        f"<p><small>{escape(note)}</small></p></body></html>"
    )
