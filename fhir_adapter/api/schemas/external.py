"""What another system said, kept whole beside our vocabulary: concepts, its identifiers, references,
notes, schedules and task outputs (contract 1.1)."""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import ValidationError, fields, validate

from fhir_adapter.api.schemas.common import (
    Base,
    Code,
    CodingSchema,
    DateTime,
    Text,
    Uri,
    WholeNumber,
)
from fhir_adapter.domain import concepts as c

MANY = validate.Length(max=100)


class ConceptSchema(Base):
    """A coded concept as the hospital sent it: every coding and the text."""

    record = c.Concept
    json_schema: ClassVar[dict[str, Any]] = {"minProperties": 1}

    codings = fields.List(fields.Nested(CodingSchema), validate=validate.Length(min=1, max=100))
    text = Text()

    def check(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data.get("codings") and not data.get("text"):
            raise ValidationError("a concept needs a coding or a text")
        return data


class SourceIdentifierSchema(Base):
    record = c.SourceIdentifier

    value = Text(required=True)
    system = Uri()
    use = Code()
    type = fields.Nested(ConceptSchema)
    assigner = Text()


class ReferenceSchema(Base):
    record = c.Reference
    json_schema: ClassVar[dict[str, Any]] = {"minProperties": 1}

    reference = Text()
    type = Code()
    display = Text()
    identifier = fields.Nested(SourceIdentifierSchema)

    def check(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data:
            raise ValidationError("a reference needs a reference, a display or an identifier")
        return data


class NoteSchema(Base):
    record = c.Note

    text = Text(required=True)
    author = Text()
    time = DateTime()


class ScheduleSchema(Base):
    record = c.Schedule

    events = fields.List(DateTime(), validate=MANY)
    code = fields.Nested(ConceptSchema)
    bounds_start = DateTime()
    bounds_end = DateTime()
    count = WholeNumber(validate=validate.Range(min=0, max=2**31 - 1))
    duration = fields.Float(allow_nan=False, validate=validate.Range(min=0))
    duration_unit = Code()
    frequency = WholeNumber(validate=validate.Range(min=0, max=2**31 - 1))
    period = fields.Float(allow_nan=False, validate=validate.Range(min=0))
    period_unit = Code()
    days_of_week = fields.List(Code(), validate=MANY)
    times_of_day = fields.List(Text(), validate=MANY)
    when = fields.List(Code(), validate=MANY)


class OutputSchema(Base):
    """A task's result: its type and exactly one value (FHIR's Task.output.value[x] is required)."""

    record = c.Output
    json_schema: ClassVar[dict[str, Any]] = {
        "oneOf": [{"required": [n]} for n in ("text", "concept", "reference")]
    }

    type = fields.Nested(ConceptSchema, required=True)
    text = Text()
    concept = fields.Nested(ConceptSchema)
    reference = fields.Nested(ReferenceSchema)

    def check(self, data: dict[str, Any]) -> dict[str, Any]:
        given = [n for n in ("text", "concept", "reference") if data.get(n) is not None]
        if len(given) != 1:
            raise ValidationError("an output has one value: text, concept or reference")
        return data
