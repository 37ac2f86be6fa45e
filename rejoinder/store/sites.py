"""Sites: the blogs and news sites one server hosts comments for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from rejoinder.model import Site
from rejoinder.store.schema import sites


def _site(row: Row[Any]) -> Site:
    return Site(
        id=row.id,
        key=row.key,
        name=row.name,
        allowed_origins=tuple(row.allowed_origins),
        settings=dict(row.settings),
    )


def get_site(conn: Connection, key: str) -> Site | None:
    row = conn.execute(select(sites).where(sites.c.key == key)).first()
    return _site(row) if row else None


def list_sites(conn: Connection) -> list[Site]:
    return [_site(row) for row in conn.execute(select(sites).order_by(sites.c.key))]


def insert_site(
    conn: Connection,
    *,
    key: str,
    name: str,
    allowed_origins: list[str],
    settings: dict[str, Any],
    now: datetime,
) -> Site:
    site_id = conn.execute(
        sites.insert()
        .values(key=key, name=name, allowed_origins=allowed_origins, settings=settings, created_at=now)
        .returning(sites.c.id)
    ).scalar_one()
    return Site(id=site_id, key=key, name=name, allowed_origins=tuple(allowed_origins), settings=settings)


def update_site(
    conn: Connection, site_id: int, *, name: str, allowed_origins: list[str], settings: dict[str, Any]
) -> None:
    conn.execute(
        update(sites)
        .where(sites.c.id == site_id)
        .values(name=name, allowed_origins=allowed_origins, settings=settings)
    )


def get_site_by_id(conn: Connection, site_id: int) -> Site:
    return _site(conn.execute(select(sites).where(sites.c.id == site_id)).one())
