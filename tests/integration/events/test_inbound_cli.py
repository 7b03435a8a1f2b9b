"""The needs-a-match list from the command line: `fhir-adapter inbound` lists, `inbound match` says whom a
message is about, `inbound dismiss` that it is about nobody we serve; mistakes are a message and exit 2."""

from __future__ import annotations

import pytest

from fhir_adapter.cli import main
from tests.integration.events.conftest import Hospital
from tests.support import adt


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_a_person_matches_and_dismisses_from_the_command_line(
    hospital: Hospital, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FHIR_ADAPTER_DATABASE_URL", hospital.h.service.settings.database_url)
    org = hospital.h.org_id
    unknown = hospital.adt(adt.message("A01", hospital.visit(mrn="MRN-NEW")))["inbound"]
    stranger = hospital.adt(adt.message("A01", hospital.visit(number="V77", mrn="MRN-X")))["inbound"]
    capsys.readouterr()

    code, out, _ = run(capsys, "inbound", "--org", org, "--state", "needs_match")
    assert code == 0 and [line.split("\t")[0] for line in out.splitlines()] == [str(unknown), str(stranger)]

    code, out, _ = run(capsys, "inbound", "match", str(unknown), "--org", org, "--client", hospital.client_id)
    assert code == 0 and "\tapplied\t" in out and hospital.client_id in out, out
    assert len(hospital.h.jobs()) == 1  # the admission's push

    code, out, _ = run(capsys, "inbound", "dismiss", str(stranger), "--org", org, "--reason", "not ours")
    assert code == 0 and "\tdismissed\t" in out
    assert run(capsys, "inbound", "--org", org, "--state", "needs_match")[1] == ""


@pytest.mark.parametrize(
    "args, said",
    [
        (("inbound", "match", "1", "--org", "ORG"), "inbound match needs the message's id and --client"),
        (("inbound", "dismiss", "1", "--org", "ORG"), "inbound dismiss needs --reason"),
        (("inbound", "match", "--org", "ORG", "--client", "CL-1"), "needs the message's id"),
        (("inbound", "match", "999999", "--org", "ORG", "--client", "CL-1"), "inbound message 999999"),
        (("inbound", "match", "1", "--org", "nobody", "--client", "CL-1"), "no organisation nobody"),
    ],
)
def test_mistakes_are_a_message_and_exit_2(
    hospital: Hospital,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    said: str,
) -> None:
    monkeypatch.setenv("FHIR_ADAPTER_DATABASE_URL", hospital.h.service.settings.database_url)
    code, _, err = run(capsys, *(hospital.h.org_id if a == "ORG" else a for a in args))
    assert code == 2 and said in err, err
