"""Hypothesis strategies: valid case files as the contract's JSON, and bad input built from them.

Everything here produces plain JSON (dicts, lists, str, int, float, bool), so the tests feed it through
`load_case_file` exactly like a request body. Assessments draw their items from the real questionnaires
of the catalogue (mappings/questionnaires), with an answer of the type each item takes.

`case_files()` draws every case file the contract accepts, within small sizes: text in any script with
leading, trailing and inner white space (space, tab, newline), codes and URIs with non-ASCII characters,
dates from 0001 to 9999 at every precision, times in every zone from -14:00 to +14:00,
periods with only a start or only an end, items with no answers, an `other` service coding with or
without a display, and a referral's time stamps (full date-times, 1900-2999) in any zone, status_changed_at
at or after authored_on as `compare` (FHIRPath's ordering) puts it. What the contract refuses (blank or loosely spaced text,
impossible dates, empty periods and addresses, versions beyond 2**31-1, a plan starting in 9999 with no
next_review, ...) is left to explicit tests.

The bad input: arbitrary JSON, case files and Bundles changed by `mutations`, and FHIR-shaped resources
and Bundles as an EHR might send them, with Codings without a code and contained resources whose
resourceType is missing, of the wrong JSON type or no FHIR type.
"""

from __future__ import annotations

import calendar
import copy
import string
from datetime import date
from typing import Any

from hypothesis import strategies as st

from fhir_adapter.domain import vocabulary as v
from fhir_adapter.domain.dates import compare
from fhir_adapter.mapping.catalogue import ItemDef, QuestionnaireDef
from fhir_adapter.mapping.loader import load_catalogue

JSON = dict[str, Any]
CATALOGUE = load_catalogue()
QUESTIONNAIRES: tuple[QuestionnaireDef, ...] = tuple(CATALOGUE.questionnaires.values())
MAX = 3  # list sizes stay small so the suite runs fast


def coin(draw: st.DrawFn) -> bool:
    return bool(draw(st.booleans()))


def optional(d: JSON, draw: st.DrawFn, key: str, strategy: st.SearchStrategy[Any]) -> None:
    """Sets d[key] about half the time, so absent and present fields are both drawn."""
    if draw(st.booleans()):
        d[key] = draw(strategy)


# -- text ---------------------------------------------------------------------------------------------

# White space as Python's \s has it (what the contract's patterns use): a FHIR string may hold only
# space, tab and newlines of it, a FHIR code none.
WHITE_SPACE = "".join(c for c in map(chr, range(0x110000)) if c.isspace())
ODD_SPACE = "".join(c for c in WHITE_SPACE if c not in " \t\r\n")
CONTROL = "".join(chr(c) for c in [*range(0x20), 0x7F] if chr(c) not in "\t\r\n")
TEXT_CHARS = st.characters(codec="utf-8", exclude_characters=ODD_SPACE + CONTROL)
CODE_CHARS = st.characters(codec="utf-8", exclude_characters=WHITE_SPACE + CONTROL)

LATIN = st.characters(min_codepoint=0x41, max_codepoint=0x24F, categories=("Lu", "Ll"))
HANGUL = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
DEVANAGARI = st.characters(min_codepoint=0x0900, max_codepoint=0x097F, categories=("L", "M", "N", "P"))
SCRIPTS = (LATIN, HANGUL, DEVANAGARI)


def words(alphabet: st.SearchStrategy[str], max_words: int = 3) -> st.SearchStrategy[str]:
    word = st.text(alphabet, min_size=1, max_size=10)
    return st.lists(word, min_size=1, max_size=max_words).map(" ".join)


def script_words(max_words: int = 3) -> st.SearchStrategy[str]:
    """A name or phrase in Latin, Hangul or Devanagari script."""
    return st.one_of(*(words(a, max_words) for a in SCRIPTS))


def any_text(max_size: int = 20) -> st.SearchStrategy[str]:
    """What Text() accepts: a visible character, and no white space but space, tab or newline (anywhere)."""
    return st.text(TEXT_CHARS, min_size=1, max_size=max_size).filter(lambda s: not s.isspace())


def free_text() -> st.SearchStrategy[str]:
    return st.one_of(script_words(), any_text())


def ids() -> st.SearchStrategy[str]:
    """Record ids: RecordId(), a URL-safe alphabet; usually the shape a CMS gives."""
    shaped = st.from_regex(r"[A-Z]{2}-[0-9]{1,6}", fullmatch=True)
    shared = st.sampled_from(["CL-1", "EP-1", "SP-1", "RF-1", "1"])  # the same id in records of other kinds
    anything = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:@~+-]{0,20}", fullmatch=True)
    return st.one_of(shaped, shaped, shared, anything)


# Goal and activity ids; the shared ones make goals of two plans share an id.
RECORD_IDS = st.one_of(
    st.sampled_from(["G1", "G2", "A1"]), st.from_regex(r"[A-Za-z0-9\-.]{1,64}", fullmatch=True)
)


def code_text() -> st.SearchStrategy[str]:
    """A FHIR code: words of anything but white space, single spaces between them."""
    shaped = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,10}( [A-Za-z0-9.\-]{1,5})?", fullmatch=True)
    word = st.text(CODE_CHARS, min_size=1, max_size=8)
    return st.one_of(shaped, st.lists(word, min_size=1, max_size=3).map(" ".join))


# -- dates ----------------------------------------------------------------------------------------------

EDGE_DAYS = (date.min, date(1, 1, 2), date(9999, 12, 30), date.max)  # 0001-01-01 and 9999-12-31: no year 0000


@st.composite
def days(draw: st.DrawFn) -> date:
    """Any day a FHIR date can name; the first and last ones often, where a time zone or a year added takes
    the value out of Python's range."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(EDGE_DAYS))
    return draw(st.dates(date.min, date.max))


ZONES = st.one_of(
    st.just("Z"),
    st.builds(
        lambda sign, h, m: f"{sign}{h:02d}:{m:02d}",
        st.sampled_from("+-"),
        st.integers(0, 13),
        st.integers(0, 59),
    ),
    st.sampled_from(("+14:00", "-14:00")),
)
# A time of day (seconds 00-59: the contract refuses leap seconds; up to nine decimals) with its zone.
TIMES = st.builds(
    lambda hh, mm, ss, frac, zone: f"T{hh:02d}:{mm:02d}:{ss:02d}{frac}{zone}",
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,9}", fullmatch=True)),
    ZONES,
)


@st.composite
def fhir_dates(draw: st.DrawFn, day: date | None = None) -> str:
    """A FHIR partial date: YYYY, YYYY-MM or YYYY-MM-DD (of `day`, if given)."""
    d = draw(days()) if day is None else day
    return d.isoformat()[: draw(st.sampled_from((4, 7, 10)))]


@st.composite
def fhir_date_times(draw: st.DrawFn, day: date | None = None) -> str:
    """A FHIR dateTime: a partial date, or a full date with time and zone (of `day`, if given)."""
    d = draw(days()) if day is None else day
    if coin(draw):
        return d.isoformat() + draw(TIMES)
    return draw(fhir_dates(d))


def days_near(value: str) -> st.SearchStrategy[date]:
    """Days `value` may overlap: in its year or month, or its day and the days either side."""
    year = int(value[:4])
    if len(value) == 4:
        return st.dates(date(year, 1, 1), date(year, 12, 31))
    if len(value) == 7:
        month = int(value[5:7])
        return st.dates(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))
    n = date.fromisoformat(value[:10]).toordinal()
    return st.dates(date.fromordinal(max(1, n - 1)), date.fromordinal(min(date.max.toordinal(), n + 1)))


@st.composite
def date_time_pairs(draw: st.DrawFn) -> tuple[str, str]:
    """Two dateTimes in no order: independent, or close (the same period or the next day, in other zones)."""
    a = draw(fhir_date_times())
    if coin(draw):
        return a, draw(fhir_date_times())
    return a, draw(fhir_date_times(draw(days_near(a))))


@st.composite
def periods(draw: st.DrawFn) -> JSON:
    """A start, an end or both; the end not before the start where `compare` can tell."""
    start, end = draw(date_time_pairs())
    if compare(start, end) == 1:
        start, end = end, start
    keep = draw(st.sampled_from(("start", "end", "both")))
    out: JSON = {}
    if keep in ("start", "both"):
        out["start"] = start
    if keep in ("end", "both"):
        out["end"] = end
    return out


STAMP_DAYS = st.dates(date(1900, 1, 1), date(2999, 12, 31))


@st.composite
def time_stamps(draw: st.DrawFn, near: str | None = None) -> str:
    """A referral time stamp: a full date-time with a zone, 1900-2999; on the day of `near` or next to it."""
    day = draw(STAMP_DAYS)
    if near is not None:
        shifted = date.fromisoformat(near[:10]).toordinal() + draw(st.integers(-1, 1))
        day = min(max(date.fromordinal(shifted), date(1900, 1, 1)), date(2999, 12, 31))
    return day.isoformat() + draw(TIMES)


@st.composite
def status_times(draw: st.DrawFn) -> tuple[str, str]:
    """authored_on and a status_changed_at at or after it: independent, or close together in other zones."""
    a = draw(time_stamps())
    b = draw(time_stamps()) if coin(draw) else draw(time_stamps(a))
    return (a, b) if compare(b, a) >= 0 else (b, a)


# -- small values ---------------------------------------------------------------------------------------

URIS = st.one_of(
    st.sampled_from(
        (
            "urn:oid:2.16.840.1.113883.19.5.7",
            "http://snomed.info/sct",
            "http://loinc.org",
            "https://hospital.example.org/mrn",
        )
    ),
    st.from_regex(r"https?://[a-z0-9]{1,10}\.example\.org(/[A-Za-z0-9._~-]{1,8}){0,2}", fullmatch=True),
    st.from_regex(r"urn:oid:[1-9](\.[0-9]{1,4}){1,6}", fullmatch=True),
    st.from_regex(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", fullmatch=True),
    # Anything the contract's pattern takes: any case, any URN namespace, non-ASCII characters.
    st.builds(
        lambda scheme, rest: scheme + rest,
        st.one_of(
            st.from_regex(r"[hH][tT][tT][pP][sS]?://", fullmatch=True),
            st.from_regex(r"[uU][rR][nN]:[a-zA-Z0-9][a-zA-Z0-9-]{0,8}:", fullmatch=True),
        ),
        st.text(
            st.characters(codec="utf-8", exclude_characters=WHITE_SPACE + CONTROL + "|"),
            min_size=1,
            max_size=15,
        ),
    ),
)


@st.composite
def codings(draw: st.DrawFn) -> JSON:
    out: JSON = {"code": draw(code_text())}
    optional(out, draw, "system", URIS)
    optional(out, draw, "display", free_text())
    return out


@st.composite
def people(draw: st.DrawFn) -> JSON:
    out: JSON = {"name": draw(free_text())}
    optional(out, draw, "id", ids())
    return out


@st.composite
def identifiers(draw: st.DrawFn) -> JSON:
    out: JSON = {"system": draw(URIS), "value": draw(free_text())}
    optional(
        out, draw, "type", st.sampled_from(["MR", "PI", "PT", "SS", "DL", "PPN", "MA", "MC", "AN", "XX"])
    )
    optional(out, draw, "assigner", free_text())
    return out


# -- client ---------------------------------------------------------------------------------------------

PHONES = st.from_regex(r"\+[1-9][0-9]{6,12}", fullmatch=True)


@st.composite
def names(draw: st.DrawFn) -> JSON:
    part = st.one_of(words(draw(st.sampled_from(SCRIPTS))), any_text())
    out: JSON = {}
    optional(out, draw, "text", part)
    optional(out, draw, "family", part)
    optional(out, draw, "given", st.lists(part, min_size=1, max_size=MAX))
    if not out:
        out["text"] = draw(part)
    optional(
        out,
        draw,
        "use",
        st.sampled_from(["usual", "official", "temp", "nickname", "anonymous", "old", "maiden"]),
    )
    return out


ADDRESS_PARTS = ("lines", "city", "district", "state", "postal_code", "country")


@st.composite
def addresses(draw: st.DrawFn) -> JSON:
    out: JSON = {}
    optional(out, draw, "lines", st.lists(free_text(), max_size=MAX))
    for key in ADDRESS_PARTS[1:]:
        optional(out, draw, key, free_text())
    if not any(out.get(k) for k in ADDRESS_PARTS):  # an address needs a part
        out[draw(st.sampled_from(ADDRESS_PARTS[1:]))] = draw(free_text())
    optional(out, draw, "use", st.sampled_from(["home", "work", "temp", "old", "billing"]))
    return out


@st.composite
def telecoms(draw: st.DrawFn) -> JSON:
    out: JSON = {
        "system": draw(st.sampled_from(["phone", "fax", "email", "pager", "url", "sms", "other"])),
        "value": draw(st.one_of(PHONES, free_text())),
    }
    optional(out, draw, "use", st.sampled_from(["home", "work", "temp", "old", "mobile"]))
    return out


@st.composite
def contacts(draw: st.DrawFn) -> JSON:
    out: JSON = {"relationship": draw(st.sampled_from(["C", "E", "F", "I", "N", "S", "U"]))}
    optional(out, draw, "name", names())
    optional(out, draw, "telecom", st.lists(telecoms(), max_size=2))
    optional(out, draw, "address", addresses())
    if not (out.get("name") or out.get("telecom") or out.get("address")):  # a contact needs details
        out["name"] = draw(names())
    return out


LANGUAGES = st.one_of(
    st.sampled_from(["ko", "ko-KR", "hi", "hi-IN", "en", "en-US", "es", "zh-Hans-CN"]),
    st.from_regex(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}", fullmatch=True),
)


@st.composite
def clients(draw: st.DrawFn) -> JSON:
    out: JSON = {"id": draw(ids()), "names": draw(st.lists(names(), min_size=1, max_size=MAX))}
    optional(out, draw, "identifiers", st.lists(identifiers(), max_size=MAX))
    optional(out, draw, "birth_date", fhir_dates())
    optional(out, draw, "gender", st.sampled_from(["male", "female", "other", "unknown"]))
    optional(out, draw, "language", LANGUAGES)
    optional(out, draw, "addresses", st.lists(addresses(), max_size=2))
    optional(out, draw, "telecom", st.lists(telecoms(), max_size=MAX))
    optional(out, draw, "contacts", st.lists(contacts(), max_size=2))
    return out


# -- episodes -------------------------------------------------------------------------------------------


@st.composite
def care_team_members(draw: st.DrawFn) -> JSON:
    out: JSON = {"role": draw(st.sampled_from(v.CARE_TEAM_ROLES)), "name": draw(free_text())}
    optional(out, draw, "organization", free_text())
    optional(out, draw, "phone", st.one_of(PHONES, free_text()))
    return out


@st.composite
def episodes(draw: st.DrawFn, client_id: str, episode_id: str) -> JSON:
    out: JSON = {"id": episode_id, "client_id": client_id, "case_type": draw(st.sampled_from(v.CASE_TYPES))}
    optional(out, draw, "status", st.sampled_from(v.EPISODE_STATUSES))
    optional(out, draw, "case_manager", people())
    optional(out, draw, "period", periods())
    optional(out, draw, "care_team", st.lists(care_team_members(), max_size=MAX))
    optional(out, draw, "sensitive", st.booleans())
    return out


# -- assessments ----------------------------------------------------------------------------------------


def answer_values(item: ItemDef) -> st.SearchStrategy[JSON]:
    """One answer of the type the item takes (choice: one of its options, or a coding none of them is)."""
    if item.type in ("string", "text"):
        return free_text().map(lambda s: {"text": s})
    if item.type == "boolean":
        return st.booleans().map(lambda b: {"boolean": b})
    if item.type == "integer":
        return st.integers(-(2**31), 2**31 - 1).map(lambda n: {"integer": n})
    if item.type == "decimal":
        finite = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**9), 10**9))
        return finite.map(lambda x: {"decimal": x})  # JSON 3 is a decimal 3.0 too
    if item.type == "date":
        return fhir_dates().map(lambda d: {"date": d})
    if item.type == "choice":
        taken = {(o.get("system"), o["code"]) for o in item.options}
        other = codings().filter(lambda c: (c.get("system"), c["code"]) not in taken)
        option = st.sampled_from([o["code"] for o in item.options]).map(lambda c: {"choice": c})
        return st.one_of(option, option, option, other.map(lambda c: {"coding": c}))
    raise AssertionError(f"no answer strategy for item type {item.type}")


@st.composite
def assessment_items(draw: st.DrawFn, q: QuestionnaireDef) -> list[JSON]:
    """Items of the questionnaire, each with up to as many answers as it takes, none included."""
    chosen = draw(st.lists(st.sampled_from(q.items), max_size=MAX, unique_by=lambda i: i.link_id))
    items = []
    for item in chosen:
        answers = draw(st.lists(answer_values(item), max_size=MAX if item.repeats else 1))
        out: JSON = {"link_id": item.link_id}
        if answers or coin(draw):
            out["answers"] = answers
        items.append(out)
    return items


@st.composite
def assessments(draw: st.DrawFn, client_id: str, assessment_id: str, episode_ids: list[str]) -> JSON:
    q = draw(st.sampled_from(QUESTIONNAIRES))
    out: JSON = {
        "id": assessment_id,
        "client_id": client_id,
        "kind": q.kind,
        "status": draw(st.sampled_from(v.ASSESSMENT_STATUSES)),
        "date": draw(fhir_date_times()),
    }
    optional(out, draw, "items", assessment_items(q))
    optional(out, draw, "episode_id", st.sampled_from(episode_ids) if episode_ids else ids())
    optional(out, draw, "author", people())
    optional(out, draw, "sensitive", st.booleans())
    return out


# -- service plans --------------------------------------------------------------------------------------


@st.composite
def goals(draw: st.DrawFn, goal_id: str) -> JSON:
    out: JSON = {"id": goal_id, "description": draw(free_text())}
    optional(out, draw, "lifecycle_status", st.sampled_from(v.GOAL_LIFECYCLE))
    optional(out, draw, "achievement_status", st.sampled_from(v.GOAL_ACHIEVEMENT))
    if draw(st.booleans()):
        target: JSON = {"measure": draw(free_text())}
        optional(target, draw, "detail", free_text())
        out["target"] = target
    optional(out, draw, "start_date", fhir_dates())
    optional(out, draw, "due_date", fhir_dates())
    return out


@st.composite
def activities(draw: st.DrawFn, activity_id: str, goal_ids: list[str]) -> JSON:
    out: JSON = {
        "id": activity_id,
        "kind": draw(st.sampled_from(v.ACTIVITY_KINDS)),
        "status": draw(st.sampled_from(v.ACTIVITY_STATUSES)),
    }
    for key in ("description", "responsible", "schedule"):
        optional(out, draw, key, free_text())
    optional(out, draw, "period", periods())
    if goal_ids:
        optional(out, draw, "goal_ids", st.lists(st.sampled_from(goal_ids), max_size=MAX, unique=True))
    return out


@st.composite
def service_plans(draw: st.DrawFn, client_id: str, plan_id: str, episode_ids: list[str]) -> JSON:
    out: JSON = {
        "id": plan_id,
        "client_id": client_id,
        "plan_type": draw(st.sampled_from(v.PLAN_TYPES)),
        "status": draw(st.sampled_from(v.PLAN_STATUSES)),
        "period": draw(periods()),
    }
    start = out["period"].get("start", "")
    if start.startswith("9999") and len(start) >= 10:  # no default review a year later: it must be given
        out["next_review"] = draw(fhir_dates())
    else:
        optional(out, draw, "next_review", fhir_dates())
    optional(out, draw, "version", st.integers(1, 2**31 - 1))
    optional(out, draw, "title", free_text())
    optional(out, draw, "episode_id", st.sampled_from(episode_ids) if episode_ids else ids())
    optional(out, draw, "author", people())
    goal_ids = draw(st.lists(RECORD_IDS, max_size=MAX, unique=True))
    if goal_ids or coin(draw):
        out["goals"] = [draw(goals(g)) for g in goal_ids]
    activity_ids = draw(st.lists(RECORD_IDS, max_size=MAX, unique=True))
    if activity_ids or coin(draw):
        out["activities"] = [draw(activities(a, goal_ids)) for a in activity_ids]
    optional(out, draw, "sensitive", st.booleans())
    return out


# -- referrals ------------------------------------------------------------------------------------------


@st.composite
def referral_reasons(draw: st.DrawFn, plan_goals: list[tuple[str, str]]) -> JSON:
    out: JSON = {}
    if plan_goals and coin(draw):
        out["plan_id"], out["goal_id"] = draw(st.sampled_from(plan_goals))
    optional(out, draw, "problem", codings())
    optional(out, draw, "text", free_text())
    if not out:
        out["text"] = draw(free_text())
    return out


@st.composite
def referrals(
    draw: st.DrawFn,
    client_id: str,
    referral_id: str,
    episode_ids: list[str],
    plan_goals: list[tuple[str, str]],
) -> JSON:
    status = draw(st.sampled_from(v.REFERRAL_STATUSES))
    service_type = draw(st.sampled_from(v.SERVICE_TYPES))
    out: JSON = {"id": referral_id, "client_id": client_id, "service_type": service_type, "status": status}
    if draw(st.booleans()):
        out["authored_on"], out["status_changed_at"] = draw(status_times())
    else:
        out["authored_on"] = draw(time_stamps())
    optional(out, draw, "priority", st.sampled_from(v.PRIORITIES))
    if service_type == "other":
        out["service_coding"] = draw(codings())
    optional(out, draw, "reason", referral_reasons(plan_goals))
    if draw(st.booleans()):
        target: JSON = {"name": draw(free_text())}
        optional(target, draw, "identifier", identifiers())
        out["target"] = target
    if status in ("declined", "cancelled"):
        out["status_reason"] = draw(free_text())
    else:
        optional(out, draw, "status_reason", free_text())
    optional(out, draw, "outcome", free_text())
    optional(out, draw, "period", periods())
    optional(out, draw, "episode_id", st.sampled_from(episode_ids) if episode_ids else ids())
    optional(out, draw, "requester", people())
    optional(out, draw, "note", free_text())
    optional(out, draw, "sensitive", st.booleans())
    return out


# -- case files -----------------------------------------------------------------------------------------


@st.composite
def case_files(draw: st.DrawFn) -> JSON:
    """A valid case file, as the contract's JSON."""
    client = draw(clients())
    cid = client["id"]
    out: JSON = {"client": client}

    def unique_ids() -> list[str]:
        return draw(st.lists(ids(), max_size=MAX, unique=True))

    episode_ids = unique_ids()
    if episode_ids or coin(draw):
        out["episodes"] = [draw(episodes(cid, e)) for e in episode_ids]
    assessment_ids = unique_ids()
    if assessment_ids or coin(draw):
        out["assessments"] = [draw(assessments(cid, a, episode_ids)) for a in assessment_ids]
    plan_ids = unique_ids()
    if plan_ids or coin(draw):
        out["service_plans"] = [draw(service_plans(cid, p, episode_ids)) for p in plan_ids]
    plan_goals = [(p["id"], g["id"]) for p in out.get("service_plans", ()) for g in p.get("goals", ())]
    referral_ids = unique_ids()
    if referral_ids or coin(draw):
        out["referrals"] = [draw(referrals(cid, r, episode_ids, plan_goals)) for r in referral_ids]
    return out


# -- bad input ------------------------------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=10),
)
ARBITRARY_JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.one_of(
    st.sampled_from(["client", "episodes", "id", "resourceType", "entry", "resource", "answers", "value"]),
    st.text(string.ascii_letters + "_", min_size=1, max_size=8),
)
ARBITRARY_OBJECTS = st.dictionaries(KEYS, ARBITRARY_JSON, max_size=5)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON tree: dict keys and list indexes."""
    found = []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in children:
        found.append((*path, key))
        found += _paths(value, (*path, key))
    return found


def _containers(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every dict in a JSON tree, by path."""
    found = [path] if isinstance(node, dict) else []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in children:
        found += _containers(value, (*path, key))
    return found


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


# A value of another JSON type for each type: what "retype" puts in when its drawn value has the same type.
OTHER_TYPE: dict[type, Any] = {
    str: 0,
    bool: "true",
    int: "1",
    float: "1.5",
    list: {},
    dict: [],
    type(None): "",
}

Mutation = tuple[str, int, str, Any]  # (how, where: an index into the places, a new key, a new value)
HOWS = ("delete", "retype", "add", "replace", "uncode")


def mutations(hows: tuple[str, ...] = HOWS) -> st.SearchStrategy[list[Mutation]]:
    """One to three changes, as data; `apply_mutations` makes them to a document."""
    one = st.tuples(
        st.sampled_from(hows),
        st.integers(0, 10**6),
        st.text(string.ascii_lowercase + "_", min_size=1, max_size=10),
        ARBITRARY_JSON,
    )
    return st.lists(one, min_size=1, max_size=3)


def apply_mutations(doc: Any, changes: list[Mutation]) -> Any:
    """Changes `doc` in place and returns it: a field deleted, a value of the wrong type or out of range, an
    unknown field added, or ("uncode") every Coding without its code, which is still valid FHIR."""
    for how, where, key, value in changes:
        places = _paths(doc)
        if how == "uncode":  # a Coding's code is a string; the "code" of a resource is a CodeableConcept
            for path in [p for p in places if p[-1] == "code" and isinstance(_at(doc, p), str)]:
                del _at(doc, path[:-1])["code"]
            continue
        if how == "add" or not places:
            containers = _containers(doc)
            if containers:
                _at(doc, containers[where % len(containers)])[key] = copy.deepcopy(value)
            continue
        path = places[where % len(places)]
        parent, last = _at(doc, path[:-1]), path[-1]
        if how == "delete":
            del parent[last]
        elif how == "retype":
            old = parent[last]
            parent[last] = copy.deepcopy(value) if type(value) is not type(old) else OTHER_TYPE[type(old)]
        else:
            parent[last] = copy.deepcopy(value)
    return doc


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[Any], hows: tuple[str, ...] = HOWS) -> Any:
    """A document drawn from `base`, changed by `mutations`."""
    return apply_mutations(draw(base), draw(mutations(hows)))


# -- FHIR-shaped input, as an EHR might send it -----------------------------------------------------------

RECEIVED_TYPES = (
    "Patient",
    "EpisodeOfCare",
    "CareTeam",
    "QuestionnaireResponse",
    "CarePlan",
    "Goal",
    "ServiceRequest",
    "Task",
    "Observation",
    "Questionnaire",
)
ELEMENTS = (
    "id",
    "meta",
    "security",
    "extension",
    "url",
    "identifier",
    "system",
    "value",
    "use",
    "type",
    "coding",
    "code",
    "display",
    "text",
    "status",
    "intent",
    "name",
    "family",
    "given",
    "telecom",
    "gender",
    "birthDate",
    "address",
    "contact",
    "relationship",
    "communication",
    "language",
    "preferred",
    "patient",
    "subject",
    "for",
    "focus",
    "period",
    "start",
    "end",
    "careManager",
    "team",
    "participant",
    "member",
    "role",
    "contained",
    "questionnaire",
    "authored",
    "author",
    "item",
    "linkId",
    "answer",
    "valueString",
    "valueCoding",
    "valueInteger",
    "valueBoolean",
    "valueReference",
    "reference",
    "goal",
    "activity",
    "detail",
    "lifecycleStatus",
    "description",
    "target",
    "measure",
    "category",
    "priority",
    "authoredOn",
    "lastModified",
    "statusReason",
    "output",
    "performer",
    "owner",
    "reasonCode",
    "note",
    "resourceType",
)
# A Coding, half the time without a code (valid FHIR: from_fhir reports it), and CodeableConcepts of them.
FHIR_CODINGS = st.fixed_dictionaries(
    {},
    optional={
        "system": st.sampled_from(["http://loinc.org", "http://snomed.info/sct", "urn:oid:1.2.3"]),
        "code": st.sampled_from(["LA33-6", "active", "71802-3", "C"]),
        "display": st.sampled_from(["Yes", "Housing status", "표시"]),
        "userSelected": st.booleans(),
    },
)
FHIR_CONCEPTS = st.fixed_dictionaries(
    {}, optional={"coding": st.lists(FHIR_CODINGS, min_size=1, max_size=2), "text": st.just("text")}
)
FHIR_SCALARS = st.one_of(
    SCALARS,
    st.sampled_from(
        ["active", "completed", "order", "plan", "2024-03-05", "urn:uuid:x", "Patient/1", "#member-1"]
    ),
    st.sampled_from((*RECEIVED_TYPES, "Practitioner", "Organization", "NoSuchType")),
)
FHIR_SHAPED = st.recursive(
    st.one_of(FHIR_SCALARS, FHIR_CODINGS, FHIR_CONCEPTS),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(ELEMENTS), inner, max_size=4)
    ),
    max_leaves=15,
)
BODIES = st.dictionaries(st.sampled_from(ELEMENTS), FHIR_SHAPED, max_size=6)
# What stands where a resourceType should: no FHIR type, not a string, or (in `nested_resources`) nothing.
BAD_RESOURCE_TYPES = st.one_of(
    st.sampled_from(["NoSuchType", "", "patient", " Patient", "Resource", "DomainResource"]),
    st.integers(),
    st.none(),
    st.booleans(),
    st.lists(st.sampled_from(RECEIVED_TYPES), max_size=2),
    st.fixed_dictionaries({"value": st.just("Patient")}),
)
MISSING = object()  # stands for a member left out


def nested_resources() -> st.SearchStrategy[Any]:
    """What an EHR puts in `contained` or an entry: resources of our types or others, and ones whose
    resourceType is missing, no string or no FHIR type; now and then no object at all."""
    rtype = st.one_of(
        st.sampled_from((*RECEIVED_TYPES, "Practitioner", "Organization")),
        BAD_RESOURCE_TYPES,
        st.just(MISSING),
    )
    resource = st.builds(
        lambda t, body: (
            {k: x for k, x in body.items() if k != "resourceType"}
            if t is MISSING
            else {**body, "resourceType": t}
        ),
        rtype,
        BODIES,
    )
    return st.one_of(resource, resource, resource, FHIR_SCALARS)


def fhir_shaped_resources() -> st.SearchStrategy[JSON]:
    """Objects with a resourceType we read and elements of the names FHIR uses, holding anything: Codings
    without a code, contained resources with a bad or missing resourceType."""
    extra = st.fixed_dictionaries(
        {},
        optional={
            "contained": st.lists(nested_resources(), min_size=1, max_size=2),
            "valueCoding": FHIR_CODINGS,
            "category": st.lists(FHIR_CONCEPTS, min_size=1, max_size=2),
            "code": FHIR_CONCEPTS,
        },
    )
    return st.builds(
        lambda rtype, body, more: {**body, **more, "resourceType": rtype},
        st.sampled_from(RECEIVED_TYPES),
        BODIES,
        extra,
    )


def received_bundles() -> st.SearchStrategy[JSON]:
    """A Bundle an EHR might send back (any type), holding FHIR-shaped resources and some that are not, with
    or without a fullUrl (now and then one that is no string)."""
    entry = st.builds(
        lambda resource, url: (
            {"resource": resource} if url is MISSING else {"fullUrl": url, "resource": resource}
        ),
        st.one_of(fhir_shaped_resources(), fhir_shaped_resources(), nested_resources()),
        st.one_of(
            st.just(MISSING),
            st.sampled_from(["urn:uuid:x", "urn:uuid:y", "Patient/1"]),
            st.one_of(FHIR_SCALARS, st.lists(st.just("urn:uuid:x"), min_size=1, max_size=1)),
        ),
    )
    return st.builds(
        lambda kind, entries: {"resourceType": "Bundle", "type": kind, "entry": entries},
        st.sampled_from(["collection", "searchset", "transaction", "batch-response", "message"]),
        st.lists(entry, max_size=3),
    )
