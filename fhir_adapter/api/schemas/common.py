"""Shared field types and small value schemas of the contract."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, post_load, validate

from fhir_adapter.domain import records as r
from fhir_adapter.domain.dates import compare
from fhir_adapter.errors import Rule

# FHIR partial dates and dateTimes stay strings: "2024", "2024-03", "2024-03-05", "2024-03-05T09:30:00+09:00".
# The patterns are FHIR R4's (https://hl7.org/fhir/R4/datatypes.html#date): ASCII digits, no year 0000;
# but no leap second (:60), which neither Python's datetime nor fhirpathpy can order.
# The full dates are calendar dates, so that the patterns the API document states are the whole rule: 31 only
# in the long months, 30 not in February, 29 February only in a leap year.
_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_LEAP = r"([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY = r"((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
_FULL_DATE = rf"({_YEAR}-{_MONTH_DAY}|{_LEAP}-02-29)"
_TIME = (
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9])(\.[0-9]{1,9})?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)
DATE_RE = re.compile(rf"^({_YEAR}(-(0[1-9]|1[0-2]))?|{_FULL_DATE})$", re.ASCII)
DATETIME_RE = re.compile(rf"^({_YEAR}(-(0[1-9]|1[0-2]))?|{_FULL_DATE}({_TIME})?)$", re.ASCII)
# A time stamp: a full date-time with a time zone, in the years 1900 to 2999.
INSTANT_RE = re.compile(
    rf"^((19[0-9]{{2}}|2[0-9]{{3}})-{_MONTH_DAY}|(19|2[0-9])(0[48]|[2468][048]|[13579][26])-02-29"
    rf"|2[048]00-02-29){_TIME}$",
    re.ASCII,
)
# FHIR code: no leading, trailing or doubled white space, no control character.
# White space spelt out (Python's \s for text), so that the API document's pattern means the same to a
# client's regular expressions as to ours.
_WHITE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
CODE_RE = re.compile(rf"^[^{_WHITE}\x00-\x1f\x7f]+( [^{_WHITE}\x00-\x1f\x7f]+)*$")
# What the R4B models accept as a FHIR string (Python's \S), with at least one visible character, and no
# control character but tab, CR and LF (https://hl7.org/fhir/R4/datatypes.html#string; PostgreSQL text
# cannot hold NUL).
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
STRING_RE = re.compile(rf"^(?![^{_CONTROL}]*[{_CONTROL}])[ \r\n\t\S]*\S[ \r\n\t\S]*$")
# Record ids travel in URLs (/api/v1/clients/<id>) and identifiers: a safe alphabet, 128 at most.
RECORD_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@~+-]{0,127}$")
MAX_TEXT = 10_000


def _calendar(value: str) -> None:
    """29 February 2023 matches the pattern; it is still not a date."""
    if len(value) >= 10:
        try:
            date.fromisoformat(value[:10])
        except ValueError as err:
            raise ValidationError(f"{value[:10]} is not a calendar date") from err


def Text(**kwargs: Any) -> fields.String:
    """A string of bounded length with at least one visible character."""
    return fields.String(
        validate=[
            validate.Length(min=1, max=MAX_TEXT),
            validate.Regexp(
                STRING_RE, error="needs a visible character, and no white space but space, tab or newline"
            ),
        ],
        **kwargs,
    )


def RecordId(**kwargs: Any) -> fields.String:
    """The id a case-management system gave a record."""
    return fields.String(
        validate=validate.Regexp(
            RECORD_ID_RE,
            error="an id is 1-128 letters, digits or . _ : @ ~ + - and starts with a letter or digit",
        ),
        **kwargs,
    )


def Code(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=[
            validate.Length(min=1, max=256),
            validate.Regexp(CODE_RE, error="not a code (no loose white space)"),
        ],
        **kwargs,
    )


def Date(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=[validate.Regexp(DATE_RE, error="not a date (YYYY, YYYY-MM or YYYY-MM-DD)"), _calendar],
        **kwargs,
    )


def DateTime(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=[
            validate.Regexp(
                DATETIME_RE, error="not a date or date-time (YYYY-MM-DDThh:mm:ss with a time zone)"
            ),
            _calendar,
        ],
        **kwargs,
    )


URI_RE = re.compile(
    r"^(https?://[^\s|\x00-\x1f\x7f]+|urn:[a-z0-9][a-z0-9-]*:[^\s|\x00-\x1f\x7f]+)$", re.IGNORECASE
)


def _plausible_year(value: str) -> None:
    # marshmallow runs every validator, also after the pattern failed: look only at a well-formed year.
    if value[:4].isascii() and value[:4].isdigit() and not 1900 <= int(value[:4]) <= 2999:
        raise ValidationError("a time stamp between the years 1900 and 2999 is expected")


def Instant(**kwargs: Any) -> fields.String:
    """A time stamp: a full date-time with seconds and a time zone, so that any two can be ordered."""
    return fields.String(
        validate=[
            validate.Regexp(
                INSTANT_RE, error="not a time stamp (YYYY-MM-DDThh:mm:ss with a time zone, years 1900-2999)"
            ),
            validate.Length(min=20, error="a time stamp needs a time and a time zone (YYYY-MM-DDThh:mm:ssZ)"),
            _calendar,
            _plausible_year,
        ],
        **kwargs,
    )


def Uri(**kwargs: Any) -> fields.String:
    """An absolute URI (http, https or urn:oid / urn:uuid ...), as code systems and identifier systems are."""
    return fields.String(
        validate=validate.Regexp(URI_RE, error="not an absolute URI (http://…, https://… or urn:…)"), **kwargs
    )


def OneOf(choices: list[str], **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.OneOf(choices), **kwargs)


class WholeNumber(fields.Integer):
    """An integer as JSON Schema has it: 3 and 3.0, but not 3.5, "3" or true."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
            raise ValidationError("not a whole number")
        return int(value)


class StrictBoolean(fields.Boolean):
    """true or false only: "yes", 1 and "0" are errors, not guesses."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("not a boolean (true or false)")
        return value


class Base(Schema):
    """Loads one domain record. Unknown fields are errors, so a misspelt field is never silently dropped.

    `json_schema` holds what the API document states of the object beyond its fields: the rules across
    fields that JSON Schema can say (anyOf, if/then), so that a body the document allows is one we take."""

    record: ClassVar[type[Any]]
    json_schema: ClassVar[dict[str, Any]] = {}

    class Meta:
        ordered = True

    def check(self, data: dict[str, Any]) -> dict[str, Any]:
        """Rules across fields, and defaults that depend on other fields; raise ValidationError."""
        return data

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Any:
        """The record, with lists as tuples so records stay immutable and comparable."""
        data = self.check(data)
        return self.record(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


class CodingSchema(Base):
    record = r.Coding

    code = Code(required=True)
    system = Uri()
    display = Text()
    version = Text()


class QuantitySchema(Base):
    record = r.Quantity

    value = fields.Float(required=True, allow_nan=False)
    unit = Text(required=True)
    system = Uri()
    code = Code()


class PeriodSchema(Base):
    start = DateTime()
    end = DateTime()

    record = r.Period
    json_schema: ClassVar[dict[str, Any]] = {"anyOf": [{"required": ["start"]}, {"required": ["end"]}]}

    def check(self, data: dict[str, Any]) -> dict[str, Any]:
        start, end = data.get("start"), data.get("end")
        if not (start or end):
            raise ValidationError("a period needs a start or an end")
        if start and end and compare(start, end) == 1:
            raise ValidationError(Rule("the period ends before it starts"), "end")
        return data


class PersonSchema(Base):
    record = r.Person

    name = Text(required=True)
    id = Text()


class IdentifierSchema(Base):
    record = r.Identifier

    system = Uri(required=True)
    value = Text(required=True)
    type = OneOf(["MR", "PI", "PT", "SS", "DL", "PPN", "MA", "MC", "AN", "XX"], load_default="MR")
    assigner = Text()
