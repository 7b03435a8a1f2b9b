"""The case-management side's JSON contract (and, later, its HTTP API)."""
