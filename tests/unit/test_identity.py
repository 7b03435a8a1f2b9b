from __future__ import annotations

import uuid

from fhir_adapter.mapping.identity import Identity

IDENTITY = Identity("tenant-a", "cms", "https://cms.example.org/ids/")


def test_uuid_is_deterministic_and_version_5() -> None:
    first = IDENTITY.uuid("referral", "RF-1")
    assert first == IDENTITY.uuid("referral", "RF-1")
    assert uuid.UUID(first).version == 5


def test_every_part_of_the_identity_changes_the_id() -> None:
    base = IDENTITY.uuid("referral", "RF-1")
    assert base != Identity("tenant-b", "cms", IDENTITY.namespace).uuid("referral", "RF-1")
    assert base != Identity("tenant-a", "other-cms", IDENTITY.namespace).uuid("referral", "RF-1")
    assert base != IDENTITY.uuid("referral-task", "RF-1")
    assert base != IDENTITY.uuid("referral", "RF-2")


def test_parts_cannot_run_into_each_other() -> None:
    assert IDENTITY.uuid("a", "b-c") != IDENTITY.uuid("a-b", "c")


def test_identifier_systems_are_kinds_under_the_namespace() -> None:
    assert IDENTITY.identifier("client", "CL-1") == {
        "system": "https://cms.example.org/ids/client",
        "value": "CL-1",
    }
    assert IDENTITY.kind_of("https://cms.example.org/ids/goal") == "goal"
    assert IDENTITY.kind_of("urn:oid:2.16.840.1.113883.19.5") is None


def test_search_token_values_are_escaped() -> None:
    from fhir_adapter.mapping.to_fhir_bundle import escape_token

    assert escape_token("AS-1/88122-7/0") == "AS-1/88122-7/0"
    assert escape_token("a|b,c$d\\e") == "a\\|b\\,c\\$d\\\\e"
