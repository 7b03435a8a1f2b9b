"""Golden files: each fixture's mapped output, compared as data.

After an intended change to a mapping, rewrite them with `FHIR_ADAPTER_UPDATE_GOLDEN=1 make test` and review
the diff like code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fhir_adapter.api.schemas.dump import to_contract
from fhir_adapter.mapping.from_fhir_bundle import from_fhir
from fhir_adapter.mapping.to_fhir_bundle import to_fhir_bundle
from tests.conftest import CASES, EHR, ROOT, load_case, read_json

EXPECTED = ROOT / "fixtures" / "expected"
UPDATE = os.environ.get("FHIR_ADAPTER_UPDATE_GOLDEN") == "1"


def _compare(actual: object, golden: Path) -> None:
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(actual, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert golden.exists(), (
        f"no golden file {golden.relative_to(ROOT)}: run with FHIR_ADAPTER_UPDATE_GOLDEN=1"
    )
    assert actual == read_json(golden)


@pytest.mark.parametrize("case_path", CASES, ids=lambda p: p.stem)
def test_case_file_to_bundle(case_path: Path, catalogue, identity) -> None:
    bundle = to_fhir_bundle(load_case(case_path), catalogue, identity)
    _compare(bundle, EXPECTED / "bundles" / f"{case_path.stem}.json")


@pytest.mark.parametrize("ehr_path", EHR, ids=lambda p: p.stem)
def test_ehr_resource_to_records(ehr_path: Path, catalogue, identity) -> None:
    records = to_contract(from_fhir(read_json(ehr_path), catalogue, identity))
    _compare(records, EXPECTED / "records" / f"{ehr_path.stem}.json")


def test_every_fixture_has_a_golden_file() -> None:
    names = {p.stem for p in CASES} | {p.stem for p in EHR}
    goldens = {p.stem for p in EXPECTED.rglob("*.json")}
    assert names <= goldens
    assert goldens <= names, f"golden files without a fixture: {sorted(goldens - names)}"
