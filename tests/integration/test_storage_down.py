"""A database that cannot be reached is a 503 with Retry-After and an OperationOutcome, never a 500."""

from __future__ import annotations

from fhir_adapter.app import create_app
from fhir_adapter.bootstrap import bootstrap
from fhir_adapter.config import Settings


def test_an_unreachable_database_is_a_503(catalogue):
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    services = bootstrap(settings, catalogue=catalogue)
    client = create_app(services=services).test_client()
    try:
        for method, url in (
            ("GET", "/health"),
            ("GET", "/api/v1/clients"),
            ("POST", "/api/v1/clients"),
            ("GET", "/fhir/CarePlan?patient=x"),
        ):
            response = client.open(
                url,
                method=method,
                json={"id": "CL-1", "names": [{"text": "x"}]},
                headers={"Authorization": "Bearer fa_some-token"},
            )
            assert response.status_code == 503, (method, url, response.status_code)
            assert response.headers["Retry-After"] == "5"
            assert response.json["resourceType"] == "OperationOutcome"
        assert client.get("/health/live").status_code == 200
    finally:
        services.close()
