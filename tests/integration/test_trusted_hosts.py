"""Without FHIR_ADAPTER_BASE_URL the fullUrls and links come from the Host header; FHIR_ADAPTER_TRUSTED_HOSTS
says which hosts are answered, and any other gets 400 before a route sees it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_adapter.app import create_app
from fhir_adapter.bootstrap import bootstrap
from tests.support.live import send, serving


@pytest.fixture
def app_with(service, new_org, kim):
    """(app maker, bearer headers) with Kim's client record stored for the organisation."""
    headers = new_org()
    made = []

    def make(**overrides: object):  # type: ignore[no-untyped-def]
        services = bootstrap(replace(service.settings, **overrides), service.engine, service.deps.catalogue)
        made.append(services)
        return create_app(services=services)

    assert (
        make().test_client().post("/api/v1/clients", json=kim["client"], headers=headers).status_code == 201
    )
    yield make, headers
    for services in made:
        services.audit.close()


def full_urls(app, host: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    response = app.test_client().get(
        "/fhir/Patient?identifier=CL-20417", headers=headers, base_url=f"http://{host}/"
    )
    return response, [e["fullUrl"] for e in (response.json or {}).get("entry", [])]


def test_without_a_base_url_or_trusted_hosts_the_host_is_taken_as_given(app_with):
    make, headers = app_with
    response, urls = full_urls(make(), "anything.example", headers)
    assert response.status_code == 200 and urls[0].startswith("http://anything.example/fhir/Patient/")


def test_a_host_not_trusted_is_refused(app_with):
    make, headers = app_with
    app = make(trusted_hosts=("fhir.example.org", ".hospital.example"))
    for host in ("fhir.example.org", "fhir.example.org:8443", "api.hospital.example"):
        response, urls = full_urls(app, host, headers)
        assert response.status_code == 200, (host, response.json)
        assert urls[0].startswith(f"http://{host}/fhir/Patient/")
    response, urls = full_urls(app, "evil.example", headers)
    assert response.status_code == 400 and urls == []
    assert response.json["issue"][0]["expression"] == ["Host"]
    assert "evil" not in response.get_data(as_text=True)


def test_a_base_url_is_used_whatever_the_host(app_with):
    make, headers = app_with
    _, urls = full_urls(make(base_url="https://fhir.example.org/adapter"), "evil.example", headers)
    assert urls[0].startswith("https://fhir.example.org/adapter/fhir/Patient/")


def test_over_a_socket_the_host_header_decides(app_with):
    make, headers = app_with
    with serving(make(trusted_hosts=("127.0.0.1",))) as address:
        for host, status in (("127.0.0.1", 200), ("evil.example", 400)):
            answer = send(address, "GET /fhir/Patient?identifier=CL-20417 HTTP/1.1", headers | {"Host": host})
            assert answer.status == status and answer.json()["resourceType"] in ("Bundle", "OperationOutcome")


LABEL = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?\Z")
HOSTS = st.builds(
    lambda labels, port: ".".join(labels) + (f":{port}" if port else ""),
    st.lists(st.one_of(LABEL, st.sampled_from(["fhir", "example", "org"])), min_size=1, max_size=4),
    st.none() | st.integers(1, 65535),
)


def test_no_untrusted_host_reaches_a_full_url(app_with):
    make, headers = app_with
    app = make(trusted_hosts=("fhir.example.org",))

    @settings(max_examples=100, deadline=None, derandomize=True, database=None)
    @given(host=HOSTS)
    def check(host: str) -> None:
        response, urls = full_urls(app, host, headers)
        trusted = host.split(":")[0] == "fhir.example.org"
        assert response.status_code == (200 if trusted else 400), (host, response.json)
        assert all(u.startswith(f"http://{host}/fhir/") for u in urls) and (trusted or urls == [])

    check()
