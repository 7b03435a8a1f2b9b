"""Reading from an EHR outside the delivery worker (the notification endpoint fetches what id-only
notifications name): one client per EHR per process, with the same authentication as delivery."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fhir_adapter.config import Settings
from fhir_adapter.delivery.ehr_client import EhrClients
from fhir_adapter.domain.sync import Ehr

_clients: EhrClients | None = None
_lock = threading.Lock()


def reader(ehr: Ehr, settings: Settings) -> Callable[[str], Any]:
    global _clients
    with _lock:
        if _clients is None:
            _clients = EhrClients(settings.signing_keys, settings.ehr_timeout_seconds)
    client = _clients.get(ehr)
    return lambda path: client.request("GET", path)
