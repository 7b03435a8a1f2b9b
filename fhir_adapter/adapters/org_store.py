"""Organisations and the API clients registered for them (only a hash of each token is kept)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from fhir_adapter.adapters.tables import api_clients, organizations
from fhir_adapter.domain.stored import ClientRow, OrgRow


def _org(row: Any) -> OrgRow:
    return OrgRow(row.id, row.name, row.identifier_namespace, row.time_zone)


def get_org(conn: Connection, org_id: str) -> OrgRow | None:
    row = conn.execute(select(organizations).where(organizations.c.id == org_id)).first()
    return _org(row) if row else None


def add_org(conn: Connection, org: OrgRow, stamp: str) -> None:
    conn.execute(
        insert(organizations).values(
            id=org.id,
            name=org.name,
            identifier_namespace=org.identifier_namespace,
            created_at=stamp,
            time_zone=org.time_zone,
        )
    )


def list_orgs(conn: Connection) -> list[OrgRow]:
    return [_org(row) for row in conn.execute(select(organizations).order_by(organizations.c.id))]


def set_time_zone(conn: Connection, org_id: str, time_zone: str | None) -> bool:
    """The zone the organisation's people see times in (None: the site's); False when there is no such org."""
    result = conn.execute(
        update(organizations).where(organizations.c.id == org_id).values(time_zone=time_zone)
    )
    return result.rowcount == 1


def add_client(conn: Connection, client: ClientRow, token_hash: str) -> None:
    conn.execute(
        insert(api_clients).values(
            id=client.id,
            org_id=client.org_id,
            name=client.name,
            scopes=client.scopes,
            token_hash=token_hash,
            created_at=client.created_at,
            restricted_access=client.restricted_access,
        )
    )


def client_by_token(conn: Connection, token_hash: str) -> ClientRow | None:
    row = conn.execute(select(api_clients).where(api_clients.c.token_hash == token_hash)).first()
    return _client(row) if row else None


def clients(conn: Connection, org_id: str | None = None) -> list[ClientRow]:
    query = select(api_clients).order_by(api_clients.c.org_id, api_clients.c.created_at)
    if org_id:
        query = query.where(api_clients.c.org_id == org_id)
    return [_client(row) for row in conn.execute(query)]


def revoke(conn: Connection, client_id: str, stamp: str) -> bool:
    result = conn.execute(
        update(api_clients)
        .where(api_clients.c.id == client_id, api_clients.c.revoked_at.is_(None))
        .values(revoked_at=stamp)
    )
    return result.rowcount == 1


def _client(row: Any) -> ClientRow:
    return ClientRow(
        row.id, row.org_id, row.name, row.scopes, row.created_at, row.revoked_at, row.restricted_access
    )
