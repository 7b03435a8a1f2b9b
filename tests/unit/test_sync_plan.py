"""What an admission and a discharge carry, chosen from in-memory records (no database): the rules of the
table of kinds, with times written in the hospital's zone (-05:00) while admissions are stored in UTC."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fhir_adapter.domain.stored import StoredRecord
from fhir_adapter.service.sync_plan import admission_records, discharge_records, discharge_referrals

# 22:00 on 20 October in Springfield (-05:00): 03:00 UTC on the 21st, as an A01's PV1-44 is stored.
ADMITTED = "2025-10-21T03:00:00.000000Z"


def rec(record_kind: str, rid: str, **data: Any) -> StoredRecord:
    return StoredRecord(record_kind, rid, "CL-1", 1, {"id": rid, **data}, ADMITTED, ADMITTED)


def test_an_admission_carries_active_plans_open_referrals_and_episodes_and_the_latest_assessments() -> None:
    records = [
        rec("service-plan", "SP-1", status="active"),
        rec("service-plan", "SP-0", status="completed"),
        rec("referral", "RF-1", status="sent"),
        rec("referral", "RF-2", status="in-progress"),
        rec("referral", "RF-3", status="draft"),
        rec("referral", "RF-4", status="completed"),
        rec("episode", "EP-1", status="active"),
        rec("episode", "EP-0", status="closed"),
        rec("assessment", "AS-1", status="completed", kind="prapare", date="2025-01-01"),
        rec("assessment", "AS-2", status="amended", kind="prapare", date="2025-06-01"),
        rec("assessment", "AS-3", status="in-progress", kind="prapare", date="2025-09-01"),
        rec("assessment", "AS-4", status="completed", kind="functional", date="2024-02-02"),
    ]
    chosen = {rid for _, rid in admission_records(records)}
    assert chosen == {"SP-1", "RF-1", "RF-2", "EP-1", "AS-2", "AS-4"}


def test_a_discharge_carries_the_active_plans_and_the_referrals_made_during_the_stay() -> None:
    records = [
        rec("service-plan", "SP-1", status="active"),
        rec("referral", "RF-before", status="sent", authored_on="2025-10-19T23:00:00-05:00"),
        # the day of admission, before the A01 came: made for this stay
        rec("referral", "RF-morning", status="sent", authored_on="2025-10-20T09:00:00-05:00"),
        # an hour after admission, on the evening of the 20th where it was written (04:00 UTC on the 21st)
        rec("referral", "RF-evening", status="sent", authored_on="2025-10-20T23:00:00-05:00"),
        rec("referral", "RF-draft", status="draft", authored_on="2025-10-22T09:00:00-05:00"),
        rec("referral", "RF-utc", status="accepted", authored_on="2025-10-21T10:00:00Z"),
    ]
    chosen = {rid for _, rid in discharge_records(records, ADMITTED)}
    assert chosen == {"SP-1", "RF-morning", "RF-evening", "RF-utc"}
    assert {rid for _, rid in discharge_referrals(records, ADMITTED)} == {
        "RF-morning",
        "RF-evening",
        "RF-utc",
    }


ZONES = st.sampled_from(["-05:00", "+05:30", "+09:00", "Z", "-10:00", "+14:00"])


@given(
    st.datetimes(min_value=__import__("datetime").datetime(2000, 1, 1)),
    st.integers(min_value=-3 * 86400, max_value=3 * 86400),
    ZONES,
)
def test_a_referral_is_of_the_stay_when_written_on_or_after_the_admissions_day_where_it_was_written(
    admitted: Any, after: int, zone: str
) -> None:
    """Whatever the zone a referral's time is written in, it is a discharge referral exactly when its date
    there is on or after the admission's date there."""
    from datetime import UTC, datetime, timedelta

    offset = timedelta(0) if zone == "Z" else datetime.fromisoformat(f"2000-01-01T00:00:00{zone}").utcoffset()
    assert offset is not None
    stored = admitted.replace(tzinfo=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    local_admission = admitted + offset
    written = local_admission + timedelta(seconds=after)
    authored = written.isoformat(timespec="seconds") + zone
    records = [rec("referral", "RF", status="sent", authored_on=authored)]
    expected = written.date() >= local_admission.date()
    assert bool(discharge_referrals(records, stored)) == expected, (stored, authored)
