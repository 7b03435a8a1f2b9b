"""The contract as OpenAPI 3.1 components, generated from the marshmallow schemas."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from fhir_adapter.api.schemas.case_file import CONTRACT_VERSION, CaseFileSchema


def contract_document() -> dict[str, Any]:
    """Every record schema of the case-management contract, versioned with CONTRACT_VERSION."""
    spec = APISpec(
        title="fhir-adapter case-management contract",
        version=CONTRACT_VERSION,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
    )
    spec.components.schema("CaseFile", schema=CaseFileSchema)
    return spec.to_dict()
