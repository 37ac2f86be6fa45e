"""The audit log's rows: written in the transaction of the change they describe, read newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from rejoinder.store.schema import audit_log, sites

a = audit_log.c


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    site: str | None
    comment_id: int | None
    batch: str | None
    before: Any
    after: Any


def insert_entry(
    conn: Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    site_id: int | None,
    comment_id: int | None = None,
    batch: str | None = None,
    before: Any = None,
    after: Any = None,
) -> int:
    return conn.execute(
        audit_log.insert()
        .values(
            at=at, actor=actor, action=action, site_id=site_id, comment_id=comment_id, batch=batch,
            before=before, after=after,
        )
        .returning(a.id)
    ).scalar_one()  # fmt: skip


_SELECT = select(audit_log, sites.c.key.label("site_key")).select_from(
    audit_log.outerjoin(sites, sites.c.id == a.site_id)
)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        row.id, row.at, row.actor, row.action, row.site_key, row.comment_id, row.batch, row.before, row.after
    )


def list_entries(
    conn: Connection,
    *,
    site_ids: Sequence[int] | None,
    before_id: int | None,
    limit: int,
    comment_id: int | None = None,
) -> list[AuditEntry]:
    """Newest first. ``site_ids`` None: every entry, server-wide ones (no site) included."""
    query = _SELECT.order_by(a.id.desc()).limit(limit)
    if site_ids is not None:
        query = query.where(a.site_id.in_(list(site_ids)))
    if before_id is not None:
        query = query.where(a.id < before_id)
    if comment_id is not None:
        query = query.where(a.comment_id == comment_id)
    return [_entry(row) for row in conn.execute(query)]


def batch_entries(conn: Connection, batch: str) -> list[AuditEntry]:
    return [_entry(row) for row in conn.execute(_SELECT.where(a.batch == batch).order_by(a.id))]
