"""The delivery commands as a user runs them: ehrs, deliveries, replay, keys and worker; messages and exit
codes on a SQLite file, no tracebacks."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from fhir_adapter import logs
from fhir_adapter.adapters import capability_store
from fhir_adapter.adapters.db import make_engine, writing
from fhir_adapter.cli import main, parser
from fhir_adapter.delivery.worker import Worker

BEARER = "s3cret-static-bearer-token"
HOSPITAL = ("ehrs", "add", "hospital", "--org", "acme", "--base-url", "https://ehr.example.org/fhir/")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("FHIR_ADAPTER_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.delenv("FHIR_ADAPTER_SIGNING_KEYS", raising=False)
    return path


@pytest.fixture
def acme(db: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A migrated database with an API client, so an organisation acme."""
    code, _, err = run(capsys, "clients", "add", "--org", "acme", "--scopes", "system/*.read")
    assert code == 0, err
    return db


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


# --- ehrs ---


@pytest.mark.parametrize(
    "args",
    [
        ("ehrs", "add", "hospital", "--base-url", "https://ehr.example.org/fhir"),
        ("ehrs", "add", "hospital", "--org", "acme"),
        ("ehrs", "add", "--org", "acme", "--base-url", "https://ehr.example.org/fhir"),
    ],
)
def test_ehrs_add_needs_org_id_and_base_url(
    db: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert "ehrs add needs --org, an EHR id and --base-url" in err
    assert out == ""


def test_ehrs_add_for_an_unknown_organisation(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *HOSPITAL, "--bearer", BEARER)
    assert code == 2
    assert "no organisation acme" in err
    assert out == ""


def test_ehrs_add_list_and_remove(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *HOSPITAL, "--bearer", BEARER)
    assert code == 0, err
    assert out == "EHR hospital of acme: https://ehr.example.org/fhir (bearer)\n"

    code, out, _ = run(capsys, "ehrs", "list", "--org", "acme")
    assert code == 0
    assert out == "acme\thospital\thttps://ehr.example.org/fhir\tbearer\twithholds restricted\n"

    assert run(capsys, "ehrs", "remove", "hospital", "--org", "acme")[:2] == (0, "EHR hospital removed\n")
    code, out, err = run(capsys, "ehrs", "remove", "hospital", "--org", "acme")
    assert code == 2
    assert "no EHR hospital in acme" in out + err
    assert run(capsys, "ehrs", "list", "--org", "acme")[:2] == (0, "")


def test_ehrs_list_does_not_show_the_bearer_token(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, *HOSPITAL, "--bearer", BEARER)[0] == 0
    for args in (("ehrs", "list", "--org", "acme"), ("ehrs", "list")):
        code, out, err = run(capsys, *args)
        assert code == 0
        assert "hospital" in out
        assert BEARER not in out + err


def test_ehrs_add_twice_is_refused(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, *HOSPITAL, "--bearer", BEARER)[0] == 0
    code, out, err = run(capsys, *HOSPITAL)
    assert code == 2
    assert "EHR hospital exists in acme" in err
    assert out == ""


def test_ehrs_add_smart_and_send_restricted(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *HOSPITAL, "--client-id", "fa-client", "--send-restricted")
    assert code == 0, err
    assert out.endswith("(smart)\n")
    assert run(capsys, "ehrs", "list", "--org", "acme")[1].endswith("\tsmart\tsends restricted\n")


# --- deliveries and replay ---


def test_deliveries_of_an_empty_queue_prints_nothing(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "deliveries", "--org", "acme") == (0, "", "")
    assert run(capsys, "deliveries", "--org", "acme", "--state", "dead", "--json") == (0, "", "")


def test_replay_needs_a_job_or_all_dead(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "replay", "--org", "acme")
    assert code == 2
    assert "replay needs a job id or --all-dead" in err
    assert out == ""


def test_replay_all_dead_without_dead_letters(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "replay", "--org", "acme", "--all-dead") == (0, "no dead letters\n", "")


def test_replay_of_an_unknown_job(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "replay", "999", "--org", "acme")
    assert code == 2
    assert "delivery job 999 is not known" in err
    assert out == ""


# --- keys ---


def test_keys_generate_prints_the_kid_and_refuses_to_overwrite(
    tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "keys" / "rs.pem"
    code, out, err = run(capsys, "keys", "generate", str(path), "--alg", "RS384")
    assert code == 0, err
    kid = out.split(" key ")[1].split(";")[0]
    assert out.startswith(f"{path}: RS384 key ")
    assert len(kid) == 43

    before = path.read_bytes()
    code, out, err = run(capsys, "keys", "generate", str(path), "--alg", "RS384")
    assert code == 2
    assert f"{path} exists" in err
    assert path.read_bytes() == before


def test_keys_jwks_publishes_the_configured_key(
    tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ec.pem"
    code, generated, _ = run(capsys, "keys", "generate", str(path))
    assert code == 0
    monkeypatch.setenv("FHIR_ADAPTER_SIGNING_KEYS", str(path))
    code, out, err = run(capsys, "keys", "jwks")
    assert code == 0, err
    published = json.loads(out)
    assert len(published["keys"]) == 1
    (key,) = published["keys"]
    assert key["kty"] == "EC" and key["alg"] == "ES384" and "d" not in key
    assert f"ES384 key {key['kid']};" in generated


def test_keys_jwks_with_a_missing_key(
    tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.pem"
    monkeypatch.setenv("FHIR_ADAPTER_SIGNING_KEYS", str(missing))
    code, out, err = run(capsys, "keys", "jwks")
    assert code == 2
    assert str(missing) in err and "fhir-adapter keys generate" in err
    assert out == ""


# --- worker ---


def test_worker_on_a_database_not_migrated(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(logs, "configure", lambda level: None)  # keep the test run's logging as it is

    def no_loop(*args: object) -> None:
        raise AssertionError("the worker loop must not start")

    monkeypatch.setattr(Worker, "run", no_loop)
    code, out, err = run(capsys, "worker")
    assert code == 2
    assert "run `fhir-adapter db upgrade`" in err
    assert out == ""


def _options(p: argparse.ArgumentParser, where: str = "fhir-adapter") -> list[tuple[str, argparse.Action]]:
    """Every option of every command, with the command it belongs to."""
    found = []
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _options(sub, f"{where} {name}")
        elif action.option_strings:
            found.append((where, action))
    return found


def test_every_option_that_names_a_state_lists_the_states_it_takes() -> None:
    """A mistyped state is refused with the list, instead of matching nothing and printing an empty list."""
    states = [(where, a) for where, a in _options(parser()) if a.dest == "state"]
    assert {where for where, _ in states} >= {"fhir-adapter deliveries", "fhir-adapter inbound"}
    assert [where for where, a in states if not a.choices] == []


def test_a_mistyped_state_is_refused_with_the_states(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["inbound", "list", "--org", "acme", "--state", "needs-match"])
    assert exit_.value.code == 2
    assert "needs_match" in capsys.readouterr().err


def test_ehrs_update_sets_the_sites_ways_and_show_prints_them(
    acme: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, *HOSPITAL, "--bearer", BEARER)[0] == 0
    code, out, err = run(capsys, "ehrs", "update", "hospital", "--org", "acme", "--way", "CarePlan=document")
    assert code == 0, err
    assert out == "EHR hospital of acme: the site's ways: CarePlan=document\n"
    code, out, _ = run(capsys, "ehrs", "update", "hospital", "--org", "acme", "--way", "Goal=conditional")
    assert out.endswith("CarePlan=document, Goal=conditional\n")
    code, out, _ = run(capsys, "ehrs", "show", "hospital", "--org", "acme")
    assert code == 0
    assert out.splitlines()[1:] == [
        "capabilities: not read yet (the worker reads them before it first delivers; --refresh now)",
        "  CarePlan\tdocument\t(site)",
        "  Goal\tconditional\t(site)",
    ]
    code, out, _ = run(capsys, "ehrs", "update", "hospital", "--org", "acme", "--clear-ways")
    assert out.endswith("none (the EHR's statement decides)\n")


def test_ehrs_show_says_where_the_ehr_names_none_of_our_profiles(
    acme: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, *HOSPITAL, "--bearer", BEARER)[0] == 0
    core = "http://hl7.org/fhir/us/core/StructureDefinition"
    read_only = {"interactions": ["read", "search-type"]}
    statement = {
        "transaction": False,
        "types": {
            "CarePlan": read_only | {"profiles": ["https://ehr.example.org/sd/hospital-careplan|2"]},
            "DocumentReference": {
                "interactions": ["create", "read"],
                "profiles": [f"{core}/us-core-documentreference|6.1.0"],
            },
            "Task": read_only | {"profiles": [f"{core}/us-core-task"]},  # ours claim none
            "Patient": read_only,
        },
    }
    engine = make_engine(f"sqlite:///{acme}")
    with writing(engine) as conn:
        capability_store.store(conn, "acme", "hospital", statement, "2026-03-02T09:14:07Z")
    engine.dispose()
    code, out, _ = run(capsys, "ehrs", "show", "hospital", "--org", "acme")
    assert code == 0
    assert out.splitlines()[1:] == [
        "capabilities read 2026-03-02T09:14:07Z; transaction Bundles: no",
        "  CarePlan\tdocument\t(profiles: the EHR names none of ours: us-core-careplan; "
        "it names: hospital-careplan|2)",
        "  DocumentReference\tdocument",
        "  Patient\tdocument",
        "  Task\tdocument",
    ]


def test_ehrs_update_refuses_a_way_it_does_not_know_and_an_unknown_ehr(
    acme: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, *HOSPITAL, "--bearer", BEARER)[0] == 0
    code, _, err = run(capsys, "ehrs", "update", "hospital", "--org", "acme", "--way", "CarePlan=fax")
    assert code == 2 and "one of put, conditional, document" in err
    code, _, err = run(capsys, "ehrs", "update", "nowhere", "--org", "acme", "--way", "Goal=put")
    assert code == 2 and "no EHR nowhere in acme" in err
    assert run(capsys, "ehrs", "show", "nowhere", "--org", "acme")[0] == 2


def test_preview_of_an_ehr_not_registered_says_so(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "preview", "--org", "acme", "--ehr", "nowhere", "--client", "CL-1")
    assert (code, out) == (2, "")
    assert "no EHR nowhere in acme" in err
