"""An assessment of an external instrument → the QuestionnaireResponse it came as: the original canonical,
each item with its linkId and words, nested as it was, and each answer typed as it was given.

https://hl7.org/fhir/R4/questionnaireresponse.html
"""

from __future__ import annotations

from fhir_adapter.domain.concepts import Reference
from fhir_adapter.domain.records import Answer, Assessment, AssessmentItem, Coding, Quantity
from fhir_adapter.mapping.engine import JSON
from fhir_adapter.mapping.to_fhir_common import to_fhir_coding

EXTERNAL = "external"
SUFFIX = {
    "text": "String",
    "boolean": "Boolean",
    "integer": "Integer",
    "decimal": "Decimal",
    "date": "Date",
    "datetime": "DateTime",
    "time": "Time",
    "uri": "Uri",
    "coding": "Coding",
    "quantity": "Quantity",
    "reference": "Reference",
}


def is_external(assessment: Assessment) -> bool:
    return assessment.kind == EXTERNAL


def external_value(answer: Answer) -> JSON:
    value = answer.value
    if isinstance(value, Coding):
        return {"valueCoding": to_fhir_coding(value)}
    if isinstance(value, Quantity):
        quantity = {"value": value.value, "unit": value.unit, "system": value.system, "code": value.code}
        return {"valueQuantity": {k: v for k, v in quantity.items() if v is not None}}
    if isinstance(value, Reference):
        ref = {"reference": value.reference, "type": value.type, "display": value.display}
        return {"valueReference": {k: v for k, v in ref.items() if v}}
    return {f"value{SUFFIX[answer.kind]}": value}


def external_items(assessment: Assessment) -> list[JSON]:
    """The items nested again under the items they were in (by their parents' linkIds)."""
    top: list[JSON] = []
    made: dict[tuple[str, ...], JSON] = {}
    for item in assessment.items:
        fhir = _item(item)
        made[(*item.parents, item.link_id)] = fhir
        parent = made.get(item.parents)
        if parent is None:
            top.append(fhir)
        else:
            parent.setdefault("item", []).append(fhir)
    return top


def _item(item: AssessmentItem) -> JSON:
    fhir: JSON = {"linkId": item.link_id}
    if item.text:
        fhir["text"] = item.text
    if item.answers:
        fhir["answer"] = [external_value(a) for a in item.answers]
    return fhir
