"""The strict pass the R4B models skip: required code bindings, reference target types, empty values.

It walks the JSON beside the model classes; the allowed values and target types come from the models'
field metadata (`enum_values`, `enum_reference_types`), gathered once per class.
"""

from __future__ import annotations

import datetime
import decimal
import importlib
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from fhir_adapter.mapping.errors import Issue

JSON = dict[str, Any]


@dataclass(frozen=True)
class FieldMeta:
    codes: frozenset[str] | None
    targets: frozenset[str] | None
    child: type | None  # the model class of a complex element; None for primitives
    json: tuple[type, ...] | None = None  # the JSON types a primitive may have; None for complex elements


@dataclass(frozen=True)
class PendingReference:
    """A urn:uuid reference, resolved against the Bundle's fullUrls once every entry is walked."""

    path: str
    url: str
    targets: frozenset[str]


# The models take allowed values from the element's short description, which R4 truncates with "+" for
# long value sets; these are the full required value sets (https://hl7.org/fhir/R4/valueset-<name>.html).
FULL_VALUE_SETS: dict[tuple[str, str], frozenset[str]] = {
    ("QuestionnaireItem", "type"): frozenset(
        [
            "group",
            "display",
            "boolean",
            "decimal",
            "integer",
            "date",
            "dateTime",
            "time",
            "string",
            "text",
            "url",
            "choice",
            "open-choice",
            "attachment",
            "reference",
            "quantity",
        ]
    ),
    ("Observation", "status"): frozenset(
        [
            "registered",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "cancelled",
            "entered-in-error",
            "unknown",
        ]
    ),
    ("Task", "status"): frozenset(
        [
            "draft",
            "requested",
            "received",
            "accepted",
            "rejected",
            "ready",
            "cancelled",
            "in-progress",
            "on-hold",
            "failed",
            "completed",
            "entered-in-error",
        ]
    ),
}


def _allowed(cls: type, name: str, codes: list[str] | None) -> frozenset[str] | None:
    """The required value set of an element; None when unknown (a truncated list without its full form)."""
    full = FULL_VALUE_SETS.get((cls.__name__, name))
    if full is not None:
        return full
    if not codes or "+" in codes:
        return None
    return frozenset(codes)


# FHIR JSON writes dates, times, codes, ids and uris as strings; the models would also coerce other JSON
# types into them (an integer becomes a dateTime of 1970), so the JSON type is checked here.
_JSON_TYPES: tuple[tuple[type, tuple[type, ...]], ...] = (
    (bool, (bool,)),
    (int, (int,)),
    (decimal.Decimal, (int, float)),
    (str, (str,)),
    (datetime.date, (str,)),
    (datetime.time, (str,)),
)


_JSON_NAMES = {(bool,): "a boolean", (int,): "an integer", (int, float): "a number", (str,): "a string"}


def _json_types(annotation: Any) -> tuple[type, ...] | None:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        args = args[:1]
    for arg in args or (annotation,):
        if typing.get_args(arg):
            found = _json_types(arg)
            if found:
                return found
        for base, json in _JSON_TYPES:
            if isinstance(arg, type) and issubclass(arg, base):
                return json
    return None


def _element_class(annotation: Any) -> type | None:
    for arg in typing.get_args(annotation) or (annotation,):
        klass = getattr(arg, "_model_klass", None)
        if klass:
            module, _, name = klass.rpartition(".")
            return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
        inner = _element_class(arg) if typing.get_args(arg) else None
        if inner:
            return inner
    return None


@cache
def field_meta(cls: type) -> dict[str, FieldMeta]:
    result = {}
    for name, info in cls.model_fields.items():  # type: ignore[attr-defined]
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        targets = extra.get("enum_reference_types")
        result[info.alias or name] = FieldMeta(
            _allowed(cls, info.alias or name, extra.get("enum_values")),
            frozenset(targets) if targets else None,
            _element_class(info.annotation),
            _json_types(info.annotation),
        )
    return result


def model_class(resource_type: object) -> Any:
    """The R4B model class of a resource type name; None for anything that is not one."""
    if not isinstance(resource_type, str) or not resource_type.isidentifier():
        return None
    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return None


def reference_type(reference: str) -> str | None:
    """The resource type a relative or absolute RESTful reference names; None for urn: and #local ones."""
    if reference.startswith(("urn:", "#")):
        return None
    parts = reference.split("?")[0].split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return parts[-2] if len(parts) >= 2 else None


class StrictPass:
    """Walks one resource; collects issues and the urn:uuid references to resolve at Bundle level."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self.pending: list[PendingReference] = []

    def resource(self, resource: JSON, path: str) -> None:
        cls = model_class(resource.get("resourceType"))
        if cls is None:
            self._issue(path, f"unknown resourceType {resource.get('resourceType')!r}", "structure")
            return
        inner = resource.get("contained")
        # A null or malformed `contained` is reported by the walk; only well-formed entries can be referenced.
        contained = {
            c.get("id"): c.get("resourceType")
            for c in (inner if isinstance(inner, list) else ())
            if isinstance(c, dict)
        }
        self._walk(resource, cls, path, contained)

    def _issue(self, path: str, message: str, layer: str) -> None:
        self.issues.append(Issue("error", path, message, layer))

    def _walk(self, node: JSON, cls: type, path: str, contained: dict[Any, Any]) -> None:
        meta = field_meta(cls)
        for key, value in node.items():
            fm = meta.get(key)
            if fm is None:
                continue
            if isinstance(value, list):
                if not value:
                    self._issue(f"{path}.{key}", "empty array", "content")
                for i, item in enumerate(value):
                    self._element(item, fm, f"{path}.{key}[{i}]", contained)
            else:
                self._element(value, fm, f"{path}.{key}", contained)

    def _element(self, value: Any, fm: FieldMeta, path: str, contained: dict[Any, Any]) -> None:
        if value is None or value == "" or value == {}:
            self._issue(path, "empty value", "content")
            return
        if fm.json is not None and (
            not isinstance(value, fm.json) or (isinstance(value, bool) and bool not in fm.json)
        ):
            self._issue(path, f"{value!r} is not {_JSON_NAMES[fm.json]} in FHIR JSON", "structure")
            return
        if fm.codes is not None and value not in fm.codes:
            self._issue(
                path, f"{value!r} is not in the required value set ({', '.join(sorted(fm.codes))})", "binding"
            )
        if fm.child is None or not isinstance(value, dict):
            return
        if "resourceType" in value:
            self.resource(value, path)
            return
        if fm.targets is not None:
            self._reference(value, fm.targets, path, contained)
        self._walk(value, fm.child, path, contained)

    def _reference(self, ref: JSON, targets: frozenset[str], path: str, contained: dict[Any, Any]) -> None:
        url = ref.get("reference")
        if isinstance(url, str) and url.startswith("urn:uuid:"):
            self.pending.append(PendingReference(path, url, targets))
            return
        if "Resource" in targets:
            return
        if isinstance(url, str) and url.startswith("#"):
            rtype = contained.get(url[1:])
            if rtype is None:
                self._issue(path, f"{url} names no contained resource", "reference")
                return
        else:
            rtype = reference_type(url) if isinstance(url, str) else ref.get("type")
        if rtype is not None and rtype not in targets:
            self._issue(
                path, f"a reference to {rtype} where {', '.join(sorted(targets))} is allowed", "reference"
            )
