"""The contract as OpenAPI 3.1 components, generated from the marshmallow schemas."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter

from fhir_adapter.api.schemas.case_file import CONTRACT_VERSION, CaseFileSchema
from fhir_adapter.api.schemas.packet import AppointmentSchema, HospitalDocumentSchema


class _Converter(OpenAPIConverter):
    def schema2jsonschema(self, schema: Any) -> dict[str, Any]:
        """The fields' JSON Schema, and the rules across fields the schema class states (Base.json_schema)."""
        out: dict[str, Any] = super().schema2jsonschema(schema)  # type: ignore[no-untyped-call]
        return out | getattr(schema, "json_schema", {})


class ContractPlugin(MarshmallowPlugin):
    """apispec's marshmallow plugin, which also writes each schema's `json_schema` into its component."""

    Converter = _Converter


def contract_document() -> dict[str, Any]:
    """Every record schema of the case-management contract, versioned with CONTRACT_VERSION: the case file's,
    and those of what the hospital hands over (its documents and appointments)."""
    spec = APISpec(
        title="fhir-adapter case-management contract",
        version=CONTRACT_VERSION,
        openapi_version="3.1.0",
        plugins=[ContractPlugin()],
    )
    spec.components.schema("CaseFile", schema=CaseFileSchema)
    spec.components.schema("HospitalDocument", schema=HospitalDocumentSchema)
    spec.components.schema("Appointment", schema=AppointmentSchema)
    return spec.to_dict()
