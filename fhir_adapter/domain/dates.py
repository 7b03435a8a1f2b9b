"""Ordering FHIR dates and date-times of any precision, as FHIRPath does (https://hl7.org/fhirpath/#comparison)."""

from __future__ import annotations

from datetime import UTC, datetime


def _instant(value: str) -> tuple[int, int]:
    """Seconds since year 1 in UTC, and microseconds; integers, so year 9999 at -05:00 does not overflow."""
    # A leap second (:60) orders as :59; "Z" is UTC.
    local = datetime.fromisoformat(value.replace(":60", ":59").replace("Z", "+00:00"))
    offset = local.utcoffset()
    seconds = local.toordinal() * 86400 + local.hour * 3600 + local.minute * 60 + local.second
    return seconds - int(offset.total_seconds() if offset else 0), local.microsecond


def on_or_after_day_of(value: str, moment: str) -> bool:
    """Whether `value` (a FHIR date or date-time) falls on or after the day of `moment` (a date-time), the
    day taken where `value` was written: in its own offset (UTC for a date, or a time without one)."""
    if "T" not in value:
        return value >= moment[: len(value)] if value else False
    try:
        written = datetime.fromisoformat(value.replace(":60", ":59").replace("Z", "+00:00"))
        zone = written.tzinfo or UTC
        there = datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(zone)
    except (ValueError, OverflowError):  # a moment at the calendar's edge: its date as written
        return value[:10] >= moment[:10]
    return written.date() >= there.date()


def compare(a: str, b: str) -> int | None:
    """-1, 0 or 1; None when precisions differ and the values agree as far as both go (FHIRPath: empty)."""
    if "T" in a and "T" in b:
        x, y = _instant(a), _instant(b)
        return (x > y) - (x < y)
    da, db = a.split("T")[0], b.split("T")[0]
    n = min(len(da), len(db))
    if da[:n] != db[:n]:
        return -1 if da[:n] < db[:n] else 1
    return 0 if a == b else None
