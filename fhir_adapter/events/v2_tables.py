"""The HL7 v2 tables whose codes the ADT reader recognises, with the code system a recognised code is given.

A value that is not in its table, or that names a coding system of the sender's own in CWE.3, is not one
of these codes: it is kept as the sender sent it. Values are those HL7 v2.5 suggests, as published at
https://terminology.hl7.org/CodeSystem-v2-0001.html (and -0004, -0023, -0112).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class V2Table:
    number: str  # "0112"
    codes: dict[str, str]  # code → display

    @property
    def system(self) -> str:
        return f"http://terminology.hl7.org/CodeSystem/v2-{self.number}"

    def has(self, code: str, system: str) -> bool:
        """Whether (code, CWE.3 system) is this table's code: the system left empty or naming the table."""
        return code in self.codes and system in ("", f"HL7{self.number}", self.system)


ADMINISTRATIVE_SEX = V2Table(
    "0001",
    {"A": "Ambiguous", "F": "Female", "M": "Male", "N": "Not applicable", "O": "Other", "U": "Unknown"},
)
PATIENT_CLASS = V2Table(
    "0004",
    {
        "B": "Obstetrics",
        "C": "Commercial Account",
        "E": "Emergency",
        "I": "Inpatient",
        "N": "Not Applicable",
        "O": "Outpatient",
        "P": "Preadmit",
        "R": "Recurring patient",
        "U": "Unknown",
    },
)
ADMIT_SOURCE = V2Table(
    "0023",
    {
        "1": "Physician referral",
        "2": "Clinic referral",
        "3": "HMO referral",
        "4": "Transfer from a hospital",
        "5": "Transfer from a skilled nursing facility",
        "6": "Transfer from another health care facility",
        "7": "Emergency room",
        "8": "Court/law enforcement",
        "9": "Information not available",
    },
)
DISCHARGE_DISPOSITION = V2Table(
    "0112",
    {
        "01": "Discharged to home or self care (routine discharge)",
        "02": "Discharged/transferred to another short-term general hospital for inpatient care",
        "03": "Discharged/transferred to skilled nursing facility (SNF)",
        "04": "Discharged/transferred to an intermediate care facility (ICF)",
        "05": "Discharged/transferred to another type of institution for inpatient care or referred for "
        "outpatient services to another institution",
        "06": "Discharged/transferred to home under care of organized home health service organization",
        "07": "Left against medical advice or discontinued care",
        "08": "Discharged/transferred to home under care of Home IV provider",
        "09": "Admitted as an inpatient to this hospital",
        "20": "Expired",
        "30": "Still patient or expected to return for outpatient services",
        "40": "Expired at home",
        "41": "Expired in a medical facility",
        "42": "Expired - place unknown",
    },
)
