"""Reading from an EHR outside the delivery worker (the notification endpoint fetches what id-only
notifications name): one client per EHR per process, with the same authentication as delivery."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fhir_adapter.adapters.ehr_store import Ehr
from fhir_adapter.config import Settings
from fhir_adapter.delivery.ehr_client import EhrClient, Failure
from fhir_adapter.delivery.keys import SigningKeyError, load_keys

_clients: dict[tuple[str, str], EhrClient] = {}
_lock = threading.Lock()


def reader(ehr: Ehr, settings: Settings) -> Callable[[str], Any]:
    with _lock:
        client = _clients.get((ehr.org_id, ehr.id))
        if client is None or client.ehr != ehr:
            try:
                keys = load_keys(settings.signing_keys) if ehr.auth == "smart" else []
            except SigningKeyError as err:
                raise Failure("retry", "no_signing_key", None, str(err)) from err
            client = EhrClient(ehr, keys, settings.ehr_timeout_seconds)
            _clients[(ehr.org_id, ehr.id)] = client
    return lambda path: client.request("GET", path)
