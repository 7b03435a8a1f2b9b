"""Records → the contract's JSON shape (the inverse of the schemas' load): no nulls, no empty lists."""

from __future__ import annotations

import dataclasses
from typing import Any

from fhir_adapter.domain.records import Answer


def to_contract(value: Any) -> Any:
    if isinstance(value, Answer):
        return {value.kind: to_contract(value.value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            item = to_contract(getattr(value, f.name))
            if item is not None and item != [] and item != ():
                out[f.name] = item
        return out
    if isinstance(value, (list, tuple)):
        return [to_contract(v) for v in value]
    return value
