"""QuestionnaireResponse → assessment, matched to one of our questionnaires.

https://hl7.org/fhir/R4/questionnaireresponse.html. A response to a questionnaire we do not publish is
matched by its linkIds ("/93025-5/71802-3" answers item 71802-3); one that matches none is reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

from fhir_adapter.domain.records import Answer, AnswerKind, Assessment, AssessmentItem
from fhir_adapter.mapping.catalogue import ItemDef, QuestionnaireDef
from fhir_adapter.mapping.from_fhir_common import (
    JSON,
    ReverseContext,
    coding_from,
    is_sensitive,
    report_extensions,
    report_unhandled,
)
from fhir_adapter.mapping.from_fhir_external import external_items, instrument
from fhir_adapter.mapping.from_fhir_values import quantity_from
from fhir_adapter.mapping.to_fhir_common import EPISODE_EXTENSION

HANDLED = frozenset(
    {"extension", "identifier", "questionnaire", "status", "subject", "authored", "author", "item"}
)
STATUSES = frozenset({"in-progress", "completed", "amended", "entered-in-error", "stopped"})


def _flat_items(items: list[JSON], path: str) -> Iterator[tuple[JSON, str]]:
    """Every item with answers, however deeply nested in groups or under answers."""
    for i, item in enumerate(items):
        where = f"{path}.item[{i}]"
        yield item, where
        yield from _flat_items(item.get("item", []), where)
        for j, answer in enumerate(item.get("answer", [])):
            yield from _flat_items(answer.get("item", []), f"{where}.answer[{j}]")


def _short(link_id: str) -> str:
    return link_id.rstrip("/").rsplit("/", 1)[-1]


def _match(resource: JSON, ctx: ReverseContext) -> QuestionnaireDef | None:
    canonical = resource.get("questionnaire", "")
    q = ctx.catalogue.questionnaire_by_url(canonical) if canonical else None
    if q:
        return q
    answered = {
        _short(item["linkId"]) for item, _ in _flat_items(resource.get("item", []), "") if item.get("answer")
    }
    candidates = [
        q
        for q in ctx.catalogue.questionnaires.values()
        if answered and answered <= {i.link_id for i in q.items}
    ]
    return min(candidates, key=lambda q: len(q.items)) if candidates else None


def from_fhir_questionnaire_response(
    resource: JSON, ctx: ReverseContext, path: str = "QuestionnaireResponse"
) -> Assessment | None:
    report_unhandled(ctx, resource, HANDLED, path)
    report_extensions(ctx, resource, frozenset({EPISODE_EXTENSION}), path)
    q = _match(resource, ctx)
    if q is None and not resource.get("questionnaire"):
        ctx.report(path, "a response that names no questionnaire and matches none of ours: not carried")
        return None
    _say_how_matched(resource, q, ctx, path)
    date = resource.get("authored") or resource.get("meta", {}).get("lastUpdated")
    if not date:
        ctx.report(path, "a response without a date (authored) is not carried")
        return None
    status = resource.get("status")
    if status not in STATUSES:
        ctx.report(path, f"status {status} is not an assessment status: the response is not carried")
        return None
    author = resource.get("author")
    ident = resource.get("identifier") or {}
    if ident and ident.get("system") != ctx.identity.system("assessment"):
        ctx.report(f"{path}.identifier", "the response's own identifier is not carried")
    items = _items(resource, q, ctx, path) if q else external_items(resource, ctx, path)
    return Assessment(
        id=ctx.record_id(resource, "assessment", path),
        client_id=ctx.client_of(resource.get("subject"), f"{path}.subject"),
        kind=q.kind if q else "external",
        status=str(status),
        date=str(date),
        items=tuple(items),
        episode_id=ctx.episode_of(resource, path),
        author=ctx.person(author, f"{path}.author"),
        sensitive=is_sensitive(resource),
        questionnaire=None if q else str(resource["questionnaire"]),
        title=None if q else instrument(resource, ctx).get("title"),
    )


def _own_words(item: JSON, q: QuestionnaireDef) -> bool:
    """Whether an item the questionnaire defines has words of its own in the response."""
    definition = q.item(item["linkId"]) or q.item(_short(item["linkId"]))
    return bool(item.get("text")) and definition is not None and item["text"] != definition.text


def _say_how_matched(resource: JSON, q: QuestionnaireDef | None, ctx: ReverseContext, path: str) -> None:
    if q is None:
        words = (
            "the title and item words are the Questionnaire's"
            if instrument(resource, ctx)
            else "the Questionnaire is neither sent along nor served: the item words are the response's own"
        )
        ctx.report(
            f"{path}.questionnaire",
            f"an instrument we do not hold: kept as an external assessment of {resource['questionnaire']} "
            f"({words})",
            "information",
        )
    elif q.url != resource.get("questionnaire", "").split("|")[0]:
        ctx.report(
            f"{path}.questionnaire", f"matched to our {q.kind} questionnaire by its items", "information"
        )


def _items(resource: JSON, q: QuestionnaireDef, ctx: ReverseContext, path: str) -> list[AssessmentItem]:
    """Answered items, and items asked but left unanswered; groups of ours or theirs only give structure."""
    found: dict[str, list[Answer]] = {}
    if resource.get("item"):
        differ = any(_own_words(item, q) for item, _ in _flat_items(resource["item"], path))
        ctx.report(
            f"{path}.item",
            f"the items' words and groups are those of our {q.kind} questionnaire"
            + (": the response's own words are not carried" if differ else ""),
            "warning" if differ else "information",
        )
    for item, where in _flat_items(resource.get("item", []), path):
        answers = item.get("answer", [])
        definition = q.item(item["linkId"]) or q.item(_short(item["linkId"]))
        if definition is None:
            if answers:
                ctx.report(where, f"{q.kind} has no item {item['linkId']}: its answers are not carried")
            continue
        if not answers:
            found.setdefault(definition.link_id, [])
        for j, answer in enumerate(answers):
            kept = answer_from(definition, answer, ctx, f"{where}.answer[{j}]")
            if kept:
                found.setdefault(definition.link_id, []).append(kept)
    return [AssessmentItem(link_id, tuple(answers)) for link_id, answers in found.items()]


def answer_from(item: ItemDef, answer: JSON, ctx: ReverseContext, path: str) -> Answer | None:
    """A value[x] as a typed answer, when it fits the item's type."""
    value_key = next((k for k in answer if k.startswith("value")), None)
    if value_key is None:
        ctx.report(path, "an answer without a value is not carried")
        return None
    value = answer[value_key]
    kind = {
        "valueString": "text",
        "valueBoolean": "boolean",
        "valueInteger": "integer",
        "valueDecimal": "decimal",
        "valueDate": "date",
        "valueCoding": "coding",
        "valueQuantity": "quantity",
    }.get(value_key)
    if kind == "coding":
        option = item.option_for(value.get("system"), str(value.get("code")))
        if option is not None:
            return Answer("choice", option["code"])
    allowed = {"string": {"text"}, "text": {"text"}, "choice": {"coding"}, "decimal": {"decimal", "integer"}}
    if kind is None or kind not in allowed.get(item.type, {item.type}):
        ctx.report(path, f"a {value_key} answer does not fit {item.type} item {item.link_id}: not carried")
        return None
    if kind == "coding":
        coding = coding_from(value, ctx, path)
        return Answer("coding", coding) if coding else None
    if kind == "quantity":
        return _quantity(value, ctx, path)
    if item.type == "decimal":
        return Answer("decimal", float(value))
    return Answer(cast(AnswerKind, kind), value)


def _quantity(value: JSON, ctx: ReverseContext, path: str) -> Answer | None:
    quantity = quantity_from(value, ctx, path)
    return Answer("quantity", quantity) if quantity else None
