"""API keys: rows holding the SHA-256 of each key, never the key itself, and how often each was used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, delete, select, update

from rejoinder.store.schema import api_keys, sites


class ApiKeyKind(StrEnum):
    ADMIN = "admin"  # the moderation API, server-wide
    AKISMET = "akismet"  # the Akismet-compatible API of one site
    PERSONAL = "personal"  # a moderator's own token: the moderation API as that moderator


@dataclass(frozen=True)
class ApiKey:
    """What is known about a key; the key itself is shown once, when it is made, and never stored."""

    id: int
    kind: ApiKeyKind
    site_id: int | None  # None for server-wide (admin) keys
    label: str
    created_at: datetime
    calls: int  # as of when this was read
    site_key: str | None = None
    moderator_id: int | None = None  # the owner of a personal token


k = api_keys.c

# Every column of the key, and the key of its site (NULL for server-wide keys).
_COLUMNS = (
    k.id, k.kind, k.site_id, sites.c.key.label("site_key"), k.label, k.created_at, k.calls, k.moderator_id
)  # fmt: skip
_WITH_SITE = api_keys.outerjoin(sites, sites.c.id == k.site_id)


def _api_key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        kind=ApiKeyKind(row.kind),
        site_id=row.site_id,
        site_key=row.site_key,
        label=row.label,
        created_at=row.created_at,
        calls=row.calls,
        moderator_id=row.moderator_id,
    )


def insert_key(
    conn: Connection,
    *,
    kind: ApiKeyKind,
    key_hash: str,
    site_id: int | None,
    label: str,
    now: datetime,
    moderator_id: int | None = None,
) -> int:
    return conn.execute(
        api_keys.insert()
        .values(
            kind=kind.value,
            key_hash=key_hash,
            site_id=site_id,
            label=label,
            created_at=now,
            calls=0,
            moderator_id=moderator_id,
        )
        .returning(k.id)
    ).scalar_one()


def find_by_hash(conn: Connection, kind: ApiKeyKind, key_hash: str) -> ApiKey | None:
    row = conn.execute(
        select(*_COLUMNS).select_from(_WITH_SITE).where(k.key_hash == key_hash, k.kind == kind.value)
    ).first()
    return _api_key(row) if row else None


def get_key(conn: Connection, key_id: int) -> ApiKey | None:
    row = conn.execute(select(*_COLUMNS).select_from(_WITH_SITE).where(k.id == key_id)).first()
    return _api_key(row) if row else None


def list_keys(
    conn: Connection,
    kind: ApiKeyKind | None = None,
    site_id: int | None = None,
    moderator_id: int | None = None,
) -> list[ApiKey]:
    query = select(*_COLUMNS).select_from(_WITH_SITE).order_by(k.id)
    if moderator_id is not None:
        query = query.where(k.moderator_id == moderator_id)
    if kind is not None:
        query = query.where(k.kind == kind.value)
    if site_id is not None:
        query = query.where(k.site_id == site_id)
    return [_api_key(row) for row in conn.execute(query)]


def delete_key(conn: Connection, key_id: int) -> bool:
    return conn.execute(delete(api_keys).where(k.id == key_id)).rowcount > 0


def count_call(conn: Connection, key_id: int) -> None:
    conn.execute(update(api_keys).where(k.id == key_id).values(calls=k.calls + 1))


def calls_of(conn: Connection, key_id: int) -> int | None:
    """The key's call count as committed now, or None if the key was revoked."""
    return conn.execute(select(k.calls).where(k.id == key_id)).scalar_one_or_none()
