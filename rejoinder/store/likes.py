"""Likes: one row per comment and liker; the unique key makes liking twice a no-op."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite

from rejoinder.store.schema import likes

# Built once: a like is a handful of tiny statements, and building one costs more than running it.
_ADD_LIKE = {
    module.dialect.name: module.insert(likes).on_conflict_do_nothing().returning(likes.c.comment_id)
    for module in (postgresql, sqlite)
}
_REMOVE_LIKE = (
    delete(likes)
    .where(likes.c.comment_id == bindparam("comment_id"), likes.c.liker_key == bindparam("liker_key"))
    .returning(likes.c.comment_id)
)


def add_like(conn: Connection, comment_id: int, liker_key: str, now: datetime) -> bool:
    """True if this liker had not liked the comment yet."""
    values = {"comment_id": comment_id, "liker_key": liker_key, "created_at": now}
    return conn.execute(_ADD_LIKE[conn.dialect.name], values).first() is not None


def remove_like(conn: Connection, comment_id: int, liker_key: str) -> bool:
    """True if a like by this liker was there to remove."""
    removed = conn.execute(_REMOVE_LIKE, {"comment_id": comment_id, "liker_key": liker_key}).first()
    return removed is not None
