"""Bans of one site: by e-mail address, client address, network or link domain, with reason and expiry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, or_, select

from rejoinder.model import Ban
from rejoinder.store.schema import bans

b = bans.c


def _ban(row: Any) -> Ban:
    return Ban(
        id=row.id, site_id=row.site_id, kind=row.kind, value=row.value, reason=row.reason,
        created_at=row.created_at, created_by=row.created_by, expires_at=row.expires_at,
    )  # fmt: skip


def insert_ban(
    conn: Connection,
    *,
    site_id: int,
    kind: str,
    value: str,
    reason: str,
    created_by: str,
    now: datetime,
    expires_at: datetime | None,
) -> Ban:
    row = conn.execute(
        bans.insert()
        .values(
            site_id=site_id, kind=kind, value=value, reason=reason, created_by=created_by, created_at=now,
            expires_at=expires_at,
        )
        .returning(*bans.c)
    ).one()  # fmt: skip
    return _ban(row)


def active_bans(conn: Connection, site_id: int, now: datetime) -> list[Ban]:
    query = (
        select(bans)
        .where(b.site_id == site_id, or_(b.expires_at.is_(None), b.expires_at > now))
        .order_by(b.id)
    )
    return [_ban(row) for row in conn.execute(query)]


def list_bans(conn: Connection, site_ids: list[int]) -> list[Ban]:
    query = select(bans).where(b.site_id.in_(site_ids)).order_by(b.id.desc())
    return [_ban(row) for row in conn.execute(query)]


def get_ban(conn: Connection, ban_id: int) -> Ban | None:
    row = conn.execute(select(bans).where(b.id == ban_id)).first()
    return _ban(row) if row else None


def delete_ban(conn: Connection, ban_id: int) -> None:
    conn.execute(delete(bans).where(b.id == ban_id))
