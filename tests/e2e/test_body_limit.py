"""A body over its route's limit (1 MiB; on the /fhir writes that may carry a document's attachment inline,
that and the attachment limit in base64) gets 413 with an OperationOutcome (in the workspace, a page) on
every route that takes one, however it arrives: with a Content-Length, chunked, as JSON, FHIR JSON or HL7 v2 text. Over a real
socket: a test client does not chunk. The routes come from the app's URL map, so a new one is covered
without a change here."""

from __future__ import annotations

import re
from typing import Any

import pytest

from fhir_adapter.api.limits import MAX_BODY_BYTES, body_limit
from tests.support.live import send, serving

MEDIA = {
    "application/json": b'{"id": "%s"}',
    "application/fhir+json": b'{"resourceType": "Patient", "id": "%s"}',
    "x-application/hl7-v2+er7": b"MSH|^~\\&|EHR|H|FA|H|20240101||ADT^A01|%s|P|2.5\r",
    "text/plain": b"MSH|^~\\&|EHR|H|FA|H|20240101||ADT^A01|%s|P|2.5\r",
}
SAMPLE = {"int": "1", "rtype": "Patient"}


def body_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every rule that takes a body, its variables filled with plausible values."""
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            path = re.sub(
                r"<(?:(\w+):)?(\w+)>", lambda m: SAMPLE.get(m[1] or m[2], SAMPLE.get(m[2], "x1")), rule.rule
            )
            routes.append((method, path))
    return routes


def sized(media: str, size: int) -> bytes:
    """A body of exactly `size` bytes that would parse, were it whole."""
    template = MEDIA[media]
    return template % (b"a" * (size - len(template) + 2))


@pytest.fixture(scope="module")
def address(app):
    with serving(app) as address:
        yield address


def test_every_route_refuses_an_oversized_body_with_413(app, address, new_org):
    auth = new_org()
    routes = body_routes(app)
    assert len(routes) >= 20 and ("POST", "/api/v1/ehrs/x1/adt") in routes, routes
    attachments = app.extensions["fhir_adapter"].settings.attachment_max_bytes
    wrong = []
    for method, path in routes:
        for media in MEDIA:
            body = sized(media, body_limit(path, attachments) + 1000)
            for chunked in (False, True):
                headers = auth | {"Host": "127.0.0.1", "Content-Type": media}
                if not chunked:
                    headers["Content-Length"] = str(len(body))
                answer = send(address, f"{method} {path} HTTP/1.1", headers, body, chunked)
                how = f"{method} {path} {media} {'chunked' if chunked else 'Content-Length'}"
                if answer.status != 413:
                    wrong.append(f"{how}: {answer.status} {answer.body[:200]!r}")
                elif path.startswith("/app/"):  # the workspace answers people with a page
                    if not answer.headers.get("content-type", "").startswith("text/html"):
                        wrong.append(f"{how}: not a page")
                elif answer.json()["resourceType"] != "OperationOutcome":
                    wrong.append(f"{how}: not an OperationOutcome")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_of_exactly_the_limit_is_read_whole(address, new_org, chunked):
    """The limit is inclusive, and a chunked body at it is not cut short: it reaches the JSON parser whole."""
    body = sized("application/json", MAX_BODY_BYTES)
    assert len(body) == MAX_BODY_BYTES
    headers = new_org() | {"Host": "127.0.0.1", "Content-Type": "application/json"}
    if not chunked:
        headers["Content-Length"] = str(len(body))
    answer = send(address, "POST /api/v1/clients HTTP/1.1", headers, body, chunked)
    assert answer.status == 422, answer.body[:300]
    assert "not JSON" not in answer.body.decode()
