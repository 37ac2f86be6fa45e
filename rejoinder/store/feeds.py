"""What the Atom feeds read: a site's or a thread's newest published comments, with their threads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from rejoinder.model import CommentKind, CommentStatus
from rejoinder.store.schema import comments, threads

c = comments.c


@dataclass(frozen=True)
class FeedEntry:
    """A published comment as a feed shows it: public fields only, never an e-mail or client address."""

    id: int
    name: str
    website: str
    html: str
    created_at: datetime
    edited_at: datetime | None
    thread_url: str
    thread_title: str


def newest_published(
    conn: Connection, site_id: int, limit: int, thread_id: int | None = None
) -> list[FeedEntry]:
    query = (
        select(
            c.id,
            c.author_name,
            c.author_website,
            c.html,
            c.created_at,
            c.edited_at,
            threads.c.url,
            threads.c.title,
        )
        .join_from(comments, threads, threads.c.id == c.thread_id)
        .where(
            threads.c.site_id == site_id,
            c.status == CommentStatus.PUBLISHED.value,
            c.kind == CommentKind.COMMENT.value,
        )
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(limit)
    )
    if thread_id is not None:
        query = query.where(c.thread_id == thread_id)
    return [FeedEntry(*row) for row in conn.execute(query)]
