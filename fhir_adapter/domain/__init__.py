"""Case-management records and rules, in case-management terms; imports no framework."""
