"""Storage of readers' notifications: recipients (an address on a site), their subscriptions, and the
notices (published comments) each subscription's next mail will tell of."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, case, delete, exists, func, select, update

from rejoinder.model import Comment
from rejoinder.store.comments import PUBLIC_COLUMNS, _comment
from rejoinder.store.dialect import insert_ignore, padded
from rejoinder.store.schema import (
    UTCDateTime,
    comments,
    feed_polls,
    mail_notices,
    mail_recipients,
    sites,
    subscriptions,
    threads,
)

r, s = mail_recipients.c, subscriptions.c


@dataclass(frozen=True)
class Recipient:
    id: int
    site_id: int
    email: str
    confirmed_at: datetime | None
    confirm_sent_at: datetime | None
    suppressed_at: datetime | None


@dataclass(frozen=True)
class Subscription:
    """A subscription with what a mail or a page about it needs."""

    id: int
    kind: str  # thread, replies or posts
    recipient_id: int
    email: str
    site_id: int
    site_key: str
    site_name: str
    site_settings: dict[str, Any]
    thread_id: int | None
    thread_url: str
    thread_title: str
    comment_id: int | None
    confirmed: bool
    last_mail_at: datetime | None
    due_at: datetime | None


def _recipient(row: Any) -> Recipient:
    return Recipient(row.id, row.site_id, row.email, row.confirmed_at, row.confirm_sent_at, row.suppressed_at)


def recipient(conn: Connection, site_id: int, email: str, now: datetime) -> Recipient:
    """The site's recipient with this address, created if it is new."""
    conn.execute(insert_ignore(conn, mail_recipients).values(site_id=site_id, email=email, created_at=now))
    row = conn.execute(select(mail_recipients).where(r.site_id == site_id, r.email == email)).one()
    return _recipient(row)


def get_recipient(conn: Connection, recipient_id: int) -> Recipient | None:
    row = conn.execute(select(mail_recipients).where(r.id == recipient_id)).first()
    return _recipient(row) if row else None


def find_recipient(conn: Connection, site_id: int, email: str) -> Recipient | None:
    row = conn.execute(select(mail_recipients).where(r.site_id == site_id, r.email == email)).first()
    return _recipient(row) if row else None


def confirm(conn: Connection, recipient_id: int, now: datetime) -> None:
    conn.execute(
        update(mail_recipients).where(r.id == recipient_id, r.confirmed_at.is_(None)).values(confirmed_at=now)
    )


def confirmation_sent(conn: Connection, recipient_id: int, now: datetime) -> None:
    conn.execute(update(mail_recipients).where(r.id == recipient_id).values(confirm_sent_at=now))


def set_suppressed(conn: Connection, recipient_id: int, at: datetime | None) -> None:
    conn.execute(update(mail_recipients).where(r.id == recipient_id).values(suppressed_at=at))


def is_suppressed(conn: Connection, site_id: int, email: str) -> bool:
    query = select(r.id).where(r.site_id == site_id, r.email == email, r.suppressed_at.is_not(None))
    return conn.execute(query).first() is not None


def subscribe(
    conn: Connection,
    recipient_id: int,
    kind: str,
    target: str,
    now: datetime,
    *,
    thread_id: int | None = None,
    comment_id: int | None = None,
) -> bool:
    """Add a subscription; False if the recipient had it already."""
    statement = insert_ignore(conn, subscriptions).values(
        recipient_id=recipient_id,
        kind=kind,
        target=target,
        thread_id=thread_id,
        comment_id=comment_id,
        created_at=now,
    )
    return bool(conn.execute(statement).rowcount)


_SUBSCRIPTION = (
    select(
        s.id,
        s.kind,
        s.recipient_id,
        r.email,
        r.site_id,
        sites.c.key.label("site_key"),
        sites.c.name.label("site_name"),
        sites.c.settings.label("site_settings"),
        s.thread_id,
        func.coalesce(threads.c.url, "").label("thread_url"),
        func.coalesce(threads.c.title, "").label("thread_title"),
        s.comment_id,
        r.confirmed_at,
        s.last_mail_at,
        s.due_at,
    )
    .join_from(subscriptions, mail_recipients, r.id == s.recipient_id)
    .join(sites, sites.c.id == r.site_id)
    .outerjoin(threads, threads.c.id == s.thread_id)
)


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row.id,
        kind=row.kind,
        recipient_id=row.recipient_id,
        email=row.email,
        site_id=row.site_id,
        site_key=row.site_key,
        site_name=row.site_name,
        site_settings=row.site_settings or {},
        thread_id=row.thread_id,
        thread_url=row.thread_url,
        thread_title=row.thread_title,
        comment_id=row.comment_id,
        confirmed=row.confirmed_at is not None,
        last_mail_at=row.last_mail_at,
        due_at=row.due_at,
    )


def get_subscription(conn: Connection, subscription_id: int) -> Subscription | None:
    row = conn.execute(_SUBSCRIPTION.where(s.id == subscription_id)).first()
    return _subscription(row) if row else None


def subscriptions_of_recipient(conn: Connection, recipient_id: int) -> list[Subscription]:
    return [_subscription(row) for row in conn.execute(_SUBSCRIPTION.where(s.recipient_id == recipient_id))]


def subscriptions_of_email(conn: Connection, email: str) -> list[Subscription]:
    """Every subscription of the address, on every site, oldest first."""
    query = _SUBSCRIPTION.where(r.email == email).order_by(s.id)
    return [_subscription(row) for row in conn.execute(query)]


def thread_listeners(conn: Connection, thread_ids: Iterable[int]) -> list[Subscription]:
    """Confirmed, unsuppressed subscriptions to these threads or to replies in them (one query); which of
    them a new comment concerns is ``concerns``."""
    wanted = sorted(set(thread_ids))
    if not wanted:
        return []
    query = _SUBSCRIPTION.where(
        s.thread_id.in_(padded(wanted)),
        s.kind.in_(("thread", "replies")),
        r.confirmed_at.is_not(None),
        r.suppressed_at.is_(None),
    )
    return [_subscription(row) for row in conn.execute(query)]


def concerns(sub: Subscription, thread_id: int, parent_id: int | None) -> bool:
    """Whether a new comment in the thread (replying to ``parent_id``) is news for this subscription: the
    thread's, and the replies' to its parent."""
    if sub.thread_id != thread_id:
        return False
    return sub.kind == "thread" or (
        parent_id is not None and sub.kind == "replies" and sub.comment_id == parent_id
    )


def posts_listeners(conn: Connection, site_id: int) -> list[Subscription]:
    query = _SUBSCRIPTION.where(
        r.site_id == site_id, s.kind == "posts", r.confirmed_at.is_not(None), r.suppressed_at.is_(None)
    )
    return [_subscription(row) for row in conn.execute(query)]


def unsubscribe(conn: Connection, subscription_id: int) -> bool:
    return bool(conn.execute(delete(subscriptions).where(s.id == subscription_id)).rowcount)


def add_notice(conn: Connection, subscription_id: int, comment_id: int, now: datetime) -> None:
    values = {"subscription_id": subscription_id, "comment_id": comment_id, "created_at": now}
    conn.execute(insert_ignore(conn, mail_notices).values(**values))


def mark_due(conn: Connection, subscription_id: int, due_at: datetime) -> bool:
    """Set when the subscription's next mail goes, unless it is set already; whether it was set."""
    statement = update(subscriptions).where(s.id == subscription_id, s.due_at.is_(None)).values(due_at=due_at)
    return bool(conn.execute(statement).rowcount)


def due(conn: Connection, now: datetime, limit: int = 100) -> list[int]:
    query = select(s.id).where(s.due_at <= now).order_by(s.due_at).limit(limit)
    return list(conn.scalars(query))


def noticed_comments(conn: Connection, subscription_id: int) -> tuple[list[int], list[Comment]]:
    """The ids of the subscription's notices, and the comments among them with their authors' addresses
    (the subscriber's own are left out of a mail), oldest first."""
    ids = list(
        conn.scalars(
            select(mail_notices.c.comment_id).where(mail_notices.c.subscription_id == subscription_id)
        )
    )
    if not ids:
        return [], []
    query = (
        select(*PUBLIC_COLUMNS, comments.c.author_email, comments.c.body)
        .where(comments.c.id.in_(padded(ids)))
        .order_by(comments.c.created_at, comments.c.id)
    )
    return ids, [_comment(row) for row in conn.execute(query)]


def mailed(
    conn: Connection,
    subscription_id: int,
    comment_ids: Sequence[int],
    now: datetime,
    every: timedelta,
    *,
    sent: bool,
) -> None:
    """The subscription's notices ``comment_ids`` are dealt with (a mail was queued if ``sent``): forget
    them, and plan the next mail if notices arrived meanwhile. Checked in the same statement, so a notice
    added while this transaction ran is never left without a due time."""
    conn.execute(
        delete(mail_notices).where(
            mail_notices.c.subscription_id == subscription_id,
            mail_notices.c.comment_id.in_(padded(comment_ids)),
        )
    )
    waiting = exists().where(mail_notices.c.subscription_id == subscription_id)
    last = now if sent else s.last_mail_at
    next_due = now + every if sent else now
    conn.execute(
        update(subscriptions)
        .where(s.id == subscription_id)
        .values(
            last_mail_at=last, due_at=case((waiting, bindparam("next", next_due, UTCDateTime)), else_=None)
        )
    )


def erase_email(conn: Connection, email: str) -> int:
    """Forget the address's subscriptions on every site, and the address itself unless a moderator
    suppressed it (that must outlive the erasure, or mail would resume); how many subscriptions went."""
    recipients = select(r.id).where(r.email == email).scalar_subquery()
    gone = conn.execute(delete(subscriptions).where(s.recipient_id.in_(recipients))).rowcount
    conn.execute(delete(mail_recipients).where(r.email == email, r.suppressed_at.is_(None)))
    return gone


@dataclass(frozen=True)
class FeedPoll:
    site_id: int
    feed_url: str
    etag: str | None
    last_modified: str | None
    seen: list[str]
    failures: int
    next_poll_at: datetime


def feed_poll(conn: Connection, site_id: int) -> FeedPoll | None:
    row = conn.execute(select(feed_polls).where(feed_polls.c.site_id == site_id)).first()
    if row is None:
        return None
    return FeedPoll(
        row.site_id, row.feed_url, row.etag, row.last_modified, list(row.seen), row.failures, row.next_poll_at
    )


def save_feed_poll(conn: Connection, poll: FeedPoll, now: datetime, error: str | None) -> None:
    values = {
        "feed_url": poll.feed_url,
        "etag": poll.etag,
        "last_modified": poll.last_modified,
        "seen": poll.seen,
        "failures": poll.failures,
        "last_error": error,
        "polled_at": now,
        "next_poll_at": poll.next_poll_at,
    }
    done = conn.execute(update(feed_polls).where(feed_polls.c.site_id == poll.site_id).values(**values))
    if not done.rowcount:
        conn.execute(insert_ignore(conn, feed_polls).values(site_id=poll.site_id, **values))
