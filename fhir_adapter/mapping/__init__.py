"""Case-management records ↔ FHIR R4: mappings as data (mappings/) plus named functions."""
