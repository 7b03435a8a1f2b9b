"""The ACK is built from any text at all, parses, says only what it means to (nothing the sender sent can
add a field or a segment to it), and carries an id of its own that no other ACK shares."""

from __future__ import annotations

import hl7
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_adapter.events import v2_ack
from tests.support import adt

REAL = adt.message("A01", adt.Visit(mrn="MRN-1", number="V1"), control_id="MSG00001")
CODES = ("AA", "AE", "AR")


def check(ack: str, code: str) -> hl7.Message:
    """The ACK parses; MSH has its 12 fields, MSA-1 is `code`, and an ERR with a 0357 code unless AA."""
    lines = ack.split("\r")
    assert lines[-1] == "" and [line[:4] for line in lines[:-1]] == (
        ["MSH|", "MSA|"] if code == "AA" else ["MSH|", "MSA|", "ERR|"]
    ), ack
    assert len(lines[0].split("|")) == 12, ack  # "MSH" and MSH-2 ... MSH-12: nothing came in between
    message = hl7.parse(ack)
    assert str(message.segment("MSA")[1]) == code
    own = str(message.segment("MSH")[10])
    assert 0 < len(own) <= 20
    if code != "AA":
        err = message.segment("ERR")
        assert len(lines[2].split("|")) == 9, ack
        assert str(err[3][0][0]) in v2_ack.CONDITIONS and str(err[3][0][2]) == "HL70357"
    return message


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "MSH",
        "MSH|",
        "MSH|^~\\&|X",
        "MSH|^~\\&",
        "MSH^~\\&|ADT|RGH",
        "MSH||ADT|RGH|FA|CMS||ADT^A01|1|P|2.5",
        "MSHa^~\\&aADTaRGH",
        REAL.replace("|ADT^A01^ADT_A01|", "|ADT|"),
        "MSH#^~\\&#A|B#C^D#E\rF#G##ACK^A01#ID|X#P#2.5",
        "MSH|^~\\&|\x0b\x1c\r\x1c|fac||||ADT^A01|\x00id\x1c|P|2.5",
        "MSH*@!%$*APP@ONE*FAC%X**RECV****ADT@A01*ID^|~&\\*T*2.3",
    ],
)
def test_an_ack_is_built_from_any_header(raw: str | None) -> None:
    for code in CODES:
        check(v2_ack.ack(raw, code, "a reason with | and ^ and \r in it", "101", "MSH-9"), code)


def test_the_ack_echoes_the_header_in_its_own_encoding() -> None:
    raw = "MSH*@!%$*APP@ONE*FAC|X*RECV****ADT@A01*ID|7*T*2.3"
    msh = v2_ack.ack(raw, "AA").split("\r")[0].split("|")
    assert msh[2:6] == ["RECV", "", "APP^ONE", "FAC\\F\\X"]
    assert (msh[8], msh[10], msh[11]) == ("ACK^A01^ACK", "T", "2.3")
    msa = v2_ack.ack(raw, "AA").split("\r")[1]
    assert msa == "MSA|AA|ID\\F\\7"


@settings(max_examples=300, deadline=None)
@given(
    raw=st.one_of(
        st.text(),
        st.text().map(lambda t: "MSH" + t),
        st.text().map(lambda t: REAL[:9] + t),
        st.integers(0, len(REAL)).map(lambda n: REAL[:n]),
    ),
    code=st.sampled_from(CODES),
    reason=st.text(max_size=300),
    condition=st.text(max_size=4),
    where=st.text(max_size=8),
)
def test_any_text_gets_a_well_formed_ack(
    raw: str, code: str, reason: str, condition: str, where: str
) -> None:
    check(v2_ack.ack(raw, code, reason, condition, where), code)


@settings(max_examples=50, deadline=None)
@given(ids=st.lists(st.text(min_size=1, max_size=40), min_size=2, max_size=60, unique=True))
def test_no_two_acks_share_an_id(ids: list[str]) -> None:
    """Sent in the same second, ids alike in their first 20 characters or not: each ACK has its own."""
    own = [
        str(hl7.parse(v2_ack.ack(REAL.replace("|MSG00001|", f"|{i}|"), "AA")).segment("MSH")[10]) for i in ids
    ]
    assert len(set(own)) == len(own)
    assert all(0 < len(i) <= 20 for i in own)


def test_a_control_id_with_a_backslash_is_echoed_whole() -> None:
    answer = v2_ack.ack("MSH|^~\\&|A|B|C|D|20250101||ADT^A01|AB\\CD|P|2.5", "AA")
    assert answer.split("\r")[1] == "MSA|AA|AB\\CD"
