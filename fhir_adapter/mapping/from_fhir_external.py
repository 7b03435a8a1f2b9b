"""A QuestionnaireResponse to an instrument we do not hold → an assessment of kind `external`: the
instrument's canonical, and every item with its linkId, its words, its answers (typed, codes kept) and the
items it is nested in. The Questionnaire, sent along (in the same Bundle) or served by the EHR the response
was read from, gives the title and the words of items the response does not repeat.

https://hl7.org/fhir/R4/questionnaireresponse.html
"""

from __future__ import annotations

from typing import Any, cast

from fhir_adapter.domain.records import Answer, AnswerKind, AssessmentItem
from fhir_adapter.mapping.from_fhir_common import JSON, ReverseContext
from fhir_adapter.mapping.from_fhir_values import coding_of, quantity_from, reference_from

KINDS = {
    "valueString": "text",
    "valueBoolean": "boolean",
    "valueInteger": "integer",
    "valueDecimal": "decimal",
    "valueDate": "date",
    "valueDateTime": "datetime",
    "valueTime": "time",
    "valueUri": "uri",
}
ITEM_KEPT = frozenset({"linkId", "text", "answer", "item"})


def instrument(resource: JSON, ctx: ReverseContext) -> JSON:
    """The Questionnaire the response answers: the one the input holds, else the one its sender serves
    under the canonical the response names; {} when neither has it (the response's own words are kept)."""
    named = str(resource.get("questionnaire", ""))
    canonical = named.split("|")[0]
    along = (r for r in ctx.entries.values() if r.get("resourceType") == "Questionnaire")
    served = ctx.instruments.get(named) or ctx.instruments.get(canonical) or {}
    found = next((r for r in along if r.get("url") == canonical), served)
    return found if found.get("url") == canonical else {}


def _texts(items: list[JSON]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items:
        if item.get("text"):
            found[str(item["linkId"])] = str(item["text"])
        found |= _texts(item.get("item", []))
    return found


def external_items(resource: JSON, ctx: ReverseContext, path: str) -> list[AssessmentItem]:
    texts = _texts(instrument(resource, ctx).get("item", []))
    found: dict[tuple[tuple[str, ...], str], AssessmentItem] = {}
    _walk(resource.get("item", []), (), path, ctx, texts, found)
    return list(found.values())


def _walk(
    items: list[JSON],
    parents: tuple[str, ...],
    path: str,
    ctx: ReverseContext,
    texts: dict[str, str],
    found: dict[tuple[tuple[str, ...], str], AssessmentItem],
) -> None:
    for i, item in enumerate(items):
        where = f"{path}.item[{i}]"
        for key in [k for k in item if k not in ITEM_KEPT and k != "id"]:
            ctx.report(
                f"{where}.{key}", f"QuestionnaireResponse.item.{key} is not carried into the case record"
            )
        link_id = str(item["linkId"])
        answers = []
        for j, answer in enumerate(item.get("answer", [])):
            kept = external_answer(answer, ctx, f"{where}.answer[{j}]")
            answers += [kept] if kept else []
            if answer.get("item"):
                ctx.report(
                    f"{where}.answer[{j}].item",
                    "items under an answer are kept under its item",
                    "information",
                )
            _walk(answer.get("item", []), (*parents, link_id), f"{where}.answer[{j}]", ctx, texts, found)
        place = (parents, link_id)
        before = found.get(place)
        if before is not None:
            ctx.report(where, f"item {link_id} repeats: its answers are kept together", "information")
        found[place] = AssessmentItem(
            link_id,
            (*(before.answers if before else ()), *answers),
            str(item["text"]) if item.get("text") else texts.get(link_id),
            parents,
        )
        _walk(item.get("item", []), (*parents, link_id), where, ctx, texts, found)


def external_answer(answer: JSON, ctx: ReverseContext, path: str) -> Answer | None:
    """A value[x] as it was given: text, boolean, numbers, dates and times, uri, coding, quantity, reference."""
    key = next((k for k in answer if k.startswith("value")), None)
    if key is None:
        ctx.report(path, "an answer without a value is not carried")
        return None
    value: Any = answer[key]
    for other in answer:
        if other != key and other not in ("item", "id"):
            ctx.report(f"{path}.{other}", f"QuestionnaireResponse.item.answer.{other} is not carried")
    if key in KINDS:
        return Answer(cast(AnswerKind, KINDS[key]), float(value) if key == "valueDecimal" else value)
    if key == "valueCoding":
        coding = coding_of(value, ctx, f"{path}.valueCoding")
        return Answer("coding", coding) if coding else None
    if key == "valueQuantity":
        quantity = quantity_from(value, ctx, f"{path}.valueQuantity")
        return Answer("quantity", quantity) if quantity else None
    if key == "valueReference":
        ref = reference_from(value, ctx, f"{path}.valueReference")
        return Answer("reference", ref) if ref else None
    ctx.report(f"{path}.{key}", f"a {key} answer is not carried")
    return None
