"""Assessment → Questionnaire, QuestionnaireResponse and extracted Observations.

https://hl7.org/fhir/R4/questionnaireresponse.html ; SDC observation-based extraction:
https://hl7.org/fhir/uv/sdc/STU3/extraction.html#observation-based-extraction
"""

from __future__ import annotations

from dataclasses import dataclass

from fhir_adapter.domain.records import Answer, Assessment, Coding, Quantity
from fhir_adapter.mapping.catalogue import ItemDef, QuestionnaireDef
from fhir_adapter.mapping.engine import JSON, MapContext, Scope, apply_structure, mapping_function
from fhir_adapter.mapping.errors import MappingError
from fhir_adapter.mapping.to_fhir_common import person_reference, to_fhir_coding
from fhir_adapter.mapping.to_fhir_external import external_items, is_external

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
OBSERVATION_EXTRACT = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-observationExtract"
QUESTIONNAIRE_UNIT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
SDC_QUESTIONNAIRE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire"
OBSERVATION_STATUS = {
    "completed": "final",
    "amended": "amended",
    "in-progress": "preliminary",
    "entered-in-error": "entered-in-error",
    "stopped": "cancelled",
}
# The answer kinds each item type accepts.
ACCEPTS = {
    "string": {"text"},
    "text": {"text"},
    "boolean": {"boolean"},
    "integer": {"integer"},
    "decimal": {"decimal"},
    "date": {"date"},
    "choice": {"choice", "coding"},
    "quantity": {"quantity"},
}


VALUE_TYPES = {
    "text": "String",
    "boolean": "Boolean",
    "integer": "Integer",
    "decimal": "Decimal",
    "date": "Date",
}


@dataclass(frozen=True)
class Extracted:
    """One answer the questionnaire marks for extraction, and the record id its Observation carries."""

    item: ItemDef
    answer: Answer
    record_id: str


def questionnaire_for(assessment: Assessment, ctx: MapContext, path: str) -> QuestionnaireDef:
    q = ctx.catalogue.questionnaires.get(assessment.kind)
    if q is None:
        known = ", ".join(sorted(ctx.catalogue.questionnaires))
        raise MappingError(f"no questionnaire for assessment kind {assessment.kind} (known: {known})", path)
    return q


def to_fhir_questionnaire(q: QuestionnaireDef) -> JSON:
    """The instrument's definition, published under our canonical url and version (its business key)."""
    resource: JSON = {
        "resourceType": "Questionnaire",
        "meta": {"profile": [SDC_QUESTIONNAIRE]},
        "url": q.url,
        "version": q.version,
        "name": q.name,
        "title": q.title,
        "status": "active",
        "subjectType": ["Patient"],
    }
    if q.code:
        resource["code"] = [dict(q.code)]
    resource["item"] = [_questionnaire_item(item) for item in q.items]
    return resource


def _questionnaire_item(item: ItemDef) -> JSON:
    fhir: JSON = {"linkId": item.link_id}
    extensions = []
    if item.extract:
        extensions.append({"url": OBSERVATION_EXTRACT, "valueBoolean": True})
    if item.unit:
        extensions.append({"url": QUESTIONNAIRE_UNIT, "valueCoding": dict(item.unit)})
    if extensions:
        fhir = {"extension": extensions, **fhir}
    if item.code:
        fhir["code"] = [dict(item.code)]
    fhir["text"] = item.text
    fhir["type"] = item.type
    if item.required:
        fhir["required"] = True
    if item.repeats:
        fhir["repeats"] = True
    if item.options:
        fhir["answerOption"] = [{"valueCoding": dict(o)} for o in item.options]
    return fhir


def to_fhir_questionnaire_response(assessment: Assessment, ctx: MapContext, path: str) -> JSON:
    structure = ctx.catalogue.structures["assessment_to_questionnaireresponse"]
    return apply_structure(Scope(assessment, ctx, structure, path=path))


def extracted_answers(assessment: Assessment, q: QuestionnaireDef) -> list[Extracted]:
    found = []
    for item in assessment.items:
        definition = q.item(item.link_id)
        if definition is None or not definition.extract:
            continue
        for n, answer in enumerate(item.answers):
            found.append(Extracted(definition, answer, f"{assessment.id}/{item.link_id}/{n}"))
    return found


def to_fhir_observations(assessment: Assessment, ctx: MapContext, path: str) -> list[JSON]:
    if is_external(assessment):  # nothing of an instrument we do not hold is marked for extraction
        return []
    q = questionnaire_for(assessment, ctx, path)
    structure = ctx.catalogue.structures["answer_to_observation"]
    return [
        apply_structure(Scope(assessment, ctx, structure, detail=extracted, path=path))
        for extracted in extracted_answers(assessment, q)
    ]


@mapping_function
def questionnaire_canonical(scope: Scope) -> str:
    if is_external(scope.record):
        return str(scope.record.questionnaire)
    return questionnaire_for(scope.record, scope.ctx, scope.path).canonical


@mapping_function
def response_items(scope: Scope) -> list[JSON]:
    assessment: Assessment = scope.record
    if is_external(assessment):
        return external_items(assessment)
    q = questionnaire_for(assessment, scope.ctx, scope.path)
    answered = {item.link_id for item in assessment.items if item.answers}
    if assessment.status == "completed":
        for needed in q.items:
            if needed.required and needed.link_id not in answered:
                raise MappingError(f"required item {needed.link_id} has no answer", f"{scope.path}.items")
    items = []
    for i, item in enumerate(assessment.items):
        where = f"{scope.path}.items[{i}]"
        definition = q.item(item.link_id)
        if definition is None:
            raise MappingError(f"{q.kind} has no item {item.link_id}", f"{where}.link_id")
        if len(item.answers) > 1 and not definition.repeats:
            raise MappingError(f"item {item.link_id} takes one answer", f"{where}.answers")
        fhir: JSON = {"linkId": item.link_id, "text": definition.text}
        if item.answers:
            fhir["answer"] = [
                {f"value{k}": v}
                for n, answer in enumerate(item.answers)
                for k, v in [response_value(definition, answer, f"{where}.answers[{n}]")]
            ]
        items.append(fhir)
    return items


def response_value(item: ItemDef, answer: Answer, path: str) -> tuple[str, object]:
    """The answer as a QuestionnaireResponse value[x]: (type suffix, value); checked against the item type."""
    if answer.kind not in ACCEPTS[item.type]:
        raise MappingError(f"item {item.link_id} is {item.type}: a {answer.kind} answer does not fit", path)
    value = answer.value
    if answer.kind == "choice":
        option = item.option(str(value))
        if option is None:
            choices = ", ".join(o["code"] for o in item.options)
            raise MappingError(f"{value} is not an answer of {item.link_id} (choose from {choices})", path)
        return "Coding", dict(option)
    if isinstance(value, Coding):
        return "Coding", to_fhir_coding(value)
    if isinstance(value, Quantity):
        return "Quantity", _quantity(value)
    return VALUE_TYPES[answer.kind], value


def _quantity(q: Quantity) -> JSON:
    fhir: JSON = {"value": q.value, "unit": q.unit}
    if q.system:
        fhir["system"] = q.system
    if q.code:
        fhir["code"] = q.code
    return fhir


@mapping_function
def observation_status(scope: Scope) -> str:
    return OBSERVATION_STATUS[scope.record.status]


@mapping_function
def observation_category(scope: Scope) -> list[JSON]:
    extract = scope.detail.item.extract
    tables = scope.ctx.catalogue.tables
    categories: list[JSON] = [
        {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
    ]
    categories.append(tables["observation_categories"].concept(extract["category"]))
    if extract.get("sdoh_category"):
        categories.append(tables["sdoh_categories"].concept(extract["sdoh_category"]))
    return categories


@mapping_function
def observation_code(scope: Scope) -> JSON:
    return {"coding": [dict(scope.detail.item.code)], "text": scope.detail.item.text}


@mapping_function
def observation_performer(scope: Scope) -> list[JSON]:
    ref = person_reference(scope.record.author, scope)
    return [ref] if ref else []


@mapping_function
def observation_value(scope: Scope) -> JSON:
    """The answer as Observation.value[x] (Observation has no valueDecimal or valueDate)."""
    item, answer = scope.detail.item, scope.detail.answer
    suffix, value = response_value(item, answer, scope.path)
    if suffix == "Coding":
        concept: JSON = {"coding": [value]}
        if isinstance(value, dict) and value.get("display"):
            concept["text"] = value["display"]
        return {"valueCodeableConcept": concept}
    if suffix == "Decimal":
        return {"valueQuantity": {"value": value}}
    if suffix == "Date":
        return {"valueDateTime": value}
    return {f"value{suffix}": value}


@mapping_function
def observation_derived_from(scope: Scope) -> list[JSON]:
    return [scope.ctx.reference("assessment", scope.record.id, "QuestionnaireResponse")]
