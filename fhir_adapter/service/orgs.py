"""Organisations as an administrator sees them on the command line: listed, shown, and the time zone
their people see times in set."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import available_timezones

from fhir_adapter.domain.stored import OrgRow
from fhir_adapter.service.ports import Storage


def organisations(storage: Storage) -> list[OrgRow]:
    with storage.reading() as work:
        return work.orgs.list_orgs()


def organisation(storage: Storage, org_id: str) -> OrgRow | None:
    with storage.reading() as work:
        return work.orgs.get_org(org_id)


def set_time_zone(storage: Storage, org_id: str, zone: str) -> OrgRow:
    """Show the organisation's times in the IANA zone `zone` ("default": the site's zone again);
    ValueError says what is wrong."""
    chosen = None if zone == "default" else zone
    if chosen is not None and chosen not in available_timezones():
        raise ValueError(f"not an IANA time zone: {zone!r} (e.g. Asia/Seoul, America/Chicago, UTC)")
    with storage.writing() as work:
        row = work.orgs.get_org(org_id)
        if row is None:
            raise ValueError(f"there is no organisation {org_id}")
        work.orgs.set_time_zone(org_id, chosen)
    return replace(row, time_zone=chosen)
