"""Storage of moderators' mail: each one's preference, and the comments their next mail will tell of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, case, delete, exists, select, update

from rejoinder.model import Comment
from rejoinder.store.comments import PUBLIC_COLUMNS, _comment
from rejoinder.store.dialect import insert_ignore
from rejoinder.store.schema import UTCDateTime, comments, moderator_mail, moderator_notices, sites, threads

p, n = moderator_mail.c, moderator_notices.c
DEFAULT_MODE = "instant"


@dataclass(frozen=True)
class Preference:
    mode: str  # instant, hourly, daily or off
    all_comments: bool
    due_at: datetime | None = None


@dataclass(frozen=True)
class Noticed:
    """A comment in a moderator's next mail, with where it is."""

    kind: str  # held, reported or new
    comment: Comment
    site_key: str
    site_name: str
    site_settings: dict[str, Any]
    thread_url: str
    thread_title: str


def preferences(conn: Connection, moderator_ids: list[int]) -> dict[int, Preference]:
    """Each moderator's preference; those without a row get the default."""
    rows = conn.execute(select(moderator_mail).where(p.moderator_id.in_(moderator_ids))).all()
    found = {row.moderator_id: Preference(row.mode, row.all_comments, row.due_at) for row in rows}
    return {i: found.get(i, Preference(DEFAULT_MODE, False)) for i in moderator_ids}


def set_preference(conn: Connection, moderator_id: int, mode: str, all_comments: bool) -> None:
    done = conn.execute(
        update(moderator_mail)
        .where(p.moderator_id == moderator_id)
        .values(mode=mode, all_comments=all_comments)
    )
    if not done.rowcount:
        conn.execute(
            insert_ignore(conn, moderator_mail).values(
                moderator_id=moderator_id, mode=mode, all_comments=all_comments
            )
        )


def add_notice(conn: Connection, moderator_id: int, comment_id: int, kind: str, now: datetime) -> None:
    values = {"moderator_id": moderator_id, "comment_id": comment_id, "kind": kind, "created_at": now}
    conn.execute(insert_ignore(conn, moderator_notices).values(**values))


def mark_due(conn: Connection, moderator_id: int, due_at: datetime) -> bool:
    """Plan the moderator's next mail, unless it is planned already; whether this planned it."""
    conn.execute(
        insert_ignore(conn, moderator_mail).values(
            moderator_id=moderator_id, mode=DEFAULT_MODE, all_comments=False
        )
    )
    statement = (
        update(moderator_mail).where(p.moderator_id == moderator_id, p.due_at.is_(None)).values(due_at=due_at)
    )
    return bool(conn.execute(statement).rowcount)


def due(conn: Connection, now: datetime, limit: int = 100) -> list[int]:
    return list(conn.scalars(select(p.moderator_id).where(p.due_at <= now).order_by(p.due_at).limit(limit)))


def noticed(conn: Connection, moderator_id: int) -> list[Noticed]:
    query = (
        select(
            *PUBLIC_COLUMNS,
            comments.c.body,
            n.kind,
            sites.c.key.label("site_key"),
            sites.c.name.label("site_name"),
            sites.c.settings.label("site_settings"),
            threads.c.url.label("thread_url"),
            threads.c.title.label("thread_title"),
        )
        .join_from(moderator_notices, comments, comments.c.id == n.comment_id)
        .join(threads, threads.c.id == comments.c.thread_id)
        .join(sites, sites.c.id == threads.c.site_id)
        .where(n.moderator_id == moderator_id)
        .order_by(comments.c.created_at, comments.c.id)
    )
    return [
        Noticed(
            row.kind, _comment(row), row.site_key, row.site_name, row.site_settings or {}, row.thread_url,
            row.thread_title,
        )
        for row in conn.execute(query)
    ]  # fmt: skip


def mailed(
    conn: Connection,
    moderator_id: int,
    comment_ids: list[int],
    now: datetime,
    every: timedelta,
    *,
    sent: bool,
) -> None:
    """The notices ``comment_ids`` are dealt with; plan the next mail if others arrived meanwhile (in the
    same statement, so none is left without a due time)."""
    conn.execute(
        delete(moderator_notices).where(n.moderator_id == moderator_id, n.comment_id.in_(comment_ids))
    )
    waiting = exists().where(n.moderator_id == moderator_id)
    next_due = now + every if sent else now
    conn.execute(
        update(moderator_mail)
        .where(p.moderator_id == moderator_id)
        .values(
            last_mail_at=now if sent else p.last_mail_at,
            due_at=case((waiting, bindparam("next", next_due, UTCDateTime)), else_=None),
        )
    )
