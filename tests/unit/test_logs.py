"""Another library's log record keeps its wording and numbers, never its text values or exception messages."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_adapter import logs

CANARY = "Zzyzxcanary"
VALUES = st.lists(
    st.one_of(
        st.integers(), st.text(max_size=10).map(lambda t: t + CANARY), st.binary().map(lambda b: b + b"Zz")
    ),
    max_size=4,
)


@pytest.fixture(autouse=True)
def back_to_info():
    yield
    logs.configure("INFO")


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(
    name=st.sampled_from(["urllib3.connectionpool", "werkzeug", "requests", "sqlalchemy.engine", "x"]),
    args=VALUES,
)
def test_other_libraries_records_lose_their_text_values(name, args):
    logs.configure("DEBUG")
    template = " ".join("%s" if i % 2 else "%r" for i in range(len(args))) or "plain"
    record = logging.getLogger(name).makeRecord(name, logging.ERROR, "f.py", 1, template, tuple(args), None)
    rendered = logging.Formatter().format(record)
    assert CANARY not in rendered and "Zz" not in rendered
    for value in args:
        if isinstance(value, int):
            assert str(value) in rendered


# A value as a library writes it into its own message: quoted (repr or by hand), or a path, query or address.
WRITTEN = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
WRITTEN_VALUE = st.one_of(
    st.tuples(WRITTEN, WRITTEN).map(lambda t: repr(t[0] + CANARY + t[1])),  # quotes of both kinds escaped
    WRITTEN.filter(lambda t: '"' not in t and "\\" not in t).map(lambda t: f'"{t}{CANARY}"'),
    st.sampled_from(["/fhir/Patient?name=", "ip=10.0.0.1:", "user@", "%2F", "a=b&c="]).map(
        lambda p: p + CANARY
    ),
)


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(name=st.sampled_from(["gunicorn.error", "gunicorn.access", "werkzeug", "x"]), value=WRITTEN_VALUE)
def test_values_another_library_wrote_into_its_message_are_withheld(name, value):
    """gunicorn formats a refused request's line or header into the message before it logs it."""
    logs.configure("DEBUG")
    message = f"Invalid request from ip=127.0.0.1: Invalid HTTP Header name: {value} (8192 > 4094)"
    record = logging.getLogger(name).makeRecord(name, logging.WARNING, "f.py", 1, message, None, None)
    rendered = logging.Formatter().format(record)
    assert CANARY not in rendered
    assert rendered.startswith("Invalid request from") and rendered.endswith("(8192 > 4094)")


def test_an_exception_is_named_by_type_and_place_not_message():
    logs.configure("DEBUG")
    try:
        raise ValueError(CANARY)
    except ValueError as err:
        record = logging.getLogger("werkzeug").makeRecord(
            "werkzeug", 40, "f.py", 1, "Error on request", (), (ValueError, err, err.__traceback__)
        )
    rendered = logging.Formatter().format(record)
    assert "ValueError at test_logs.py:" in rendered and CANARY not in rendered


def test_our_own_records_keep_their_values():
    logs.configure("DEBUG")
    record = logging.getLogger("fhir_adapter.x").makeRecord(
        "fhir_adapter.x", 10, "f.py", 1, "n=%s", ("kept",), None
    )
    assert logging.Formatter().format(record) == "n=kept"
    assert logging.getLogger("urllib3").getEffectiveLevel() == logging.WARNING
