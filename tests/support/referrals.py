"""HL7 v2 referral messages for tests, written as a hospital's referral system sends them: a REF^I12 that
refers a patient on (RF1, two PRDs, PID, DG1, PR1, NTEs, and segments no record carries: AUT, IN1, OBR/OBX
with their own NTE) and the RRI^I12 that answers one. UTF-8 (MSH-18), with Korean and Hindi names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Referral:
    mrn: str = "MRN-448812"
    authority: str = "RGH"
    originating: str = "RGH-REF-2025-0917"  # RF1-6, the hospital's own number
    external: str = "CMS-0042"  # RF1-11
    status: str = "P^Pending^HL70283"
    priority: str = "A^ASAP^HL70280"
    kind: str = "Psy^Psychiatric^HL70281"
    category: str = "A^Ambulatory^HL70284"
    effective: str = "20251016"
    expiration: str = "20260116"
    reason: str = "S^Second Opinion^HL70336"
    sent: str = "20251016093000+0900"


def ref(r: Referral | None = None, control_id: str | None = None, drop: tuple[str, ...] = ()) -> str:
    """A REF^I12 as the wire carries it (CR between segments); `drop` leaves out segments by name."""
    r = r or Referral()
    control = control_id or uuid.uuid4().hex[:20]
    segments = [
        f"MSH|^~\\&|REFMGR|RGH^2.16.840.1.113883.19.5^ISO|FHIRADAPTER|CMS|{r.sent}||REF^I12^REF_I12|{control}|P|2.5.1|||||KOR||UNICODE UTF-8",
        f"RF1|{r.status}|{r.priority}|{r.kind}||{r.category}|{r.originating}^RGH_REFERRALS|{r.effective}|{r.expiration}||{r.reason}|{r.external}^CMS",
        "NTE|1||환자는 퇴원 후 주거 지원이 필요합니다.~Patient lives alone since March.",
        "PRD|RP^Referring Provider^HL70286|박^지훈^^^Dr.^MD|12 Riverside Road^^Springfield^IL^62704^USA|^^^RGH Psychiatry|^WPN^PH^^^217^5550101||D-4471^NPI|||Riverside General Hospital",
        "PRD|RT^Referred to Provider^HL70286|शर्मा^प्रिया^^^Ms.|3 Market Street^^Springfield^IL^62701^USA||^WPN^PH^^^217^5550199|||||Springfield Community Services",
        "NTE|1||कृपया सोमवार को संपर्क करें",
        f"PID|1||{r.mrn}^^^{r.authority}^MR||Kim^Seo-yeon||19870412|F",
        "DG1|1||F32.1^Major depressive disorder, single episode, moderate^I10||20251014|F",
        "DG1|2||Z59.0^Homelessness^I10|Homelessness|20251014|W",
        "PR1|1||90791^Psychiatric diagnostic evaluation^C4|Psychiatric diagnostic evaluation|20251015103000",
        "AUT|PPO|HC02|Illinois Medicaid|20251016|20260116|AUTH-7781",
        "IN1|1|MCD^Medicaid|IL-MCD|Illinois Medicaid",
        "OBR|1|||PHQ9^PHQ-9 total^LN",
        "OBX|1|NM|44261-6^PHQ-9 total score^LN||17",
        "NTE|1||Score taken on the ward",
    ]
    return "\r".join(s for s in segments if s[:3] not in drop) + "\r"


def rri(
    status: str, originating: str, external: str = "", control_id: str | None = None, mrn: str = "MRN-448812"
) -> str:
    """An RRI^I12: the hospital's answer on the referral RF1-6 / RF1-11 name."""
    control = control_id or uuid.uuid4().hex[:20]
    ext = f"{external}^CMS" if external else ""
    return (
        "\r".join(
            [
                f"MSH|^~\\&|REFMGR|RGH|FHIRADAPTER|CMS|20251020120000+0900||RRI^I12^RRI_I12|{control}|P|2.5.1",
                f"MSA|AA|{control}",
                f"RF1|{status}|R^Routine^HL70280|Psy^Psychiatric^HL70281||A^Ambulatory^HL70284|{originating}^RGH_REFERRALS|20251016|||S^Second Opinion^HL70336|{ext}",
                f"PID|1||{mrn}^^^RGH^MR||Kim^Seo-yeon||19870412|F",
            ]
        )
        + "\r"
    )
