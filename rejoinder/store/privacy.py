"""Personal data in the store: network addresses and user agents past their time, a commenter's comments
found by e-mail address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, or_, select, update

from rejoinder.model import Comment
from rejoinder.store.comments import _comment
from rejoinder.store.schema import comments, sites, threads

c = comments.c


def erase_client_data_before(conn: Connection, site_id: int, cutoff: datetime) -> int:
    """Blank the address and user agent of the site's comments written before ``cutoff``; how many."""
    result = conn.execute(
        update(comments)
        .where(
            c.thread_id.in_(select(threads.c.id).where(threads.c.site_id == site_id)),
            c.created_at < cutoff,
            or_(c.remote_addr != "", c.user_agent != ""),
        )
        .values(remote_addr="", user_agent="")
    )
    return result.rowcount or 0


def comments_by_email(conn: Connection, email: str) -> list[tuple[str, str, Comment]]:
    """(site key, thread URL, comment) for every comment signed with ``email`` (case-insensitive)."""
    rows = conn.execute(
        select(sites.c.key, threads.c.url, comments)
        .join(threads, threads.c.id == c.thread_id)
        .join(sites, sites.c.id == threads.c.site_id)
        .where(func.lower(c.author_email) == email.strip().lower())
        .order_by(c.id)
    )
    return [(row.key, row.url, _comment(row)) for row in rows]
