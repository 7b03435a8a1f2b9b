"""FHIR data types → the values the records keep whole: CodeableConcept, Identifier, Reference,
Annotation, Timing, a Task's output. Each reports, by its path, whatever part of the input it cannot keep.

https://hl7.org/fhir/R4/datatypes.html
"""

from __future__ import annotations

from typing import Any

from fhir_adapter.domain.concepts import (
    Coding,
    Concept,
    Note,
    Output,
    Reference,
    Schedule,
    SourceIdentifier,
)
from fhir_adapter.domain.records import Period, Quantity
from fhir_adapter.mapping.from_fhir_common import JSON, ReverseContext

CODING_KEPT = frozenset({"system", "version", "code", "display"})
REPEAT_KEPT = frozenset(
    {
        "boundsPeriod",
        "count",
        "duration",
        "durationUnit",
        "frequency",
        "period",
        "periodUnit",
        "dayOfWeek",
        "timeOfDay",
        "when",
    }
)


def rest(ctx: ReverseContext, node: JSON, kept: frozenset[str], path: str, what: str) -> None:
    """Every element of `node` that is not in `kept` is named as not carried."""
    for key in node:
        if key not in kept:
            ctx.report(f"{path}.{key}", f"{what}.{key.lstrip('_')} is not carried into the case record")


def concept_from(value: Any, ctx: ReverseContext, path: str) -> Concept | None:
    """A CodeableConcept whole: every coding with a code, and the text."""
    if not isinstance(value, dict) or not value:
        return None
    rest(ctx, value, frozenset({"coding", "text"}), path, "CodeableConcept")
    found = (coding_of(c, ctx, f"{path}.coding[{i}]") for i, c in enumerate(value.get("coding", [])))
    codings = [c for c in found if c is not None]
    text = value.get("text")
    if not codings and not text:
        return None
    return Concept(tuple(codings), str(text) if text else None)


def coding_of(coding: JSON, ctx: ReverseContext, path: str) -> Coding | None:
    """A Coding whole (system, version, code, display); one without a code is named."""
    rest(ctx, coding, CODING_KEPT, path, "Coding")
    if not coding.get("code"):
        ctx.report(path, f"a coding without a code ({coding.get('display') or 'no display'}) is not carried")
        return None
    return Coding(str(coding["code"]), coding.get("system"), coding.get("display"), coding.get("version"))


def period_of(value: Any, ctx: ReverseContext, path: str) -> Period | None:
    """A Period: its start and end; anything else on it is named."""
    if not isinstance(value, dict) or not value:
        return None
    rest(ctx, value, frozenset({"start", "end"}), path, "Period")
    return Period(value.get("start"), value.get("end")) if value.get("start") or value.get("end") else None


def concepts_from(values: Any, ctx: ReverseContext, path: str) -> tuple[Concept, ...]:
    found = (concept_from(v, ctx, f"{path}[{i}]") for i, v in enumerate(values or []))
    return tuple(c for c in found if c is not None)


def identifier_of(value: JSON, ctx: ReverseContext, path: str) -> SourceIdentifier | None:
    kept = frozenset({"value", "system", "use", "type", "assigner"})
    rest(ctx, value, kept, path, "Identifier")
    if not value.get("value"):
        ctx.report(path, "an identifier without a value is not carried")
        return None
    assigner = value.get("assigner") or {}
    rest(ctx, assigner, frozenset({"display"}), f"{path}.assigner", "Reference")
    return SourceIdentifier(
        value=str(value["value"]),
        system=value.get("system"),
        use=value.get("use"),
        type=concept_from(value.get("type"), ctx, f"{path}.type"),
        assigner=assigner.get("display"),
    )


def identifiers_from(
    resource: JSON, ctx: ReverseContext, path: str, ours: str
) -> tuple[SourceIdentifier, ...]:
    """The sender's own business identifiers (ours, of kind `ours`, are the record id itself)."""
    found = []
    for i, ident in enumerate(resource.get("identifier", [])):
        if ident.get("system") == ctx.identity.system(ours):
            continue
        kept = identifier_of(ident, ctx, f"{path}.identifier[{i}]")
        if kept is not None:
            found.append(kept)
    return tuple(found)


def reference_from(value: JSON, ctx: ReverseContext, path: str) -> Reference | None:
    rest(ctx, value, frozenset({"reference", "type", "display", "identifier"}), path, "Reference")
    ident = value.get("identifier")
    kept = Reference(
        reference=value.get("reference"),
        type=value.get("type"),
        display=value.get("display"),
        identifier=identifier_of(ident, ctx, f"{path}.identifier") if ident else None,
    )
    return kept if (kept.reference or kept.display or kept.identifier) else None


def references_from(values: Any, ctx: ReverseContext, path: str) -> tuple[Reference, ...]:
    found = (reference_from(v, ctx, f"{path}[{i}]") for i, v in enumerate(values or []))
    return tuple(r for r in found if r is not None)


def notes_from(values: Any, ctx: ReverseContext, path: str) -> tuple[Note, ...]:
    """Each Annotation: its text, its author (a name or a reference's name) and its time."""
    notes = []
    for i, note in enumerate(values or []):
        where = f"{path}[{i}]"
        rest(ctx, note, frozenset({"text", "authorString", "authorReference", "time"}), where, "Annotation")
        author_ref = note.get("authorReference") or {}
        author = note.get("authorString") or author_ref.get("display") or author_ref.get("reference")
        if author_ref:
            ctx.said_of_reference(author_ref, f"{where}.authorReference", str(author), False)
        notes.append(Note(str(note["text"]), str(author) if author else None, note.get("time")))
    return tuple(notes)


def schedule_from(timing: Any, ctx: ReverseContext, path: str) -> Schedule | None:
    """A Timing: its events, its code and the repeat elements the records keep; the rest is named."""
    if not isinstance(timing, dict) or not timing:
        return None
    rest(ctx, timing, frozenset({"event", "code", "repeat"}), path, "Timing")
    repeat = timing.get("repeat") or {}
    rest(ctx, repeat, REPEAT_KEPT, f"{path}.repeat", "Timing.repeat")
    bounds = repeat.get("boundsPeriod") or {}
    rest(ctx, bounds, frozenset({"start", "end"}), f"{path}.repeat.boundsPeriod", "Period")
    return Schedule(
        events=tuple(timing.get("event", [])),
        code=concept_from(timing.get("code"), ctx, f"{path}.code"),
        bounds_start=bounds.get("start"),
        bounds_end=bounds.get("end"),
        count=repeat.get("count"),
        duration=repeat.get("duration"),
        duration_unit=repeat.get("durationUnit"),
        frequency=repeat.get("frequency"),
        period=repeat.get("period"),
        period_unit=repeat.get("periodUnit"),
        days_of_week=tuple(repeat.get("dayOfWeek", [])),
        times_of_day=tuple(repeat.get("timeOfDay", [])),
        when=tuple(repeat.get("when", [])),
    )


def quantity_from(value: JSON, ctx: ReverseContext, path: str) -> Quantity | None:
    """A Quantity's value, unit, system and code; the rest (a comparator, say) is named. One without a
    value or a unit is not carried, and said so."""
    unit = value.get("unit") or value.get("code")
    if value.get("value") is None or not unit:
        ctx.report(path, "a quantity needs a value and a unit: not carried")
        return None
    rest(ctx, value, frozenset({"value", "unit", "system", "code"}), path, "Quantity")
    return Quantity(float(value["value"]), str(unit), value.get("system"), value.get("code"))


def outputs_from(task: JSON, ctx: ReverseContext, path: str) -> tuple[Output, ...]:
    """Each output of a Task: its type, and a text, coded or reference value; other values are named."""
    outputs = []
    for i, output in enumerate(task.get("output", [])):
        where = f"{path}.output[{i}]"
        kept = frozenset({"type", "valueString", "valueMarkdown", "valueCodeableConcept", "valueReference"})
        rest(ctx, output, kept, where, "Task.output")
        output_type = concept_from(output.get("type"), ctx, f"{where}.type") or Concept(text="output")
        text = output.get("valueString") or output.get("valueMarkdown")
        concept = concept_from(output.get("valueCodeableConcept"), ctx, f"{where}.valueCodeableConcept")
        ref = output.get("valueReference")
        reference = reference_from(ref, ctx, f"{where}.valueReference") if ref else None
        if text or concept or reference:
            outputs.append(Output(output_type, str(text) if text else None, concept, reference))
        else:
            ctx.report(where, "an output without a text, coded or reference value is not carried")
    return tuple(outputs)
