"""The moderation queue: held, spam, reported, published and deleted comments of the sites a moderator
may see, filtered and paged, each with what a decision needs beside it (verdict, thread, parent, the
author's history, reports); and the counts per day the overview draws."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from rejoinder.context import Context
from rejoinder.errors import CommentNotFound, InvalidInput
from rejoinder.model import Comment, Moderator
from rejoinder.permissions import require_role
from rejoinder.sites import require_site
from rejoinder.store import queue as store
from rejoinder.store.queue import REPORTED, History, QueueQuery
from rejoinder.store.sites import list_sites

__all__ = ["QUEUE_STATUSES", "History", "QueueFilter", "QueueItem", "list_queue", "get_item", "stats"]

QUEUE_STATUSES = ("pending", "spam", REPORTED, "published", "deleted")
MAX_PAGE = 100
MAX_FILTER = 320
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class QueueFilter:
    """The queue's query string: ``site`` None for every site the moderator may see."""

    site: str | None = None
    status: str = "pending"
    q: str = ""
    author: str = ""
    email: str = ""
    ip: str = ""
    url: str = ""
    sort: str = "newest"


@dataclass(frozen=True)
class Report:
    id: int
    reason: str
    text: str
    created_at: datetime
    resolved: bool


@dataclass(frozen=True)
class QueueItem:
    comment: Comment  # with its source text, e-mail address and client: moderators see them
    site: str
    site_id: int
    verdict_action: str | None
    verdict_score: float | None
    verdict_reasons: list[str]
    thread_url: str
    thread_title: str
    parent: Comment | None
    history: History
    reports: list[Report] = field(default_factory=list)
    identity: str | None = None  # the verified author as a ban names them, provider:subject


def _check(filters: QueueFilter) -> None:
    problems: dict[str, str] = {}
    if filters.status not in QUEUE_STATUSES:
        problems["status"] = "must be one of " + ", ".join(QUEUE_STATUSES)
    if filters.sort not in ("newest", "oldest"):
        problems["sort"] = "must be newest or oldest"
    for name in ("q", "author", "email", "ip", "url"):
        value = getattr(filters, name)
        if len(value) > MAX_FILTER or "\0" in value:
            problems[name] = f"must be at most {MAX_FILTER} characters, without NUL"
    if problems:
        raise InvalidInput("bad queue filter", problems)


def _site_ids(conn: Connection, who: Moderator, site_key: str | None) -> dict[int, str]:
    """The ids (and keys) of the sites asked about: one (403 naming ``site`` if not theirs) or all theirs."""
    if site_key:
        site = require_site(conn, site_key)
        require_role(who, site.key)
        return {site.id: site.key}
    return {site.id: site.key for site in list_sites(conn) if who.may(site.key)}


def query_of(
    conn: Connection, who: Moderator, filters: QueueFilter, after: tuple[datetime, int] | None
) -> QueueQuery:
    _check(filters)
    return QueueQuery(
        site_ids=sorted(_site_ids(conn, who, filters.site)),
        status=filters.status,
        q=filters.q.strip(),
        author=filters.author.strip(),
        email=filters.email.strip(),
        ip=filters.ip.strip(),
        url=filters.url.strip(),
        newest_first=filters.sort == "newest",
        after=after,
    )


def list_queue(
    ctx: Context, who: Moderator, filters: QueueFilter, cursor: str | None = None, limit: int = 50
) -> tuple[list[QueueItem], str | None]:
    """A page of the queue and the cursor of the next one; a constant number of queries per page."""
    limit = max(1, min(limit, MAX_PAGE))
    with ctx.db.read() as conn:
        query = query_of(conn, who, filters, _read_cursor(cursor))
        rows = store.queue_page(conn, query, limit + 1) if query.site_ids else []
        more = len(rows) > limit
        items = _items(conn, rows[:limit])
    next_cursor = _cursor(items[-1].comment) if more and items else None
    return items, next_cursor


def matching_ids(ctx: Context, who: Moderator, filters: QueueFilter, limit: int) -> list[int]:
    """Every comment the filter matches ("all matching"), up to ``limit``, oldest first."""
    with ctx.db.read() as conn:
        query = query_of(conn, who, filters, None)
        return store.matching_ids(conn, query, limit) if query.site_ids else []


def get_item(ctx: Context, who: Moderator, comment_id: int) -> QueueItem:
    """One comment as the queue shows it; 404 (not 403) for a comment of another site: that it exists is
    already something the moderator may not know."""
    with ctx.db.read() as conn:
        items = _items(conn, store.queue_rows(conn, [comment_id]))
    if not items or not who.may(items[0].site):
        raise CommentNotFound(f"there is no comment {comment_id}", {"comment_id": "is not a comment"})
    return items[0]


def _items(conn: Connection, rows: Sequence[Any]) -> list[QueueItem]:
    parents = store.public_comments(conn, sorted({r.parent_id for r in rows if r.parent_id}))
    histories = store.author_histories(conn, [(r.site_id, r.author_email) for r in rows])
    reports = store.reports_of(conn, [r.id for r in rows])
    return [
        QueueItem(
            comment=store.comment_of(row),
            site=row.site_key,
            site_id=row.site_id,
            verdict_action=row.spam_action,
            verdict_score=row.spam_score,
            verdict_reasons=list(row.spam_reasons or []),
            thread_url=row.thread_url,
            thread_title=row.thread_title,
            parent=parents.get(row.parent_id) if row.parent_id else None,
            history=histories.get((row.site_id, row.author_email), History(first_seen=row.created_at)),
            reports=[
                Report(rep.id, rep.reason, rep.text, rep.created_at, rep.resolved_at is not None)
                for rep in reports.get(row.id, [])
            ],
            identity=row._mapping.get("identity_key"),
        )
        for row in rows
    ]


def _cursor(comment: Comment) -> str:
    micros = (comment.created_at - EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{comment.id}"


def _read_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    micros, _, comment_id = cursor.partition(".")
    if not (micros.isdigit() and comment_id.isdigit() and len(micros) <= 18 and len(comment_id) <= 18):
        raise InvalidInput("bad cursor", {"cursor": "must be the next_cursor of a previous page"})
    return EPOCH + timedelta(microseconds=int(micros)), int(comment_id)


@dataclass(frozen=True)
class DayStats:
    date: date
    comments: int
    held: int
    spam: int
    approved: int


MAX_DAYS = 366


def stats(ctx: Context, who: Moderator, site_key: str | None, days: int = 30) -> list[DayStats]:
    """One entry per UTC day of the last ``days`` (today included), oldest first, zeros included."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput("bad number of days", {"days": f"must be between 1 and {MAX_DAYS}"})
    today = datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    with ctx.db.read() as conn:
        site_ids = sorted(_site_ids(conn, who, site_key))
        counted = store.day_counts(conn, site_ids, since) if site_ids else []
        approved = store.approvals_by_day(conn, site_ids, since) if site_ids else []
    by_day: dict[date, dict[str, int]] = {}
    for row in counted:
        by_day.setdefault(_day(row.day), {}).update(
            comments=int(row.comments), held=int(row.held or 0), spam=int(row.spam or 0)
        )
    for row in approved:
        by_day.setdefault(_day(row.day), {})["approved"] = int(row.approved)
    out = []
    for n in range(days):
        day = first + timedelta(days=n)
        found = by_day.get(day, {})
        out.append(
            DayStats(
                day,
                found.get("comments", 0),
                found.get("held", 0),
                found.get("spam", 0),
                found.get("approved", 0),
            )
        )
    return out


def _day(value: Any) -> date:
    # PostgreSQL's date() gives a date, SQLite's a 'YYYY-MM-DD' string.
    return value if isinstance(value, date) else date.fromisoformat(str(value))
