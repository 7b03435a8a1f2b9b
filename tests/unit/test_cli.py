"""The CLI as a user meets it: output on stdout, errors naming file and field, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fhir_adapter.cli import main
from tests.conftest import CASES, EHR, ROOT


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_map_prints_a_transaction_bundle(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "map", str(CASES[0]))
    assert code == 0, err
    bundle = json.loads(out)
    assert bundle["resourceType"] == "Bundle"
    assert next(iter(bundle)) == "resourceType"
    assert bundle["type"] == "transaction"


def test_map_put_mode(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "map", "--write-mode", "put", str(CASES[0]))
    assert code == 0
    assert all(e["request"]["url"].count("/") == 1 for e in json.loads(out)["entry"])


def test_map_reverse_prints_case_records_and_findings(capsys: pytest.CaptureFixture[str]) -> None:
    ehr = ROOT / "fixtures" / "ehr" / "careplan-discharge.json"
    code, out, err = run(capsys, "map", "--reverse", "--client-id", "CL-1", str(ehr))
    assert code == 0, err
    records = json.loads(out)
    assert records["service_plans"][0]["client_id"] == "CL-1"
    assert any("discharge-checklist-item" in f["message"] for f in records["findings"])


def test_bad_case_file_names_the_file_and_every_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"client": {"id": "CL-1", "names": [{"text": "A"}], "gender": "f"}, "referrals": [{}]})
    )
    code, out, err = run(capsys, "map", str(bad))
    assert code == 2
    assert out == ""
    assert f"{bad}: client.gender: Must be one of" in err
    assert f"{bad}: referrals[0].service_type: Missing data for required field." in err


def test_a_mapping_error_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = json.loads(CASES[0].read_text())
    case["assessments"][0]["items"][0]["link_id"] = "no-such-item"
    bad = tmp_path / "case.json"
    bad.write_text(json.dumps(case))
    code, _, err = run(capsys, "map", str(bad))
    assert code == 2
    assert "assessments[0].items[0].link_id" in err
    assert "no-such-item" in err


def test_not_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    code, _, err = run(capsys, "map", str(bad))
    assert (code, err.startswith(f"{bad}: not JSON")) == (2, True)


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "map", "/nonexistent/case.json")
    assert code == 2
    assert "cannot read" in err


def test_validate_reports_ok_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    task = json.loads((ROOT / "fixtures" / "ehr" / "task-referral-accepted.json").read_text())
    task["status"] = "finished"
    bad = tmp_path / "task.json"
    bad.write_text(json.dumps(task))
    code, out, _ = run(capsys, "validate", str(EHR[0]), str(bad))
    assert code == 1
    assert f"{EHR[0]}: OK" in out
    assert "Task.status: 'finished' is not in the required value set" in out


def test_a_broken_override_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "plan_types.yaml").write_text("table: plan_types\ncodes: {}\n")
    monkeypatch.setenv("FHIR_ADAPTER_MAPPINGS_OVERRIDE", str(tmp_path))
    code, _, err = run(capsys, "map", str(CASES[0]))
    assert code == 2
    assert err.startswith("mappings: ") and "plan_types.yaml" in err


def test_the_console_script_runs_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    exe = Path(sys.executable).with_name("fhir-adapter")
    result = subprocess.run([str(exe), "map", str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "a case file is a JSON object" in result.stderr
