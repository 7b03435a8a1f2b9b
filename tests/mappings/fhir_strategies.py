"""Hypothesis strategies for FHIR R4 resources drawn from the R4 definitions (the fhir.resources R4B
models, element for element the same as R4 for the types we read).

Every element a model declares can be drawn: primitives by their FHIR type (code with its value set
when the model names one, string, uri, date, dateTime, time, integer, decimal, boolean), complex types and
backbone elements by their own model, recursively (three levels deep: deeper optional elements are left
out), choice elements ([x]) one at a time. Left out on purpose: `id`, `meta`, `text`, `contained`,
`language`, `implicitRules` (what a resource says about itself, not its content) and the extensions of
primitives (`_status`), which the mappings name as a whole. The patient is always `Patient/p1` and a
Task's focus `ServiceRequest/sr1`: what they name is the record's client and referral.
"""

from __future__ import annotations

import string
import types
import typing
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from hypothesis import strategies as st

JSON = dict[str, Any]
SKIPPED = frozenset({"id", "meta", "text", "contained", "language", "implicitRules", "fhir_comments"})
MAX_DEPTH = 3
FIXED = {
    "subject": {"reference": "Patient/p1"},
    "patient": {"reference": "Patient/p1"},
    "for": {"reference": "Patient/p1"},
    "focus": {"reference": "ServiceRequest/sr1"},
}

WORD = st.text(string.ascii_letters + string.digits, min_size=4, max_size=8)
TEXT = st.builds(lambda w, k: f"{w} {k}", WORD, st.sampled_from(["돌봄", "सेवा", "care", "plan"]))
CODE = st.from_regex(r"\A[a-z][a-z0-9-]{3,9}\Z")
URI = st.builds(lambda w: f"https://ehr.example.org/{w}", WORD)
DATE = st.builds(lambda m, d: f"2025-{m:02d}-{d:02d}", st.integers(1, 12), st.integers(1, 28))
DATETIME = st.builds(lambda d, h: f"{d}T{h:02d}:15:00+09:00", DATE, st.integers(0, 23))
TIME = st.builds(lambda h: f"{h:02d}:30:00", st.integers(0, 23))
PRIMITIVES: dict[str, st.SearchStrategy[Any]] = {
    "Code": CODE,
    "String": TEXT,
    "Markdown": TEXT,
    "Uri": URI,
    "Url": URI,
    "Canonical": URI,
    "Oid": st.builds(lambda n: f"urn:oid:1.2.{n}", st.integers(1, 999)),
    "Uuid": st.uuids().map(lambda u: f"urn:uuid:{u}"),
    "Id": st.from_regex(r"\A[a-z][a-z0-9]{3,9}\Z"),
    "Date": DATE,
    "DateTime": DATETIME,
    "Instant": DATETIME,
    "Time": TIME,
    "PositiveInt": st.integers(1, 99),
    "UnsignedInt": st.integers(0, 99),
    "Integer": st.integers(-99, 99),
    "Decimal": st.integers(1, 400).map(lambda n: n / 4),
    "Base64Binary": st.just("aGVsbG8="),
}


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The element's type without Optional, and whether it repeats."""
    many = False
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        elif origin is list:
            many, annotation = True, typing.get_args(annotation)[0]
        else:
            return annotation, many


def _reference(targets: list[str]) -> st.SearchStrategy[JSON]:
    """A reference to a resource of a type the element allows (any, when the element names none)."""
    kinds = [t for t in targets if t != "Resource"] or ["Condition"]
    ref = st.builds(lambda t, w: f"{t}/{w}", st.sampled_from(kinds), WORD)
    return st.fixed_dictionaries({"reference": ref}, optional={"display": TEXT})


def _value(annotation: Any, extra: JSON, depth: int) -> st.SearchStrategy[Any] | None:
    if typing.get_origin(annotation) is typing.Annotated:
        _, *meta = typing.get_args(annotation)
        if extra.get("enum_values"):
            return st.sampled_from([v for v in extra["enum_values"] if v != "+"])
        return PRIMITIVES.get(type(meta[0]).__name__) if meta else None
    if annotation is bool:
        return st.booleans()
    name = getattr(annotation, "__name__", "")
    if not name.endswith("Type"):
        return None
    if name == "ReferenceType":
        return _reference(extra.get("enum_reference_types") or [])
    return complex_type(name[: -len("Type")], depth + 1)


def complex_type(name: str, depth: int) -> st.SearchStrategy[JSON] | None:
    if name in ("Resource", "Narrative", "Meta", "FHIRPrimitiveExtension"):
        return None
    if name == "Reference":
        return _reference([])
    if name == "Extension":
        return st.fixed_dictionaries({"url": URI, "valueString": TEXT})
    if depth > MAX_DEPTH:
        return None
    return model(get_fhir_model_class(name), depth)


@st.composite
def _object(draw: st.DrawFn, fields: list[tuple[str, Any, JSON, bool]], depth: int) -> JSON:
    out: JSON = {}
    chosen: set[str] = set()
    for alias, annotation, extra, required in fields:
        group = extra.get("one_of_many")
        if group and group in chosen:
            continue
        if not required and not (group and extra.get("one_of_many_required")) and not draw(st.booleans()):
            continue
        element, many = _unwrap(annotation)
        value = FIXED.get(alias) if depth == 0 and alias in FIXED else None
        strategy = st.just(value) if value is not None else _value(element, extra, depth)
        if strategy is None:
            continue
        out[alias] = draw(st.lists(strategy, min_size=1, max_size=2)) if many else draw(strategy)
        if group:
            chosen.add(group)
    return out


def model(cls: Any, depth: int = 0) -> st.SearchStrategy[JSON]:
    fields = [
        (
            f.alias or name,
            f.annotation,
            f.json_schema_extra,
            f.is_required() or bool(f.json_schema_extra.get("element_required")),
        )
        for name, f in cls.model_fields.items()
        if isinstance(f.json_schema_extra, dict)
        and f.json_schema_extra.get("element_property")
        and (depth > 0 or (f.alias or name) not in SKIPPED)
    ]
    return _object(fields, depth).filter(bool)  # FHIR has no empty elements


def resources(rtype: str) -> st.SearchStrategy[JSON]:
    return model(get_fhir_model_class(rtype)).map(lambda r: {"resourceType": rtype, **r})
