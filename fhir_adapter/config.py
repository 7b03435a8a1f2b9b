"""Typed settings from FHIR_ADAPTER_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fhir_adapter.mapping.identity import Identity


@dataclass(frozen=True)
class Settings:
    tenant: str = "default"
    source_system: str = "cms"
    identifier_namespace: str = "urn:fhir-adapter:cms"
    mappings_dir: Path | None = None
    mappings_override: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def path(name: str) -> Path | None:
            value = env.get(name)
            return Path(value) if value else None

        return cls(
            tenant=env.get("FHIR_ADAPTER_TENANT", cls.tenant),
            source_system=env.get("FHIR_ADAPTER_SOURCE_SYSTEM", cls.source_system),
            identifier_namespace=env.get("FHIR_ADAPTER_IDENTIFIER_NAMESPACE", cls.identifier_namespace),
            mappings_dir=path("FHIR_ADAPTER_MAPPINGS_DIR"),
            mappings_override=path("FHIR_ADAPTER_MAPPINGS_OVERRIDE"),
        )

    def identity(self) -> Identity:
        return Identity(self.tenant, self.source_system, self.identifier_namespace)
