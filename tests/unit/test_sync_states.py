"""The sync states are enums whose members are the very strings stored and sent: nothing to migrate, the
JSON unchanged."""

from __future__ import annotations

import json
from enum import StrEnum

import orjson
import pytest
from sqlalchemy import Column

from fhir_adapter.adapters import sync_tables
from fhir_adapter.api.http import json_response
from fhir_adapter.domain import inbound, sync
from fhir_adapter.domain.inbound import InboundState
from fhir_adapter.domain.sync import AdmissionState, JobAction, JobState, LedgerAction

STORED: list[tuple[type[StrEnum], Column[str]]] = [
    (JobState, sync_tables.outbox_jobs.c.state),
    (JobAction, sync_tables.outbox_jobs.c.action),
    (LedgerAction, sync_tables.delivery_ledger.c.action),
    (AdmissionState, sync_tables.admissions.c.state),
    (InboundState, sync_tables.inbound_messages.c.state),
]
MEMBERS = [member for enum, _ in STORED for member in enum]


@pytest.mark.parametrize("member", MEMBERS, ids=str)
def test_a_state_is_its_string_in_python_and_in_json(member: StrEnum) -> None:
    plain = member.value
    assert type(plain) is str
    assert member == plain and hash(member) == hash(plain) and str(member) == plain and f"{member}" == plain
    assert {plain: 1}.get(member) == 1
    as_json = {"state": plain, "states": [plain]}
    data = {"state": member, "states": [member]}
    assert orjson.loads(orjson.dumps(data)) == as_json and orjson.dumps(data) == orjson.dumps(as_json)
    assert json.dumps(data) == json.dumps(as_json)
    assert json_response(data).get_data() == orjson.dumps(as_json)


@pytest.mark.parametrize(("enum", "column"), STORED, ids=lambda x: getattr(x, "__name__", str(x)))
def test_every_member_fits_the_column_it_is_stored_in(enum: type[StrEnum], column: Column[str]) -> None:
    length = getattr(column.type, "length", None)
    assert length is not None
    assert max(len(m.value) for m in enum) <= length


def test_the_lists_of_states_are_plain_strings_in_the_enums_order() -> None:
    assert sync.STATES == ("pending", "leased", "delivered", "dead", "withheld", "replayed", "withdrawn")
    assert inbound.STATES == (
        "received",
        "applied",
        "needs_match",
        "reported",
        "ignored",
        "rejected",
        "dismissed",
    )
    assert all(type(s) is str for s in sync.STATES + inbound.STATES)
    assert set(sync.OPEN) | set(sync.REPLAYABLE) < set(JobState)
