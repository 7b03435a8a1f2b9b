"""A realistic discharge case file: a client, an episode with a care team, a plan with 5 goals and 10
activities, 3 assessments of up to 20 items, and 4 referrals (each a ServiceRequest and a Task)."""

from __future__ import annotations

from typing import Any

from fhir_adapter.mapping.catalogue import Catalogue, ItemDef

ANSWER_FOR_TYPE: dict[str, Any] = {
    "string": {"text": "Westside Family Clinic"},
    "text": {"text": "Lives with her brother; attends a day programme three days a week."},
    "boolean": {"boolean": True},
    "integer": {"integer": 3},
    "decimal": {"decimal": 18250.5},
    "date": {"date": "2025-08-19"},
    "quantity": {"quantity": {"value": 72.5, "unit": "kg"}},
}


def _answer(item: ItemDef) -> dict[str, Any]:
    if item.type == "choice":
        return {"choice": item.options[0]["code"]}
    return dict(ANSWER_FOR_TYPE[item.type])


def _assessment(catalogue: Catalogue, n: int, kind: str) -> dict[str, Any]:
    q = catalogue.questionnaires[kind]
    return {
        "id": f"AS-{n}",
        "client_id": "CL-1",
        "episode_id": "EP-1",
        "kind": kind,
        "status": "completed",
        "date": f"2025-10-0{n}T10:15:00-05:00",
        "author": {"name": "Dana Whitfield", "id": "CM-031"},
        "items": [{"link_id": i.link_id, "answers": [_answer(i)]} for i in q.items[:20]],
    }


def discharge_case(catalogue: Catalogue) -> dict[str, Any]:
    goals = [
        {
            "id": f"G{i}",
            "description": f"Goal {i}: keep stable housing and attend appointments",
            "achievement_status": "in-progress",
            "target": {"measure": "Housing status", "detail": "Signed lease"},
            "due_date": "2026-03-31",
        }
        for i in range(1, 6)
    ]
    kinds = ["home-visit", "counselling", "medication-management", "transportation", "skills-training"]
    activities = [
        {
            "id": f"A{i}",
            "kind": kinds[i % len(kinds)],
            "status": "scheduled",
            "description": f"Activity {i}",
            "responsible": "Dana Whitfield",
            "schedule": "weekly",
            "period": {"start": "2025-10-15", "end": "2026-10-09"},
            "goal_ids": [f"G{1 + i % 5}"],
        }
        for i in range(10)
    ]
    services = ["housing", "physical-therapy", "medication-management", "transportation"]
    referrals = [
        {
            "id": f"RF-{i}",
            "client_id": "CL-1",
            "episode_id": "EP-1",
            "service_type": service,
            "status": "sent",
            "authored_on": "2025-10-11T09:00:00-05:00",
            "reason": {"plan_id": "SP-1", "goal_id": "G1", "text": "Discharge planning"},
            "target": {"name": "Springfield Housing Authority"},
            "requester": {"name": "Dana Whitfield", "id": "CM-031"},
        }
        for i, service in enumerate(services)
    ]
    return {
        "client": {
            "id": "CL-1",
            "names": [{"text": "김서연", "family": "김", "given": ["서연"]}],
            "identifiers": [{"system": "urn:oid:2.16.840.1.113883.19.5.7", "value": "MRN-1"}],
            "birth_date": "1987-04-12",
            "gender": "female",
            "language": "ko",
        },
        "episodes": [
            {
                "id": "EP-1",
                "client_id": "CL-1",
                "case_type": "mental-health",
                "case_manager": {"name": "Dana Whitfield", "id": "CM-031"},
                "period": {"start": "2025-01-06"},
                "care_team": [
                    {"role": "primary-care", "name": "Dr. Alan Reyes"},
                    {"role": "psychiatrist", "name": "Dr. Priya Natarajan"},
                    {"role": "therapist", "name": "Jordan Ellis"},
                ],
            }
        ],
        "assessments": [
            _assessment(catalogue, n, k) for n, k in enumerate(["prapare", "functional", "health"], 1)
        ],
        "service_plans": [
            {
                "id": "SP-1",
                "client_id": "CL-1",
                "episode_id": "EP-1",
                "plan_type": "isp",
                "status": "active",
                "period": {"start": "2025-10-10", "end": "2026-10-09"},
                "goals": goals,
                "activities": activities,
            }
        ],
        "referrals": referrals,
    }
