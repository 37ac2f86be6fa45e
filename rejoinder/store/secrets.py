"""Server-wide secrets kept in the database, so that every process of a deployment shares them."""

from __future__ import annotations

from sqlalchemy import Connection, select

from rejoinder.store.dialect import insert_ignore
from rejoinder.store.schema import server_secrets


def get_or_create_secret(conn: Connection, name: str, candidate: str) -> str:
    """The stored value of ``name``; ``candidate`` becomes it if none was stored (first writer wins)."""
    conn.execute(insert_ignore(conn, server_secrets).values(name=name, value=candidate))
    return conn.execute(select(server_secrets.c.value).where(server_secrets.c.name == name)).scalar_one()
