"""The client (case file owner): identity, names in any script, contacts."""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import ValidationError, fields, validate, validates_schema

from fhir_adapter.api.schemas.common import Base, Date, IdentifierSchema, OneOf, RecordId, Text
from fhir_adapter.domain import records as r

NAME_USES = ["usual", "official", "temp", "nickname", "anonymous", "old", "maiden"]
CONTACT_USES = ["home", "work", "temp", "old", "mobile"]
LANGUAGE = validate.Regexp(
    r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", error="not a BCP-47 language tag (e.g. ko, hi-IN)"
)


def any_of(*names: str, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """The object has at least one of `names`; a list among them counts when it has an item."""
    return {
        "anyOf": [
            {"required": [n]} | ({"properties": {n: {"minItems": 1}}} if n in lists else {}) for n in names
        ]
    }


class NameSchema(Base):
    record = r.Name
    json_schema: ClassVar[dict[str, Any]] = any_of("text", "family", "given", lists=("given",))

    text = Text()
    family = Text()
    given = fields.List(Text(), validate=validate.Length(max=10))
    use = OneOf(NAME_USES)

    @validates_schema
    def has_a_part(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("text") or data.get("family") or data.get("given")):
            raise ValidationError("a name needs text, family or given")


class AddressSchema(Base):
    record = r.Address
    json_schema: ClassVar[dict[str, Any]] = any_of(
        "lines", "city", "district", "state", "postal_code", "country", lists=("lines",)
    )

    lines = fields.List(Text(), validate=validate.Length(max=5))
    city = Text()
    district = Text()
    state = Text()
    postal_code = Text()
    country = Text()
    use = OneOf(["home", "work", "temp", "old", "billing"])

    @validates_schema
    def has_a_part(self, data: dict[str, Any], **_: Any) -> None:
        if not any(data.get(k) for k in ("lines", "city", "district", "state", "postal_code", "country")):
            raise ValidationError(
                "an address needs at least one line, city, district, state, postal code or country"
            )


class TelecomSchema(Base):
    record = r.Telecom

    system = OneOf(["phone", "fax", "email", "pager", "url", "sms", "other"], required=True)
    value = Text(required=True)
    use = OneOf(CONTACT_USES)


class ContactSchema(Base):
    record = r.Contact
    json_schema: ClassVar[dict[str, Any]] = any_of("name", "telecom", "address", lists=("telecom",))

    relationship = OneOf(["C", "E", "F", "I", "N", "S", "U"], required=True)
    name = fields.Nested(NameSchema)
    telecom = fields.List(fields.Nested(TelecomSchema))
    address = fields.Nested(AddressSchema)

    @validates_schema
    def has_details(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("name") or data.get("telecom") or data.get("address")):
            raise ValidationError("a contact needs a name, telecom or address")


class ClientSchema(Base):
    record = r.Client

    id = RecordId(required=True)
    names = fields.List(fields.Nested(NameSchema), required=True, validate=validate.Length(min=1, max=10))
    identifiers = fields.List(fields.Nested(IdentifierSchema))
    birth_date = Date()
    gender = OneOf(["male", "female", "other", "unknown"])
    language = fields.String(validate=LANGUAGE)
    addresses = fields.List(fields.Nested(AddressSchema))
    telecom = fields.List(fields.Nested(TelecomSchema))
    contacts = fields.List(fields.Nested(ContactSchema))
