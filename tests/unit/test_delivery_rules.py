"""The delivery rules that need no network and no database: what an EHR's answer means, how long to wait
before trying again, which write mode an EHR gets, how a job's writes are shaped, and the signing keys."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import re
import stat
import time
from collections.abc import Callable
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st

from fhir_adapter.delivery import worker
from fhir_adapter.delivery.ehr_client import failure_for, parse_retry_after
from fhir_adapter.delivery.keys import (
    SigningKey,
    SigningKeyError,
    _thumbprint,
    client_assertion,
    generate,
    jwks,
    load_key,
)
from fhir_adapter.delivery.worker import backoff
from fhir_adapter.delivery.writes import (
    Outgoing,
    Written,
    business_identifier,
    ordered,
    provenance_id,
    provenance_targets,
    references,
    rewrite,
    without,
)
from fhir_adapter.domain.sync import LedgerAction, Sent

OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid"}]}
BASE64URL_SHA256 = re.compile(r"^[A-Za-z0-9_-]{43}$")
AUDIENCE = "https://ehr.example.org/auth/token"  # the token endpoint


# --- failure_for: what an EHR's error status means for the job ---


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 599])
def test_timeouts_throttling_and_server_errors_are_retried(status: int) -> None:
    failure = failure_for(status, OUTCOME)
    assert (failure.action, failure.reason, failure.status) == ("retry", f"http_{status}", status)
    assert failure.detail == OUTCOME


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_keeps_the_retry_after_seconds(status: int) -> None:
    failure = failure_for(status, OUTCOME, "120")
    assert failure.action == "retry"
    assert failure.retry_after == 120.0


def test_a_retry_without_retry_after_has_no_wait() -> None:
    assert failure_for(503, OUTCOME).retry_after is None


def test_unauthorized_is_retried_as_unauthorized() -> None:
    failure = failure_for(401, OUTCOME)
    assert (failure.action, failure.reason, failure.status) == ("retry", "unauthorized", 401)


@pytest.mark.parametrize("status", [409, 412])
def test_conflicts_are_reconciled(status: int) -> None:
    failure = failure_for(status, OUTCOME)
    assert (failure.action, failure.status) == ("reconcile", status)


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_other_client_errors_are_dead_letters_with_the_servers_answer(status: int) -> None:
    failure = failure_for(status, OUTCOME, "30")
    assert (failure.action, failure.reason, failure.status) == ("dead", f"http_{status}", status)
    assert failure.detail == OUTCOME
    assert str(failure) == f"http_{status} (dead)"


# --- parse_retry_after ---


@pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("120", 120.0), (" 30 ", 30.0)])
def test_retry_after_in_delta_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value) == seconds


def test_retry_after_as_a_future_http_date_is_seconds_from_now() -> None:
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    wait = parse_retry_after(when)
    assert wait is not None
    assert 100.0 <= wait <= 120.0  # the date has whole seconds; the test may take a while


def test_retry_after_as_a_past_http_date_is_zero() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.mark.parametrize("value", ["soon", "-5", "1.5", "Someday, 99 Foo 20xx", "", None])
def test_retry_after_garbage_or_absent_is_none(value: str | None) -> None:
    assert parse_retry_after(value) is None


# Latin-1 header bytes 0xB2, 0xB3, 0xB9 decode to superscript digits, which str.isdigit() accepts.
@pytest.mark.parametrize("value", ["²", "1²"])
def test_retry_after_with_superscript_digits_is_none(value: str) -> None:
    assert parse_retry_after(value) is None


def test_a_503_with_a_superscript_retry_after_is_still_retried() -> None:
    assert failure_for(503, OUTCOME, "\u00b2").action == "retry"


# --- backoff ---


@given(
    attempts=st.integers(min_value=1, max_value=60),
    base=st.floats(min_value=0.01, max_value=60.0),
    cap=st.floats(min_value=0.01, max_value=3600.0),
)
def test_backoff_lies_in_the_upper_half_of_its_ceiling(attempts: int, base: float, cap: float) -> None:
    ceiling = min(cap, base * 2 ** (attempts - 1))
    delay = backoff(attempts, base, cap, None)
    assert ceiling / 2 <= delay <= ceiling


def _pinned(monkeypatch: pytest.MonkeyPatch, pick: Callable[[float, float], float]) -> None:
    monkeypatch.setattr(worker.random, "uniform", pick)


def test_backoff_ceiling_doubles_with_attempts_until_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    _pinned(monkeypatch, lambda low, high: high)
    assert [backoff(n, 2.0, 100.0, None) for n in range(1, 10)] == [2, 4, 8, 16, 32, 64, 100, 100, 100]


def test_backoff_floor_is_half_the_ceiling(monkeypatch: pytest.MonkeyPatch) -> None:
    _pinned(monkeypatch, lambda low, high: low)
    assert [backoff(n, 2.0, 100.0, None) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 50, 50]


@given(attempts=st.integers(min_value=1, max_value=8))
def test_backoff_never_shrinks_with_another_attempt_below_the_cap(attempts: int) -> None:
    # upper-half jitter: the next attempt's floor is this attempt's ceiling
    assert backoff(attempts + 1, 1.0, 1000.0, None) >= backoff(attempts, 1.0, 1000.0, None)


@given(
    attempts=st.integers(min_value=1, max_value=30), retry_after=st.floats(min_value=300.0, max_value=3600)
)
def test_a_longer_retry_after_wins(attempts: int, retry_after: float) -> None:
    assert backoff(attempts, 2.0, 300.0, retry_after) == retry_after


@given(attempts=st.integers(min_value=1, max_value=30), retry_after=st.floats(min_value=0.0, max_value=0.5))
def test_a_shorter_retry_after_does_not_shorten_the_backoff(attempts: int, retry_after: float) -> None:
    ceiling = min(300.0, 2.0 * 2 ** (attempts - 1))
    assert ceiling / 2 <= backoff(attempts, 2.0, 300.0, retry_after) <= ceiling


@pytest.mark.parametrize("retry_after", [3600.5, 86400.0, float("inf")])
def test_retry_after_is_capped_at_an_hour(retry_after: float) -> None:
    assert backoff(1, 2.0, 300.0, retry_after) == 3600.0


# --- writes: references, identifiers, order, Provenance ids ---


def test_rewrite_changes_nested_references_in_dicts_and_lists() -> None:
    plan = {
        "resourceType": "CarePlan",
        "subject": {"reference": "Patient/ours", "display": "A"},
        "goal": [{"reference": "Goal/g1"}, {"reference": "Goal/g2"}],
        "activity": [{"reference": {"reference": "ServiceRequest/s1"}}],
    }
    refs = {"Patient/ours": "Patient/theirs", "Goal/g1": "Goal/77", "ServiceRequest/s1": "ServiceRequest/9"}
    out = rewrite(plan, refs)
    assert out["subject"] == {"reference": "Patient/theirs", "display": "A"}
    assert out["goal"] == [{"reference": "Goal/77"}, {"reference": "Goal/g2"}]
    assert out["activity"] == [{"reference": {"reference": "ServiceRequest/9"}}]


def test_rewrite_leaves_other_values_alone() -> None:
    resource = {
        "id": "Goal/g1",
        "note": [{"text": "Goal/g1"}],
        "identifier": [{"system": "urn:x", "value": "Goal/g1"}],
        "reference": 5,
        "count": 3,
        "flag": None,
    }
    assert rewrite(resource, {"Goal/g1": "Goal/77"}) == resource


def test_rewrite_does_not_mutate_its_input() -> None:
    plan = {"goal": [{"reference": "Goal/g1"}], "subject": {"reference": "Patient/ours"}}
    before = deepcopy(plan)
    out = rewrite(plan, {"Goal/g1": "Goal/77", "Patient/ours": "Patient/theirs"})
    assert plan == before
    assert out is not plan and out["goal"] is not plan["goal"]


def test_business_identifier_is_the_first_of_a_list() -> None:
    goal = {"identifier": [{"system": "urn:a", "value": "1"}, {"system": "urn:b", "value": "2"}]}
    assert business_identifier(goal) == {"system": "urn:a", "value": "1"}


def test_business_identifier_of_a_single_identifier() -> None:
    answers = {"resourceType": "QuestionnaireResponse", "identifier": {"system": "urn:qr", "value": "Q1"}}
    assert business_identifier(answers) == {"system": "urn:qr", "value": "Q1"}


@pytest.mark.parametrize("resource", [{}, {"identifier": []}, {"identifier": None}])
def test_no_business_identifier_is_empty(resource: dict[str, Any]) -> None:
    assert business_identifier(resource) == {}


def _out(resource_type: str, id_: str, deleted: bool = False, *refs: str) -> Outgoing:
    body: dict[str, Any] = {"resourceType": resource_type, "id": id_}
    if refs:
        body["extension"] = [{"url": "urn:x", "valueReference": {"reference": r}} for r in refs]
    return Outgoing(resource_type, id_, 1, deleted, body)


def test_ordered_puts_referenced_resources_first_and_deletions_last() -> None:
    items = [
        _out("Goal", "gone", True),
        _out("Task", "t1", False, "ServiceRequest/s1", "Patient/p"),
        _out("CarePlan", "p1", False, "Goal/g1", "EpisodeOfCare/e1"),
        _out("ServiceRequest", "s1", False, "Goal/g1"),
        _out("Goal", "g1"),
        _out("EpisodeOfCare", "e1", False, "CareTeam/c1"),
        _out("CareTeam", "c1"),
    ]
    refs = [o.ref for o in ordered(items)]
    assert refs.index("Goal/g1") < refs.index("CarePlan/p1")
    assert refs.index("ServiceRequest/s1") < refs.index("Task/t1")
    assert refs.index("CareTeam/c1") < refs.index("EpisodeOfCare/e1") < refs.index("CarePlan/p1")
    assert refs[-1] == "Goal/gone"
    assert sorted(refs) == sorted(o.ref for o in items)


@given(st.data())
def test_ordered_writes_whatever_a_resource_references_in_the_job_before_it(data: st.DataObject) -> None:
    """Any acyclic web of references (edges only to earlier-made items), shuffled, with some deletions."""
    count = data.draw(st.integers(1, 12))
    items = []
    for n in range(count):
        targets = data.draw(st.lists(st.integers(0, n - 1), max_size=3)) if n else []
        deleted = data.draw(st.booleans())
        items.append(_out("Kind", f"r{n}", deleted, *(f"Kind/r{t}" for t in targets)))
    shuffled = data.draw(st.permutations(items))
    out = ordered(list(shuffled))
    assert sorted(o.ref for o in out) == sorted(o.ref for o in items)
    place = {o.ref: i for i, o in enumerate(out)}
    first_deletion = min((place[o.ref] for o in out if o.deleted), default=len(out))
    for o in out:
        if o.deleted:
            continue
        assert place[o.ref] < first_deletion
        for ref in references(o.resource):
            target = next(x for x in items if x.ref == ref)
            assert target.deleted or place[ref] < place[o.ref], (ref, o.ref)


def test_ordered_keeps_every_deletion_after_every_write() -> None:
    items = [_out("EpisodeOfCare", "old", deleted=True), _out("Task", "t1"), _out("CarePlan", "p1")]
    assert [o.deleted for o in ordered(items)] == [False, False, True]


def test_a_reference_left_out_keeps_its_display_and_takes_what_it_alone_filled() -> None:
    plan = {
        "resourceType": "CarePlan",
        "extension": [
            {"url": "urn:episode", "valueReference": {"reference": "EpisodeOfCare/e1"}},
            {"url": "urn:other", "valueString": "kept"},
        ],
        "goal": [{"reference": "Goal/g1"}, {"reference": "Goal/g2", "display": "Stable housing"}],
        "activity": [{"detail": {"goal": [{"reference": "Goal/g1"}], "status": "scheduled"}}],
        "subject": {"reference": "Patient/p"},
    }
    out = without(plan, {"EpisodeOfCare/e1", "Goal/g1", "Goal/g2"})
    assert out["extension"] == [{"url": "urn:other", "valueString": "kept"}]
    assert out["goal"] == [{"display": "Stable housing"}]
    assert out["activity"] == [{"detail": {"status": "scheduled"}}]
    assert out["subject"] == {"reference": "Patient/p"}
    assert references(out) == {"Patient/p"}


@given(
    st.recursive(
        st.just({"reference": "Goal/x"}) | st.text(max_size=3),
        lambda c: (
            st.lists(c, max_size=3)
            | st.dictionaries(st.sampled_from(["a", "b", "valueReference", "url"]), c, max_size=3)
        ),
    )
)
def test_without_leaves_no_reference_to_what_it_took_out_and_nothing_empty(value: Any) -> None:
    out = without(value, {"Goal/x"})
    assert "Goal/x" not in json.dumps(out)

    def empty(node: Any) -> bool:
        if isinstance(node, dict):
            return any(v in ({}, []) or empty(v) for v in node.values())
        if isinstance(node, list):
            return any(v in ({}, []) or empty(v) for v in node)
        return False

    assert not empty(out) or empty(value)


def test_provenance_names_the_versions_written_and_the_last_version_of_what_was_removed() -> None:
    written = [
        Written(_out("CarePlan", "p1"), "ehr-p1", "7"),
        Written(_out("Goal", "g1", True), None, None),
        Written(_out("Goal", "g2", True), None, None),  # never versioned: named by no Provenance
    ]
    known = {
        ("Goal", "g1"): Sent("ehr-g1", "3", LedgerAction.PUT),
        ("Goal", "g2"): Sent("ehr-g2", None, LedgerAction.PUT),
    }
    assert provenance_targets(written, known) == {
        "UPDATE": ["CarePlan/ehr-p1/_history/7"],
        "DELETE": ["Goal/ehr-g1/_history/3"],
    }
    assert provenance_targets([Written(_out("Goal", "g2", True), None, None)], known) == {}


def test_provenance_id_is_stable_and_differs_per_job() -> None:
    first = provenance_id("acme", "hospital", 1)
    assert first == provenance_id("acme", "hospital", 1)
    others = {provenance_id("acme", "hospital", 2), provenance_id("acme", "clinic", 1)}
    others |= {provenance_id("other", "hospital", 1), provenance_id("acme", "hospital", 1, "DELETE")}
    assert first not in others and len(others) == 4


# --- signing keys ---


@pytest.fixture(scope="module")
def ec_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return generate(tmp_path_factory.mktemp("keys") / "ec.pem", "ES384")


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return generate(tmp_path_factory.mktemp("keys") / "rsa.pem", "RS384")


@pytest.fixture(params=["ES384", "RS384"])
def key(request: pytest.FixtureRequest, ec_key: SigningKey, rsa_key: SigningKey) -> SigningKey:
    return ec_key if request.param == "ES384" else rsa_key


def _write_pem(path: Path, private: Any) -> Path:
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_generate_writes_a_private_file_and_refuses_to_overwrite(tmp_path: Path, alg: str) -> None:
    path = tmp_path / "sub" / "key.pem"
    key = generate(path, alg)
    assert key.alg == alg
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    with pytest.raises(SigningKeyError, match="exists"):
        generate(path, alg)
    assert path.read_bytes() == before


def test_generate_refuses_an_unknown_algorithm(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="HS256"):
        generate(tmp_path / "key.pem", "HS256")
    assert not (tmp_path / "key.pem").exists()


def test_a_missing_key_file_names_the_file_and_the_command(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(SigningKeyError) as caught:
        load_key(missing)
    assert str(missing) in str(caught.value)
    assert "fhir-adapter keys generate" in str(caught.value)


def test_a_file_that_is_not_a_pem_key_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    with pytest.raises(SigningKeyError, match="not a PEM private key"):
        load_key(junk)


def test_a_p256_key_is_refused(tmp_path: Path) -> None:
    path = _write_pem(tmp_path / "p256.pem", ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(SigningKeyError, match="P-384"):
        load_key(path)


def test_a_1024_bit_rsa_key_is_refused(tmp_path: Path) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - to be refused
    path = _write_pem(tmp_path / "rsa1024.pem", weak)
    with pytest.raises(SigningKeyError, match="2048 bits"):
        load_key(path)


def _rfc7638(jwk: dict[str, Any]) -> str:
    if jwk["kty"] == "EC":
        canonical = f'{{"crv":"{jwk["crv"]}","kty":"EC","x":"{jwk["x"]}","y":"{jwk["y"]}"}}'
    else:
        canonical = f'{{"e":"{jwk["e"]}","kty":"RSA","n":"{jwk["n"]}"}}'
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).decode().rstrip("=")


def test_kid_is_the_rfc7638_thumbprint(key: SigningKey) -> None:
    assert key.kid == _rfc7638(key.jwk)
    assert BASE64URL_SHA256.match(key.kid)
    assert key.jwk["kid"] == key.kid and key.jwk["alg"] == key.alg


def test_thumbprint_matches_the_rfc7638_example() -> None:
    example = {  # RFC 7638 section 3.1
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert _thumbprint(example) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_kid_is_stable_across_loads(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    generated = generate(path, "ES384")
    assert load_key(path).kid == load_key(path).kid == generated.kid


def test_jwks_publishes_only_public_members(ec_key: SigningKey, rsa_key: SigningKey) -> None:
    published = jwks([ec_key, rsa_key])
    json.dumps(published)  # serialisable as it is served
    assert [k["kid"] for k in published["keys"]] == [ec_key.kid, rsa_key.kid]
    private_members = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
    for member in published["keys"]:
        assert not private_members & member.keys()
        assert member["use"] == "sig"
    assert published["keys"][0]["crv"] == "P-384"


def _verify(key: SigningKey, token: str) -> dict[str, Any]:
    return jwt.decode(
        token,
        jwt.PyJWK(key.jwk),
        algorithms=[key.alg],
        audience=AUDIENCE,
        issuer="our-client",
        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
    )


def test_client_assertion_verifies_against_the_public_jwk(key: SigningKey) -> None:
    token = client_assertion(key, "our-client", AUDIENCE)
    claims = _verify(key, token)
    assert claims["iss"] == claims["sub"] == "our-client"
    assert claims["aud"] == AUDIENCE
    assert claims["exp"] - claims["iat"] == 300
    assert abs(claims["iat"] - time.time()) < 60
    header = jwt.get_unverified_header(token)
    assert header["kid"] == key.kid and header["alg"] == key.alg


def test_client_assertion_does_not_verify_with_another_key(ec_key: SigningKey, tmp_path: Path) -> None:
    other = generate(tmp_path / "other.pem", "ES384")
    with pytest.raises(jwt.InvalidSignatureError):
        _verify(other, client_assertion(ec_key, "our-client", AUDIENCE))


def test_client_assertion_times_from_now(ec_key: SigningKey) -> None:
    claims = jwt.decode(
        client_assertion(ec_key, "our-client", AUDIENCE, now=1_000_000.9),
        jwt.PyJWK(ec_key.jwk),
        algorithms=["ES384"],
        audience=AUDIENCE,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert (claims["iat"], claims["exp"]) == (1_000_000, 1_000_300)


def test_two_client_assertions_have_different_jti(ec_key: SigningKey) -> None:
    first = _verify(ec_key, client_assertion(ec_key, "our-client", AUDIENCE))
    second = _verify(ec_key, client_assertion(ec_key, "our-client", AUDIENCE))
    assert first["jti"] != second["jti"]
