"""Whole numbers from the outside (query parameters, path segments, ETags), parsed strictly.

`str.isdigit()` takes '²' and '٣', `int()` takes ' 3', '+3', '3_0' and Arabic-Indic digits, and a number
past 2^63 overflows the database: only ASCII digits within the bounds are a number here.
"""

from __future__ import annotations

import re

from fhir_adapter.api.http_errors import bad_request

DIGITS = re.compile(r"[0-9]{1,20}", re.ASCII)
MAX_VERSION = 2**31 - 1  # versions are 32-bit integers in the database


def whole_number(raw: str, high: int, low: int = 0) -> int | None:
    """`raw` as a whole number from `low` to `high`, or None: ASCII digits only, no sign, no spaces."""
    if not DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def number_arg(raw: str, name: str, high: int, low: int = 0) -> int:
    """A whole number given as the parameter `name`; 400 naming it otherwise."""
    value = whole_number(raw, high, low)
    if value is None:
        raise bad_request(f"{name} is a whole number from {low} to {high}", name)
    return value
