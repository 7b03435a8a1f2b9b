from __future__ import annotations

import pytest

from fhir_adapter.domain.dates import compare


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("2025-03-05", "2025-03-05", 0),
        ("2025-03-04", "2025-03-05T10:00:00Z", -1),
        ("2025", "2026-01", -1),
        ("2025-03-05", "2025-03-05T10:00:00Z", None),
        ("2025-03", "2025-03-05", None),
        ("2025-03-05T01:00:00-12:00", "2025-03-05T00:00:00+14:00", 1),
        ("2025-03-05T10:00:00Z", "2025-03-05T19:00:00+09:00", 0),
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59Z", 0),
    ],
)
def test_compare_orders_like_fhirpath(a: str, b: str, expected: int | None) -> None:
    assert compare(a, b) == expected


def test_the_last_instants_of_year_9999_compare_without_overflow() -> None:
    assert compare("9999-12-31T23:00:00-05:00", "9999-12-31T23:00:00+14:00") == 1
    assert compare("0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z") == -1
