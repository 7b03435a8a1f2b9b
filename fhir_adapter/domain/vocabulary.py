"""The case-management vocabulary: the values records may hold. Code tables in mappings/ cover each."""

from __future__ import annotations

CASE_TYPES = (
    "mental-health",
    "intellectual-disability",
    "early-intervention",
    "school-based",
    "substance-use",
    "foster-care-child",
    "foster-care-adult",
    "medical",
    "hospital",
    "hospice",
)
EPISODE_STATUSES = ("planned", "active", "on-hold", "closed", "cancelled")
CARE_TEAM_ROLES = (
    "case-manager",
    "primary-care",
    "dentist",
    "psychiatrist",
    "neurologist",
    "therapist",
    "social-worker",
    "other",
)
ASSESSMENT_STATUSES = ("in-progress", "completed", "amended", "entered-in-error", "stopped")
# hospital: a plan the hospital wrote, which names none of ours.
PLAN_TYPES = ("isp", "csp", "pcp", "hospital")
PLAN_STATUSES = ("draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown")
GOAL_LIFECYCLE = (
    "proposed",
    "planned",
    "accepted",
    "active",
    "on-hold",
    "completed",
    "cancelled",
    "entered-in-error",
    "rejected",
)
GOAL_ACHIEVEMENT = (
    "in-progress",
    "improving",
    "worsening",
    "no-change",
    "achieved",
    "sustaining",
    "not-achieved",
    "no-progress",
    "not-attainable",
)
ACTIVITY_KINDS = (
    "home-visit",
    "day-support-visit",
    "counselling",
    "therapy-appointment",
    "medication-management",
    "transportation",
    "benefits-advocacy",
    "skills-training",
    "monitoring",
    "other",
)
ACTIVITY_STATUSES = (
    "not-started",
    "scheduled",
    "in-progress",
    "on-hold",
    "completed",
    "cancelled",
    "stopped",
    "unknown",
    "entered-in-error",
)
SERVICE_TYPES = (
    "housing",
    "job-placement",
    "counselling",
    "physical-therapy",
    "occupational-therapy",
    "medication-management",
    "transportation",
    "transfer-of-care",
    "other",
)
REFERRAL_STATUSES = ("draft", "sent", "accepted", "declined", "in-progress", "completed", "cancelled")
PRIORITIES = ("routine", "urgent", "asap", "stat")

# The vocabularies a mapping table must cover, by table name.
TABLE_COVERS: dict[str, tuple[str, ...]] = {
    "case_types": CASE_TYPES,
    "episode_status": EPISODE_STATUSES,
    "care_team_roles": CARE_TEAM_ROLES,
    "plan_types": PLAN_TYPES,
    "activity_kinds": ACTIVITY_KINDS,
    "service_types": SERVICE_TYPES,
    "referral_status": REFERRAL_STATUSES,
}
