"""The people who sign in to the workspace: their accounts, password hashes and failed sign-ins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from fhir_adapter.adapters.tables import people
from fhir_adapter.domain.people import Person, Role
from fhir_adapter.service.ports import AlreadyUsed


def _person(row: Any) -> Person:
    return Person(
        row.id,
        row.org_id,
        row.name,
        Role(row.role),
        row.created_at,
        row.disabled_at,
        row.failures,
        row.locked_until,
        row.generation,
    )


def add(conn: Connection, person: Person, password_hash: str) -> None:
    """A new account; AlreadyUsed when its name is taken."""
    row = {
        "id": person.id,
        "org_id": person.org_id,
        "name": person.name,
        "role": person.role,
        "password_hash": password_hash,
        "failures": 0,
        "created_at": person.created_at,
        "generation": 0,
    }
    try:
        with conn.begin_nested():
            conn.execute(insert(people).values(**row))
    except IntegrityError as err:
        raise AlreadyUsed(person.name) from err


def by_name(conn: Connection, name: str, for_update: bool = False) -> tuple[Person, str] | None:
    """The person signing in as `name` and their password hash."""
    query = select(people).where(people.c.name == name)
    row = conn.execute(query.with_for_update() if for_update else query).first()
    return (_person(row), row.password_hash) if row else None


def get(conn: Connection, person_id: str) -> Person | None:
    row = conn.execute(select(people).where(people.c.id == person_id)).first()
    return _person(row) if row else None


def listing(conn: Connection, org_id: str | None = None) -> list[Person]:
    query = select(people).order_by(people.c.org_id, people.c.name)
    if org_id:
        query = query.where(people.c.org_id == org_id)
    return [_person(row) for row in conn.execute(query)]


def disable(conn: Connection, name: str, now: str) -> bool:
    """Disable the account and end its sessions; False when there is no enabled account of that name."""
    result = conn.execute(
        update(people)
        .where(people.c.name == name, people.c.disabled_at.is_(None))
        .values(disabled_at=now, generation=people.c.generation + 1)
    )
    return result.rowcount == 1


def end_sessions(conn: Connection, person_id: str) -> None:
    """Every session the person holds ends: they carry the generation before this one."""
    conn.execute(update(people).where(people.c.id == person_id).values(generation=people.c.generation + 1))


def failed(conn: Connection, person_id: str, failures: int, locked_until: str | None) -> None:
    conn.execute(
        update(people).where(people.c.id == person_id).values(failures=failures, locked_until=locked_until)
    )


def rehash(conn: Connection, person_id: str, password_hash: str) -> None:
    conn.execute(update(people).where(people.c.id == person_id).values(password_hash=password_hash))
