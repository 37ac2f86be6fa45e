"""The moderation queue's reads: comments of some sites by status and filters, a page at a time, and
what a moderator needs beside each (parent, author's history, reports) in one query each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Integer, Select, cast, func, or_, select, tuple_

from rejoinder.model import Comment, CommentKind, CommentStatus
from rejoinder.store.comments import PUBLIC_COLUMNS, _comment
from rejoinder.store.schema import audit_log, comments, identities, reports, sites, threads

c = comments.c
REPORTED = "reported"


@dataclass(frozen=True)
class QueueQuery:
    """Which comments: ``status`` is a comment status or ``reported`` (open reports, any status but
    deleted); the text filters are substrings (``q`` of the text, ``author`` of the name, ``url`` a prefix
    of the thread's address), ``email`` and ``ip`` exact."""

    site_ids: Sequence[int]
    status: str = CommentStatus.PENDING.value
    q: str = ""
    author: str = ""
    email: str = ""
    ip: str = ""
    url: str = ""
    newest_first: bool = True
    after: tuple[datetime, int] | None = None  # the last (created_at, id) of the previous page


_QUEUE_COLUMNS = (
    *PUBLIC_COLUMNS,
    c.body,
    c.author_email,
    c.remote_addr,
    c.user_agent,
    c.spam_action,
    c.spam_score,
    c.spam_reasons,
    threads.c.url.label("thread_url"),
    threads.c.title.label("thread_title"),
    threads.c.site_id,
    sites.c.key.label("site_key"),
    # What a ban of the verified author names (provider:subject); NULL for a guest's comment.
    select(identities.c.provider + ":" + identities.c.subject)
    .where(identities.c.id == c.identity_id)
    .scalar_subquery()
    .label("identity_key"),
)


def comment_of(row: Any) -> Comment:
    """The comment of a queue row, its private fields included."""
    return _comment(row)


def _open_reports() -> Any:
    return select(reports.c.id).where(reports.c.comment_id == c.id, reports.c.resolved_at.is_(None)).exists()


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(query: QueueQuery, columns: Sequence[Any]) -> Select[Any]:
    stmt = (
        select(*columns)
        .join_from(comments, threads, threads.c.id == c.thread_id)
        .join(sites, sites.c.id == threads.c.site_id)
        .where(threads.c.site_id.in_(list(query.site_ids)), c.kind == CommentKind.COMMENT.value)
    )
    if query.status == REPORTED:
        stmt = stmt.where(c.status != CommentStatus.DELETED.value, _open_reports())
    else:
        stmt = stmt.where(c.status == query.status)
    if query.q:
        stmt = stmt.where(c.body.ilike(_like(query.q), escape="\\"))
    if query.author:
        stmt = stmt.where(c.author_name.ilike(_like(query.author), escape="\\"))
    if query.email:
        stmt = stmt.where(func.lower(c.author_email) == query.email.lower())
    if query.ip:
        stmt = stmt.where(c.remote_addr == query.ip)
    if query.url:
        stmt = stmt.where(threads.c.url.startswith(query.url, autoescape=True))
    return stmt


def queue_page(conn: Connection, query: QueueQuery, limit: int) -> list[Any]:
    """Rows of ``limit`` comments after ``query.after``, each with its verdict, thread and site."""
    stmt = _filtered(query, _QUEUE_COLUMNS)
    position = tuple_(c.created_at, c.id)
    if query.after is not None:
        stmt = stmt.where(position < query.after if query.newest_first else position > query.after)
    order = [c.created_at.desc(), c.id.desc()] if query.newest_first else [c.created_at, c.id]
    return list(conn.execute(stmt.order_by(*order).limit(limit)))


def matching_ids(conn: Connection, query: QueueQuery, limit: int) -> list[int]:
    """Ids of every comment the query matches (up to ``limit``), oldest first."""
    stmt = _filtered(query, [c.id]).order_by(c.created_at, c.id).limit(limit)
    return [row.id for row in conn.execute(stmt)]


def queue_rows(conn: Connection, ids: Sequence[int]) -> list[Any]:
    """The same rows as ``queue_page`` for the given ids (any status, any site)."""
    if not ids:
        return []
    stmt = (
        select(*_QUEUE_COLUMNS)
        .join_from(comments, threads, threads.c.id == c.thread_id)
        .join(sites, sites.c.id == threads.c.site_id)
        .where(c.id.in_(list(ids)))
    )
    return list(conn.execute(stmt))


def public_comments(conn: Connection, ids: Sequence[int]) -> dict[int, Any]:
    if not ids:
        return {}
    rows = conn.execute(select(*PUBLIC_COLUMNS).where(c.id.in_(list(ids))))
    return {row.id: _comment(row) for row in rows}


@dataclass(frozen=True)
class History:
    approved: int = 0
    spam: int = 0
    deleted: int = 0
    first_seen: datetime | None = None


def author_histories(conn: Connection, pairs: Sequence[tuple[int, str]]) -> dict[tuple[int, str], History]:
    """Per (site id, e-mail address): the author's comments on the site by status, and the first date."""
    wanted = [(site_id, email) for site_id, email in set(pairs) if email]
    if not wanted:
        return {}
    stmt = (
        select(threads.c.site_id, c.author_email, c.status, func.count(), func.min(c.created_at))
        .join_from(comments, threads, threads.c.id == c.thread_id)
        .where(
            c.author_email.in_(sorted({email for _, email in wanted})),
            threads.c.site_id.in_(sorted({site_id for site_id, _ in wanted})),
        )
        .group_by(threads.c.site_id, c.author_email, c.status)
    )
    counts: dict[tuple[int, str], dict[str, Any]] = {}
    for site_id, email, status, count, first in conn.execute(stmt):
        entry = counts.setdefault((site_id, email), {"first_seen": first})
        entry[status] = int(count)
        if first is not None and (entry["first_seen"] is None or first < entry["first_seen"]):
            entry["first_seen"] = first
    return {
        key: History(
            approved=value.get(CommentStatus.PUBLISHED.value, 0),
            spam=value.get(CommentStatus.SPAM.value, 0),
            deleted=value.get(CommentStatus.DELETED.value, 0),
            first_seen=_utc(value["first_seen"]),
        )
        for key, value in counts.items()
    }


def _utc(value: Any) -> datetime | None:
    # min() over a column loses SQLite's type: the text comes back as stored (UTC, without a zone).
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def reports_of(conn: Connection, ids: Sequence[int]) -> dict[int, list[Any]]:
    if not ids:
        return {}
    r = reports.c
    stmt = (
        select(r.id, r.comment_id, r.reason, r.text, r.created_at, r.resolved_at)
        .where(r.comment_id.in_(list(ids)))
        .order_by(r.id)
    )
    found: dict[int, list[Any]] = {}
    for row in conn.execute(stmt):
        found.setdefault(row.comment_id, []).append(row)
    return found


def day_counts(conn: Connection, site_ids: Sequence[int], since: datetime) -> list[Any]:
    """Per UTC day since ``since``: comments posted, held for a moderator, and sent to spam on arrival or
    later."""
    day = func.date(c.created_at).label("day")
    # Held: the filter held it, it still waits, or a moderator approved it (approving is for held ones).
    approved = select(audit_log.c.id).where(
        audit_log.c.comment_id == c.id, audit_log.c.action == "comment.approve"
    )
    held = or_(c.spam_action == "hold", c.status == CommentStatus.PENDING.value, approved.exists())
    spam = or_(c.spam_action.in_(["spam", "discard"]), c.status == CommentStatus.SPAM.value)
    stmt = (
        select(
            day,
            func.count().label("comments"),
            func.sum(cast(held, Integer)).label("held"),
            func.sum(cast(spam, Integer)).label("spam"),
        )
        .join_from(comments, threads, threads.c.id == c.thread_id)
        .where(threads.c.site_id.in_(list(site_ids)), c.created_at >= since)
        .group_by(day)
    )
    return list(conn.execute(stmt))


def approvals_by_day(conn: Connection, site_ids: Sequence[int], since: datetime) -> list[Any]:
    """Per UTC day: comments moderators approved (or found not to be spam), from the audit log."""
    a = audit_log.c
    day = func.date(a.at).label("day")
    stmt = (
        select(day, func.count().label("approved"))
        .where(
            a.site_id.in_(list(site_ids)),
            a.at >= since,
            a.action.in_(["comment.approve", "comment.ham"]),
        )
        .group_by(day)
    )
    return list(conn.execute(stmt))
