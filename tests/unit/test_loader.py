"""Mapping files are checked at load; a site overrides one file without forking."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from fhir_adapter.mapping.errors import MappingConfigError
from fhir_adapter.mapping.loader import DEFAULT_DIR, load_catalogue


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A copy of the shipped mappings to break."""
    copy = tmp_path / "mappings"
    shutil.copytree(DEFAULT_DIR, copy)
    return copy


def test_shipped_mappings_load_and_cite_their_sources(catalogue) -> None:
    assert {"client_to_patient", "plan_to_careplan", "referral_to_task"} <= set(catalogue.structures)
    assert {"hunger-vital-sign", "prapare", "ahc-hrsn", "functional"} <= set(catalogue.questionnaires)
    assert set(catalogue.published) == set(catalogue.questionnaires)


def test_an_override_directory_replaces_one_table(tmp_path: Path, catalogue) -> None:
    (tmp_path / "tables").mkdir()
    table = (DEFAULT_DIR / "tables" / "service_types.yaml").read_text()
    table = table.replace("code: job-placement", "code: local-jobs-77")
    (tmp_path / "tables" / "service_types.yaml").write_text(table)
    overridden = load_catalogue(override=tmp_path)
    assert overridden.tables["service_types"].coding("job-placement")["code"] == "local-jobs-77"
    assert overridden.tables["case_types"] == catalogue.tables["case_types"]


def test_a_table_must_cover_the_vocabulary(site: Path) -> None:
    path = site / "tables" / "case_types.yaml"
    path.write_text(
        path.read_text().replace("  hospice: {code: hospice, display: Hospice case management}\n", "")
    )
    with pytest.raises(MappingConfigError, match=r"case_types\.yaml: no entry for hospice"):
        load_catalogue(site)


def test_a_malformed_file_names_the_file_and_place(site: Path) -> None:
    path = site / "tables" / "plan_types.yaml"
    path.write_text(path.read_text().replace("sources:", "sourcez:"))
    with pytest.raises(MappingConfigError, match=r"plan_types.yaml: \(top\): .*sourcez"):
        load_catalogue(site)


def test_a_structure_naming_an_unknown_function_is_refused(site: Path) -> None:
    path = site / "resources" / "referral_to_task.yaml"
    path.write_text(path.read_text().replace("fn: task_owner", "fn: task_ownr"))
    with pytest.raises(MappingConfigError, match="no mapping function named task_ownr"):
        load_catalogue(site)


def test_a_structure_naming_an_unknown_element_is_refused(site: Path) -> None:
    path = site / "resources" / "referral_to_task.yaml"
    path.write_text(path.read_text().replace("  owner:", "  ownerz:"))
    with pytest.raises(MappingConfigError, match="elements/ownerz: Task has no such element"):
        load_catalogue(site)


def test_a_choice_item_without_options_is_refused(site: Path) -> None:
    path = site / "questionnaires" / "hunger-vital-sign.yaml"
    text = path.read_text()
    path.write_text(text.replace("type: choice", "type: string", 1))
    with pytest.raises(MappingConfigError, match=r"hunger-vital-sign\.yaml"):
        load_catalogue(site)


@pytest.mark.parametrize("broken", ["activity.all((", "activity.all(detail.empty() or", "activity detail"])
def test_an_invariant_with_a_syntax_error_is_refused(site: Path, broken: str) -> None:
    path = site / "invariants" / "r4.yaml"
    path.write_text(path.read_text().replace("activity.all(detail.empty() or reference.empty())", broken))
    with pytest.raises(MappingConfigError, match=r"invariant cpl-3: (column|unexpected)"):
        load_catalogue(site)


def test_every_named_function_is_used_by_a_structure(catalogue) -> None:
    from fhir_adapter.mapping.engine import FUNCTIONS

    named = set()
    for path in (DEFAULT_DIR / "resources").glob("*.yaml"):
        named |= set(re.findall(r"fn: ([a-z_]+)", path.read_text()))
    assert set(FUNCTIONS) - named == set(), "mapping functions no structure names"


def test_a_mappings_directory_without_a_structure_the_code_needs_is_refused(site: Path) -> None:
    (site / "resources" / "goal_to_goal.yaml").unlink()
    with pytest.raises(MappingConfigError, match="mappings/resources: missing goal_to_goal"):
        load_catalogue(site)
