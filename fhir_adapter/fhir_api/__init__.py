"""The FHIR R4 endpoint: metadata, read, vread, search, $validate, and what an EHR sends back."""
