"""Readers' reports of comments: one per reader and comment, resolved when a moderator decides."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select, update

from rejoinder.store.dialect import insert_ignore
from rejoinder.store.schema import reports

r = reports.c


def add_report(
    conn: Connection, *, comment_id: int, reason: str, text: str, reporter_key: str, now: datetime
) -> bool:
    """Record a report; False if this reader had reported the comment already."""
    # RETURNING rather than rowcount: psycopg reports no row count for INSERT … ON CONFLICT DO NOTHING.
    inserted = conn.execute(
        insert_ignore(conn, reports)
        .values(comment_id=comment_id, reason=reason, text=text, reporter_key=reporter_key, created_at=now)
        .returning(r.id)
    ).first()
    return inserted is not None


def open_reports(conn: Connection, comment_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).where(r.comment_id == comment_id, r.resolved_at.is_(None))
        ).scalar_one()
    )


def resolve(conn: Connection, comment_id: int, now: datetime) -> int:
    """A moderator decided on the comment: its open reports are settled."""
    return conn.execute(
        update(reports).where(r.comment_id == comment_id, r.resolved_at.is_(None)).values(resolved_at=now)
    ).rowcount
