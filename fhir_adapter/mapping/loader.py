"""Load mappings/ (and a site's override directory) into a checked Catalogue at start-up."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from fhir_adapter.domain.vocabulary import TABLE_COVERS
from fhir_adapter.mapping import file_schemas
from fhir_adapter.mapping.catalogue import Catalogue, Invariant, ItemDef, QuestionnaireDef, Structure
from fhir_adapter.mapping.engine import compile_structure
from fhir_adapter.mapping.errors import MappingConfigError
from fhir_adapter.mapping.fhirpath import FhirPathSyntaxError, compile_expression
from fhir_adapter.mapping.kinds import STRUCTURES
from fhir_adapter.mapping.strict import model_class
from fhir_adapter.mapping.terminology import CodeTable

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "mappings"


def _files(base: Path, override: Path | None, folder: str) -> list[Path]:
    """YAML files of one folder; a file of the same name in the override directory replaces the base one."""
    found: dict[str, Path] = {}
    for root in (base, override):
        if root is not None and (root / folder).is_dir():
            for path in sorted((root / folder).glob("*.yaml")):
                found[path.name] = path
    return [found[name] for name in sorted(found)]


def _read(path: Path, schema: dict[str, Any]) -> Any:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise MappingConfigError(f"{path}: cannot read: {err}") from err
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].path) or "(top)"
        raise MappingConfigError(f"{path}: {where}: {errors[0].message}")
    return data


def _table(path: Path, data: dict[str, Any]) -> CodeTable:
    table = CodeTable(
        name=data["table"],
        entries=data["codes"],
        system=data.get("system"),
        columns=tuple(data.get("columns", ())),
        reverse_extra=data.get("reverse", {}),
    )
    for key, entry in table.entries.items():
        missing = [c for c in table.columns if c not in entry]
        if missing:
            raise MappingConfigError(f"{path}: codes/{key}: no {', '.join(missing)}")
        if not table.columns and "code" in entry and not entry.get("system", table.system):
            raise MappingConfigError(f"{path}: codes/{key}: a code needs a system")
    return table


def _questionnaire(data: dict[str, Any], canonical_base: str) -> QuestionnaireDef:
    items = tuple(
        ItemDef(
            link_id=i["link_id"],
            text=i["text"],
            type=i["type"],
            code=i.get("code"),
            repeats=i.get("repeats", False),
            required=i.get("required", False),
            options=tuple(i.get("options", ())),
            unit=i.get("unit"),
            extract=i.get("extract"),
        )
        for i in data["items"]
    )
    return QuestionnaireDef(
        kind=data["kind"],
        name=data["name"],
        title=data["title"],
        version=data["version"],
        url=f"{canonical_base}/Questionnaire/{data['kind']}",
        items=items,
        code=data.get("code"),
    )


def _check_questionnaire(path: Path, q: QuestionnaireDef, tables: dict[str, CodeTable]) -> None:
    link_ids = [i.link_id for i in q.items]
    dupes = sorted({x for x in link_ids if link_ids.count(x) > 1})
    if dupes:
        raise MappingConfigError(f"{path}: items: link_id {dupes[0]} appears twice")
    for item in q.items:
        extract = item.extract or {}
        if extract.get("category") and extract["category"] not in tables["observation_categories"].entries:
            raise MappingConfigError(
                f"{path}: items/{item.link_id}/extract: unknown category {extract['category']}"
            )
        if extract.get("sdoh_category") and extract["sdoh_category"] not in tables["sdoh_categories"].entries:
            raise MappingConfigError(
                f"{path}: items/{item.link_id}/extract: unknown sdoh_category {extract['sdoh_category']}"
            )


def _invariants(path: Path, data: dict[str, Any]) -> dict[str, tuple[Invariant, ...]]:
    by_resource: dict[str, list[Invariant]] = {}
    for spec in data["invariants"]:
        try:
            compiled = compile_expression(spec["expression"])
        except FhirPathSyntaxError as err:
            raise MappingConfigError(f"{path}: invariant {spec['key']}: {err}") from err
        context = spec["context"].split(".")[1:]
        guards = [w.split(".") for w in spec.get("when", [])] or ([context] if context else [])
        inv = Invariant(
            key=spec["key"],
            resource=spec["resource"],
            guards=tuple(tuple(g) for g in guards),
            human=spec["human"],
            expression=spec["expression"],
            evaluate=compiled,
        )
        by_resource.setdefault(spec["resource"], []).append(inv)
    return {k: tuple(v) for k, v in by_resource.items()}


def _check_coverage(tables: dict[str, CodeTable]) -> None:
    for name, values in TABLE_COVERS.items():
        missing = [v for v in values if v not in tables[name].entries]
        if missing:
            raise MappingConfigError(f"mappings/tables/{name}.yaml: no entry for {', '.join(missing)}")


def load_catalogue(directory: Path | None = None, override: Path | None = None) -> Catalogue:
    """Read and check every mapping file; raises MappingConfigError naming the file and place."""
    base = directory or DEFAULT_DIR
    project_file = (override / "project.yaml") if override and (override / "project.yaml").exists() else None
    project = _read(project_file or base / "project.yaml", file_schemas.PROJECT)
    canonical = project["canonical_base"].rstrip("/")
    tables: dict[str, CodeTable] = {}
    for path in _files(base, override, "tables"):
        table = _table(path, _read(path, file_schemas.TABLE))
        tables[table.name] = table
    _require("tables", tables, REQUIRED_TABLES)
    _check_coverage(tables)
    questionnaires: dict[str, QuestionnaireDef] = {}
    for path in _files(base, override, "questionnaires"):
        q = _questionnaire(_read(path, file_schemas.QUESTIONNAIRE), canonical)
        _check_questionnaire(path, q, tables)
        questionnaires[q.kind] = q
    for module in FUNCTION_MODULES:
        importlib.import_module(module)
    structures = {path.stem: _structure(path, tables) for path in _files(base, override, "resources")}
    _require("resources", structures, REQUIRED_STRUCTURES)
    invariants: dict[str, tuple[Invariant, ...]] = {}
    for path in _files(base, override, "invariants"):
        invariants.update(_invariants(path, _read(path, file_schemas.INVARIANTS)))
    catalogue = Catalogue(canonical, tables, questionnaires, structures, invariants)
    _publish_questionnaires(catalogue)
    return catalogue


def _publish_questionnaires(catalogue: Catalogue) -> None:
    """Render every Questionnaire once and validate it: a definition that is not valid FHIR stops start-up."""
    from fhir_adapter.mapping.to_fhir_assessment import to_fhir_questionnaire
    from fhir_adapter.mapping.validation import validate_resource

    for kind, q in catalogue.questionnaires.items():
        resource = to_fhir_questionnaire(q)
        issues = [i for i in validate_resource(resource, catalogue) if i.severity == "error"]
        if issues:
            raise MappingConfigError(f"questionnaires/{kind}: not valid FHIR R4: {issues[0]}")
        catalogue.published[kind] = resource


def _structure(path: Path, tables: dict[str, CodeTable]) -> Structure:
    data = _read(path, file_schemas.STRUCTURE)
    model = model_class(data["resource"])
    if model is None:
        raise MappingConfigError(f"{path}: resource: {data['resource']} is not a FHIR R4 resource")
    known = set(model.elements_sequence())
    for element in data["elements"]:
        name = element.removesuffix("[x]")
        if name not in known and not (element.endswith("[x]") and any(k.startswith(name) for k in known)):
            raise MappingConfigError(f"{path}: elements/{element}: {data['resource']} has no such element")
    return compile_structure(path, data, tables)


def _require(kind: str, present: Iterable[str], needed: Iterable[str]) -> None:
    missing = sorted(set(needed) - set(present))
    if missing:
        raise MappingConfigError(f"mappings/{kind}: missing {', '.join(missing)}")


# The structures and tables the mapping code asks for by name.
REQUIRED_STRUCTURES = STRUCTURES
REQUIRED_TABLES = (*TABLE_COVERS, "goal_achievement", "observation_categories", "sdoh_categories")
# The HL7 v2 tables the ADT and referral readers recognise codes of (events/hl7v2.py, v2_referral.py).
REQUIRED_TABLES += (
    "v2_administrative_sex",
    "v2_patient_class",
    "v2_admit_source",
    "v2_discharge_disposition",
    "v2_referral_status",
    "v2_referral_priority",
)
# Named functions register themselves when their modules are imported.
FUNCTION_MODULES = (
    "fhir_adapter.mapping.to_fhir_common",
    "fhir_adapter.mapping.to_fhir_kept",
    "fhir_adapter.mapping.to_fhir_patient",
    "fhir_adapter.mapping.to_fhir_episode",
    "fhir_adapter.mapping.to_fhir_assessment",
    "fhir_adapter.mapping.to_fhir_care_plan",
    "fhir_adapter.mapping.to_fhir_referral",
    "fhir_adapter.mapping.to_fhir_packet",
)
