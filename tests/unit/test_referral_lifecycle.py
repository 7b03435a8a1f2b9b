from __future__ import annotations

import pytest

from fhir_adapter.domain.errors import DomainError, IllegalTransition
from fhir_adapter.domain.records import Referral
from fhir_adapter.domain.referrals import TRANSITIONS, transition

AT = "2025-10-14T16:20:00-05:00"


def _referral(status: str = "draft") -> Referral:
    return Referral(id="RF-1", client_id="CL-1", service_type="housing", status=status, authored_on=AT)  # type: ignore[arg-type]


def test_the_happy_path_runs_from_draft_to_completed() -> None:
    referral = _referral()
    for status in ("sent", "accepted", "in-progress", "completed"):
        referral = transition(referral, status, AT)  # type: ignore[arg-type]
    assert referral.status == "completed"
    assert referral.status_changed_at == AT


@pytest.mark.parametrize(
    ("start", "target"),
    [("draft", "accepted"), ("sent", "completed"), ("completed", "in-progress"), ("declined", "sent")],
)
def test_illegal_transitions_name_both_states(start: str, target: str) -> None:
    with pytest.raises(IllegalTransition) as err:
        transition(_referral(start), target, AT)  # type: ignore[arg-type]
    assert start in str(err.value)
    assert target in str(err.value)
    assert err.value.path == "status"


@pytest.mark.parametrize("closing", ["declined", "cancelled"])
def test_declining_or_cancelling_needs_a_reason(closing: str) -> None:
    with pytest.raises(DomainError) as err:
        transition(_referral("sent"), closing, AT)  # type: ignore[arg-type]
    assert err.value.path == "status_reason"
    assert (
        transition(_referral("sent"), closing, AT, "client moved away").status_reason == "client moved away"
    )  # type: ignore[arg-type]


def test_final_states_allow_nothing() -> None:
    assert TRANSITIONS["completed"] == TRANSITIONS["declined"] == TRANSITIONS["cancelled"] == frozenset()
