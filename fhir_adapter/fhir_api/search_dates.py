"""FHIR date search values (_lastUpdated, AuditEvent date) → conditions on stored UTC stamps.

https://hl7.org/fhir/R4/search.html#date . A value is a date (YYYY, YYYY-MM, YYYY-MM-DD) or a date-time with
a time zone, in ASCII digits. A range that runs past the years datetime can hold (0001 to 9999, e.g.
9999-12-31, or 0001-01-01T00:00:00+01:00 in UTC) is clamped to them: nothing is stored out there.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fhir_adapter.api.http_errors import HttpError
from fhir_adapter.service.errors import Problem

DATE = re.compile(
    r"(?P<year>[0-9]{4})(-(?P<month>[0-9]{2})(-(?P<day>[0-9]{2})"
    r"(?P<time>T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2}))?)?)?",
    re.ASCII,
)
PREFIXES = ("eq", "ge", "gt", "le", "lt")
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def _later(start: datetime, step: timedelta | None = None, months: int = 0) -> datetime:
    """`start` moved on by a step or a number of months, or LATEST when that is past year 9999."""
    try:
        if months:
            index = start.year * 12 + start.month - 1 + months
            return start.replace(year=index // 12, month=index % 12 + 1)
        return start + (step or timedelta())
    except (OverflowError, ValueError):
        return LATEST


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # a local time on the first or last day that is out of range in UTC
        return EARLIEST if moment.year == 1 else LATEST


def instant_range(raw: str, name: str) -> tuple[str, str]:
    """A FHIR date or dateTime → [start, end) as stored UTC stamps; a date without a zone is taken as UTC."""
    found = DATE.fullmatch(raw)
    try:
        if found is None:
            raise ValueError(raw)
        year, month, day = int(found["year"]), int(found["month"] or 1), int(found["day"] or 1)
        if found["time"]:
            start = _in_utc(datetime.fromisoformat(raw.replace("Z", "+00:00")))
            end = _later(start, timedelta(seconds=1))
        else:
            start = datetime(year, month, day, tzinfo=UTC)
            step = (0, 12) if found["month"] is None else (0, 1) if found["day"] is None else (1, 0)
            end = _later(start, timedelta(days=step[0]), step[1])
    except ValueError as err:
        raise HttpError(
            400, [Problem(name, f"not a FHIR date or date-time with a time zone: {raw}", "invalid")]
        ) from err
    return _stamp(start), _stamp(end)


def _stamp(moment: datetime) -> str:
    """As the store writes them; the year padded to four digits (strftime writes year 1 as '1')."""
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S.%f}Z"


def date_filter(raw: str, name: str) -> list[tuple[str, str]]:
    """(ge | lt, stamp) conditions for a date parameter with a FHIR prefix (eq, ge, gt, le, lt)."""
    prefix, value = (raw[:2], raw[2:]) if raw[:2] in PREFIXES else ("eq", raw)
    start, end = instant_range(value, name)
    lower = {"eq": start, "ge": start, "gt": end}.get(prefix)
    upper = {"eq": end, "le": end, "lt": start}.get(prefix)
    return ([("ge", lower)] if lower else []) + ([("lt", upper)] if upper else [])
