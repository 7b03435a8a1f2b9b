"""HL7 v2 dates and times (DT, DTM) read into stored UTC instants and FHIR dates; a value that is no real
date or time is a content error (table 0357 code 102)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from fhir_adapter.domain.events import ContentError

TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?$")
FORM = "102"  # HL7 table 0357: data type error


def _zone(zone: str | None) -> timezone:
    if not zone:
        return UTC
    hours, minutes = int(zone[1:3]), int(zone[3:5])
    if hours > 23 or minutes > 59:
        raise ValueError(f"no such zone offset: {zone}")
    return timezone((1 if zone[0] == "+" else -1) * timedelta(hours=hours, minutes=minutes))


def instant(value: str, where: str) -> str | None:
    """An HL7 DTM (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]) as a stored UTC instant; no zone is taken as UTC."""
    if not value:
        return None
    found = TS.match(value)
    if not found:
        raise ContentError(f"{where} is not an HL7 date/time: {value[:40]!r}", where, FORM)
    y, mo, d, h, mi, s, zone = found.groups()
    try:
        moment = datetime(
            int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0), tzinfo=_zone(zone)
        )
        utc = moment.astimezone(UTC)
    except (ValueError, OverflowError) as err:
        raise ContentError(f"{where} is not a real date/time: {value[:40]!r}", where, FORM) from err
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def date(value: str, where: str) -> str | None:
    """An HL7 DT (or the date of a DTM) as a FHIR date."""
    moment = instant(value[:8], where) if value else None
    return moment[:10] if moment else None
