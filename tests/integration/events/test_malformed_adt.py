"""Whatever bytes come framed as an ADT message, over MLLP or HTTP, the answer is an ACK: AA, or AE with
the reason and an HL7 table 0357 code (never an AR that makes the sender send it for ever, never a 500);
AR only when the database is away. The same bytes sent again are not stored again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hl7
import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from fhir_adapter.adapters.db import make_engine, reading
from fhir_adapter.adapters.sync_tables import inbound_messages
from fhir_adapter.adapters.unit_of_work import SqlStorage
from fhir_adapter.api.schemas.contract import JsonContract
from fhir_adapter.app import create_app
from fhir_adapter.bootstrap import bootstrap
from fhir_adapter.config import Settings
from fhir_adapter.domain.stored import OrgRow
from fhir_adapter.domain.sync import Ehr
from fhir_adapter.service import intake
from fhir_adapter.service.auth import to_org
from fhir_adapter.service.context import utc_now
from fhir_adapter.service.records import Deps
from tests.integration.events.conftest import Hospital
from tests.support import adt
from tests.support.adt_mutations import mutated

TABLE_0357 = {"100", "101", "102", "103", "200", "201", "202", "203", "204", "205", "206", "207"}
ER7 = {"Content-Type": "x-application/hl7-v2+er7", "Accept": "x-application/hl7-v2+er7"}
REAL = adt.message("A01", adt.Visit(mrn="MRN-448812", number="V1001"), control_id="MSG00001")
MALFORMED = [
    "MSH|^~\\&|X",
    "MSH|^~\\&",
    "MSH|^~\\&|",
    REAL.replace("|ADT^A01^ADT_A01|", "|ADT|"),  # MSH-9 without a trigger event
    "MSH|^~\\&|ADT|RGH|FHIRADAPTER",  # too few fields
    REAL.replace("MSH|^~", "MSH^~", 1),  # MSH-1 not the field separator
    REAL.replace("MSH|^~\\&|", "MSH||", 1),  # no encoding characters
    REAL.replace("20251014083000-0500", "20251014083000+9999"),  # PV1-44 with a zone that is no zone
    REAL.replace("20251014083000-0500", "00010101000000+0100"),  # before the first representable instant
    REAL.replace("|MSG00001|", "|MSG\x0000001|"),  # a NUL byte in MSH-10
    "MSH|^~\\&|" + "|" * 30,
    "not HL7 at all",
    "",
]


def rows(hospital: Hospital) -> int:
    query = select(func.count()).select_from(inbound_messages)
    query = query.where(inbound_messages.c.org_id == hospital.h.org_id)
    with reading(hospital.h.service.engine) as conn:
        return int(conn.execute(query).scalar_one())


def answer(ack: str) -> tuple[str, str, str]:
    """(MSA-1, MSA-3, ERR-3.1) of an ACK, which must parse as one."""
    message = hl7.parse(ack.replace("\n", "\r"))
    assert str(message.segment("MSH")[9]).startswith("ACK"), ack
    own_id = str(message.segment("MSH")[10])
    assert 0 < len(own_id) <= 20, ack
    msa = message.segment("MSA")
    code, text = str(msa[1]), str(msa[3]) if len(msa) > 3 else ""
    try:
        err = str(message.segment("ERR")[3][0][0])
    except KeyError:
        err = ""
    return code, text, err


def assert_taken(ack: str, storage_down: bool = False) -> str:
    """AA, or AE with the reason and a 0357 code; AR only when `storage_down`."""
    code, text, err = answer(ack)
    assert code in (("AR",) if storage_down else ("AA", "AE")), ack
    if code != "AA":
        assert text and err in TABLE_0357, ack
    if code == "AE":
        assert err != "207", ack  # an internal error of ours is no reason to give for the content
    return code


@pytest.fixture
def sender(listener: adt.Listener) -> Iterator[adt.Sender]:
    connection = adt.Sender(listener.port)
    yield connection
    connection.close()


def over_http(hospital: Hospital, data: bytes) -> str:
    path = f"/api/v1/ehrs/{hospital.h.ehr_id}/adt"
    response = hospital.h.client.post(path, data=data, headers=hospital.h.headers | ER7)
    assert response.status_code in (200, 400), (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "x-application/hl7-v2+er7"
    return str(response.get_data(as_text=True))


def send_twice_each_way(hospital: Hospital, sender: adt.Sender, data: bytes) -> list[str]:
    """Send over MLLP, again over MLLP, then over HTTP: one row at most, from the first."""
    before = rows(hospital)
    codes = [assert_taken(sender.send_bytes(data))]
    stored = rows(hospital)
    assert stored - before <= 1
    codes.append(assert_taken(sender.send_bytes(data)))
    codes.append(assert_taken(over_http(hospital, data)))
    assert rows(hospital) == stored, data
    return codes


@pytest.mark.parametrize("text", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_message_is_ae_with_a_0357_code_and_stored_once(
    hospital: Hospital, sender: adt.Sender, text: str
) -> None:
    before = rows(hospital)
    codes = send_twice_each_way(hospital, sender, text.encode())
    assert codes == ["AE", "AE", "AE"]
    assert rows(hospital) == before + 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=mutated())
def test_any_mutated_message_gets_aa_or_ae_and_is_stored_once(
    hospital: Hospital, sender: adt.Sender, data: bytes
) -> None:
    codes = send_twice_each_way(hospital, sender, data)
    assert codes[0] in ("AA", "AE")
    assert codes[1:] == [codes[0]] * 2, codes


# --- the database away ---


def test_storage_away_is_ar_for_any_message_over_mllp(catalogue: Any) -> None:
    """AR, for a well-formed message and a malformed one alike: nothing could be kept, so send it again."""
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    ehr = Ehr("org", "hospital", "http://127.0.0.1:1", "none")

    deps = Deps(catalogue, utc_now, JsonContract())
    org = to_org(OrgRow("org", "Org", "https://org.example/ids"), Settings())

    def handle(text: str) -> str:
        return intake.take_v2(SqlStorage(engine), deps, org, False, ehr, text, "mllp")[1]

    listener = adt.Listener(handle).start()
    connection = adt.Sender(listener.port)
    try:
        for text in [REAL, *MALFORMED]:
            assert_taken(connection.send(text), storage_down=True)
    finally:
        connection.close()
        listener.stop()
        engine.dispose()


def test_storage_away_is_a_503_over_http(catalogue: Any) -> None:
    services = bootstrap(
        Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"), catalogue=catalogue
    )
    client = create_app(services=services).test_client()
    headers = {"Authorization": "Bearer fa_some-token"} | ER7
    try:
        for text in (REAL, MALFORMED[0]):
            response = client.post("/api/v1/ehrs/hospital/adt", data=text, headers=headers)
            assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    finally:
        services.close()
