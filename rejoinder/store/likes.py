"""Likes: one row per comment and liker; the unique key makes liking twice a no-op."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete

from rejoinder.store.dialect import insert_ignore
from rejoinder.store.schema import likes


def add_like(conn: Connection, comment_id: int, liker_key: str, now: datetime) -> bool:
    """True if this liker had not liked the comment yet."""
    inserted = conn.execute(
        insert_ignore(conn, likes)
        .values(comment_id=comment_id, liker_key=liker_key, created_at=now)
        .returning(likes.c.comment_id)
    ).first()
    return inserted is not None


def remove_like(conn: Connection, comment_id: int, liker_key: str) -> bool:
    """True if a like by this liker was there to remove."""
    removed = conn.execute(
        delete(likes)
        .where(likes.c.comment_id == comment_id, likes.c.liker_key == liker_key)
        .returning(likes.c.comment_id)
    ).first()
    return removed is not None
