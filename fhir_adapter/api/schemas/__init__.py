"""Marshmallow schemas: the published JSON contract of case-management records."""

from fhir_adapter.api.schemas.case_file import CONTRACT_VERSION, CaseFileSchema, load_case_file

__all__ = ["CONTRACT_VERSION", "CaseFileSchema", "load_case_file"]
