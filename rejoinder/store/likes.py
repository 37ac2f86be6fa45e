"""Likes: one row per comment and liker; the unique key makes liking twice a no-op."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select

from rejoinder.store.dialect import insert_ignore
from rejoinder.store.schema import likes


def add_like(conn: Connection, comment_id: int, liker_key: str, now: datetime) -> bool:
    """True if this liker had not liked the comment yet."""
    result = conn.execute(
        insert_ignore(conn, likes).values(comment_id=comment_id, liker_key=liker_key, created_at=now)
    )
    return result.rowcount == 1


def remove_like(conn: Connection, comment_id: int, liker_key: str) -> bool:
    """True if a like by this liker was there to remove."""
    result = conn.execute(
        delete(likes).where(likes.c.comment_id == comment_id, likes.c.liker_key == liker_key)
    )
    return result.rowcount == 1


def has_liked(conn: Connection, comment_id: int, liker_key: str) -> bool:
    row = conn.execute(
        select(likes.c.comment_id).where(likes.c.comment_id == comment_id, likes.c.liker_key == liker_key)
    ).first()
    return row is not None
