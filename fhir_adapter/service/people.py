"""People's accounts: made, listed and disabled from the command line; signing in, with the lock that
repeated failures bring; what a person signed in may do, as the Principal the other services take."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fhir_adapter.config import Settings
from fhir_adapter.domain.people import ROLES, Person, Role
from fhir_adapter.domain.stored import OrgRow
from fhir_adapter.service.auth import ORG_RE, default_namespace, to_org
from fhir_adapter.service.context import Clock, Principal, stamp
from fhir_adapter.service.ports import AlreadyUsed, Storage, Work

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
MIN_PASSWORD = 10
HASHER = PasswordHasher()  # argon2id with the RFC 9106 low-memory parameters
# What a planner may do: read everything of the organisation (the audit trail aside), resolve messages.
PLANNER = frozenset({("*", "read"), ("*", "search"), ("Encounter", "update")})
# An administrator also sends dead letters again and links clients to their patients in the EHRs.
ADMIN = PLANNER | {("Endpoint", "update"), ("Patient", "update")}


WRONG = "the user name or the password is wrong"
LOCKED = "too many failed sign-ins: the account is locked for a while; try again later"


class SignInRefused(Exception):
    """The sign-in failed; the message is the one to show (it never says whether the name exists).
    `person`: whose account it was, when the name is one (for the audit, never shown)."""

    def __init__(self, message: str, person: Person | None = None) -> None:
        super().__init__(message)
        self.person = person


def add_person(
    storage: Storage, settings: Settings, org_id: str, name: str, role: str, password: str, now: str
) -> Person:
    """A new account of `org_id` (the organisation is made when new); ValueError says what is wrong."""
    if not ORG_RE.match(org_id):
        raise ValueError(f"an organisation id is lower-case letters, digits and '-': {org_id!r}")
    if not NAME_RE.match(name):
        raise ValueError(
            "a user name is letters, digits and . _ @ - (at most 100), starting with a letter or digit"
        )
    if role not in ROLES:
        raise ValueError(f"the role is one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must be at least {MIN_PASSWORD} characters")
    person = Person("u-" + secrets.token_hex(8), org_id, name, Role(role), now)
    try:
        with storage.writing() as work:
            if work.orgs.get_org(org_id) is None:
                work.orgs.add_org(OrgRow(org_id, org_id, default_namespace(settings, org_id)), now)
            work.people.add(person, HASHER.hash(password))
    except AlreadyUsed as err:
        raise ValueError(f"there is a user {name} already") from err
    return person


@cache
def _decoy() -> str:
    """Verified against when the name is unknown, so that an unknown name takes as long as a wrong password."""
    return str(HASHER.hash(secrets.token_urlsafe(16)))


def _verified(hashed: str, password: str) -> bool:
    try:
        return bool(HASHER.verify(hashed, password))
    except (VerificationError, InvalidHashError):
        return False


def sign_in(storage: Storage, settings: Settings, name: str, password: str, clock: Clock) -> Person:
    """The person, when the name and password are right, the account enabled and not locked. Each wrong
    password counts; the count reaching FHIR_ADAPTER_LOGIN_MAX_FAILURES locks the account for a while."""
    with storage.writing() as work:  # the count of failures is committed, then the refusal raised
        person, refused = _attempt(work, settings, name, password, clock())
    if refused or person is None:
        raise SignInRefused(refused or WRONG, person)
    return person


def _attempt(
    work: Work, settings: Settings, name: str, password: str, now: datetime
) -> tuple[Person | None, str | None]:
    """(whose account the name is, why the sign-in is refused; None when it is not)."""
    found = work.people.by_name(name, for_update=True) if NAME_RE.match(name) else None
    if found is None or not found[0].active:
        _verified(_decoy(), password)
        return (found[0] if found else None), WRONG
    person, hashed = found
    if person.locked_until and person.locked_until > stamp(now):
        return person, LOCKED
    if not _verified(hashed, password):
        failures = person.failures + 1
        locked = failures >= settings.login_max_failures
        until = stamp(now + timedelta(seconds=settings.login_lockout_seconds)) if locked else None
        work.people.failed(person.id, 0 if locked else failures, until)
        return person, LOCKED if locked else WRONG
    work.people.failed(person.id, 0, None)
    if HASHER.check_needs_rehash(hashed):
        work.people.rehash(person.id, HASHER.hash(password))
    return person, None


def signed_in(storage: Storage, settings: Settings, person_id: str, generation: int) -> Principal | None:
    """The person of a session begun in `generation` as the services' caller; None when the account is
    gone or disabled, or the person signed out since (which counts the generation on)."""
    with storage.reading() as work:
        person = work.people.get(person_id)
        current = person is not None and person.active and person.generation == generation
        org = work.orgs.get_org(person.org_id) if person and current else None
    if person is None or org is None:
        return None
    grants = ADMIN if person.role is Role.ADMIN else PLANNER
    return Principal(f"person/{person.id}", person.name, to_org(org, settings), grants)


def people(storage: Storage, org_id: str | None = None) -> list[Person]:
    with storage.reading() as work:
        return work.people.listing(org_id)


def sign_out(storage: Storage, person_id: str) -> None:
    """End every session of the person, on every browser (a copy of the cookie included)."""
    with storage.writing() as work:
        work.people.end_sessions(person_id)


def disable(storage: Storage, name: str, now: str) -> bool:
    """Disable an account: its sessions end at their next request, and it cannot sign in again."""
    with storage.writing() as work:
        return work.people.disable(name, now)
