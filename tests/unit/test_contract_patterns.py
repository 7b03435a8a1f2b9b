"""The date patterns the API document states are the calendar: a full date matches exactly when it exists."""

from __future__ import annotations

from datetime import date

from fhir_adapter.api.schemas.common import DATE_RE, DATETIME_RE, INSTANT_RE


def exists(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def test_a_full_date_matches_exactly_when_it_is_on_the_calendar():
    wrong = []
    for year in (*range(1, 30), *range(1880, 2420), 9996, 9999):
        for month in range(1, 13):
            for day in range(1, 32):
                text = f"{year:04d}-{month:02d}-{day:02d}"
                stamp = f"{text}T10:00:00Z"
                expected = (exists(text), exists(text), exists(text) and 1900 <= year <= 2999)
                found = (
                    bool(DATE_RE.match(text)),
                    bool(DATETIME_RE.match(stamp)),
                    bool(INSTANT_RE.match(stamp)),
                )
                if found != expected:
                    wrong.append((text, expected, found))
    assert not wrong, wrong[:10]
    assert DATE_RE.match("2024") and DATE_RE.match("2024-02") and not DATE_RE.match("0000")
    assert not INSTANT_RE.match("2024-02-03") and not INSTANT_RE.match("2024-02-03T10:00:00")
