"""The stores the services are handed are the adapters' functions with the connection bound: each method an
interface of service/stores.py declares exists in its store module with the same parameters, defaults and
types, and the unit of work binds nothing else."""

from __future__ import annotations

import inspect
import typing

import pytest

from fhir_adapter.adapters.unit_of_work import MODULES, SqlWork, members
from fhir_adapter.service import ports, stores
from tests.support import fakes

FAKES = [
    (fake, protocol, name)
    for fake, protocol in (
        (fakes.FakeRecords, stores.Records),
        (fakes.FakeResources, stores.Resources),
        (fakes.FakePatients, stores.Patients),
        (fakes.FakeEhrs, stores.Ehrs),
        (fakes.FakeOutbox, stores.Outbox),
        (fakes.FakeAdmissions, stores.Admissions),
        (fakes.FakeMessages, stores.Messages),
        (fakes.FakeAudit, stores.Audit),
        (fakes.FakeAttachments, stores.Attachments),
    )
    for name in members(protocol)
    if hasattr(fake, name)
]

PAIRS = [(store, name) for store, (protocol, _) in MODULES.items() for name in members(protocol)]


def _shape(function: typing.Callable[..., object], skip: int) -> tuple[object, ...]:
    hints = typing.get_type_hints(function)
    params = list(inspect.signature(function).parameters.values())[skip:]
    return (
        [(p.name, p.kind, p.default, hints.get(p.name)) for p in params],
        hints.get("return"),
    )


@pytest.mark.parametrize(("store", "name"), PAIRS, ids=[f"{s}.{n}" for s, n in PAIRS])
def test_each_declared_method_is_the_store_function_with_the_connection_bound(store: str, name: str) -> None:
    protocol, module = MODULES[store]
    assert _shape(getattr(protocol, name), skip=1) == _shape(getattr(module, name), skip=1)


def test_the_unit_of_work_has_every_store_the_services_are_promised() -> None:
    promised = {name for name, value in vars(ports.Work).items() if isinstance(value, property)}
    assert promised == set(MODULES)


def test_a_store_function_no_interface_declares_is_not_reachable() -> None:
    work = SqlWork(conn=None)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        work.records.delete_everything  # type: ignore[attr-defined]  # noqa: B018


@pytest.mark.parametrize(("fake", "protocol", "name"), FAKES, ids=[f"{f.__name__}.{n}" for f, _, n in FAKES])
def test_the_fakes_answer_to_the_same_signatures(fake: type, protocol: type, name: str) -> None:
    """What a fake has of a store, it has as the store declares it (what it lacks, a test using it misses)."""
    assert _shape(getattr(fake, name), skip=1) == _shape(getattr(protocol, name), skip=1)
