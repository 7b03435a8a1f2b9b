"""The services' refusals carry no HTTP status; the HTTP layer has one for every kind of them."""

from __future__ import annotations

import pytest

from fhir_adapter.api.errors import STATUS, status_of
from fhir_adapter.service import errors

KINDS = [k for k in vars(errors).values() if isinstance(k, type) and issubclass(k, errors.ServiceError)]


@pytest.mark.parametrize("kind", [k for k in KINDS if k is not errors.ServiceError], ids=lambda k: k.__name__)
def test_every_kind_of_refusal_has_its_status(kind: type[errors.ServiceError]) -> None:
    assert kind in STATUS
    assert not hasattr(kind([]), "status")


def test_the_statuses_are_those_a_client_expects() -> None:
    assert status_of(errors.not_found("x")) == 404
    assert status_of(errors.conflict("x")) == 409
    assert status_of(errors.invalid("x")) == 422
    assert status_of(errors.unknown_reference("x", "y")) == 422
    assert status_of(errors.rule_broken("x")) == 422
    assert status_of(errors.StaleVersion([])) == 412
    assert status_of(errors.Unauthenticated([])) == 401
    assert status_of(errors.forbidden("x")) == 403
