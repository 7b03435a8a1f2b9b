"""`make demo`: the whole round trip on one machine, in about half a minute.

A client of a community case-management organisation is admitted to hospital; the hospital's ADT feed says
so over MLLP, and the case manager's plan, goals, assessment and open referral arrive in the hospital's EHR,
linked to the admission's Encounter. At discharge the hospital's own referral and the discharge disposition
come back into the case record.

Everything runs as it would for a user: the stand-in EHR (a real FHIR server, tests/ehr), and
`fhir-adapter serve` and `fhir-adapter mllp` as processes of their own on a fresh SQLite database in
var/demo/. `python -m demo --keep` leaves them running until Ctrl-C.
"""
