"""Personal data in the store: network addresses and user agents past their time, a commenter's comments
found by e-mail address, and the mailed links commenters export or erase their data with (kept only as a
hash of the link's secret)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, exists, func, or_, select, update

from rejoinder.model import Comment
from rejoinder.store.comments import _comment
from rejoinder.store.schema import (
    comments,
    identities,
    mail_recipients,
    privacy_requests,
    sites,
    threads,
)

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


def holds_email(conn: Connection, email: str) -> bool:
    """Whether anything is kept under ``email`` (lower case): a comment, a subscription, an identity."""
    return bool(
        conn.execute(
            select(
                exists().where(func.lower(c.author_email) == email)
                | exists().where(mail_recipients.c.email == email)
                | exists().where(func.lower(identities.c.email) == email)
            )
        ).scalar()
    )


def insert_request(
    conn: Connection, *, token_hash: str, site_id: int, email: str, action: str, expires_at: datetime
) -> None:
    conn.execute(
        privacy_requests.insert().values(
            token_hash=token_hash, site_id=site_id, email=email, action=action, expires_at=expires_at
        )
    )


def peek_request(conn: Connection, token_hash: str) -> Any:
    return conn.execute(select(privacy_requests).where(privacy_requests.c.token_hash == token_hash)).first()


def take_request(conn: Connection, token_hash: str) -> Any:
    """The request, deleted: of two confirmations that read it, only the one whose DELETE removed it."""
    row = peek_request(conn, token_hash)
    if row is None:
        return None
    gone = conn.execute(delete(privacy_requests).where(privacy_requests.c.token_hash == token_hash)).rowcount
    return row if gone == 1 else None


def purge_expired_requests(conn: Connection, now: datetime) -> int:
    return conn.execute(delete(privacy_requests).where(privacy_requests.c.expires_at <= now)).rowcount or 0
