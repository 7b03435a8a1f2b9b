"""fhir-adapter: case-management records to and from HL7 FHIR R4."""

__version__ = "0.1.0"
