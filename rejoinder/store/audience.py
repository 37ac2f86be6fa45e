"""Who may hear of a new comment in one process after it commits: subscribers of its thread, the site's
moderators, the site's webhooks. Asked with the comment's other lookups, so that a comment nobody can hear
of is written to the outbox as delivered, with no work left for after it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, exists, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from rejoinder.model import CommentStatus
from rejoinder.store.dialect import on_sqlite, sqlite_sql
from rejoinder.store.schema import moderator_mail, moderator_roles, subscriptions, webhooks


@dataclass(frozen=True)
class Audience:
    """What the one-process subscribers of a new comment (``notify.subscriptions``, ``notify.moderators``,
    ``notify.webhooks``) may find to do. Each test is as wide as theirs or wider, never narrower: a comment
    it lets through is only handed over to them, who then ask precisely."""

    webhooks: bool  # the site has webhooks: every new comment is theirs
    listeners: bool  # subscriptions to the thread or to replies in it, confirmed or not
    moderators_of_all: bool  # some moderator, of any site, asked for mail of every comment
    moderators: bool  # the site has moderators: by default each gets mail of held comments

    def hears_of(self, status: CommentStatus) -> bool:
        """Whether anyone may hear of a new comment of this status."""
        if self.webhooks:
            return True
        if status is CommentStatus.PUBLISHED:
            return self.listeners or (self.moderators and self.moderators_of_all)
        if status is CommentStatus.PENDING:
            return self.moderators
        return False  # spam: only webhooks hear of it


# Constants in the statement's text, not bound: an IN of bound values is rendered anew at every run.
_THREAD: ColumnElement[str] = literal_column("'thread'")
_REPLIES: ColumnElement[str] = literal_column("'replies'")


def audience_columns(site_id: ColumnElement[Any], thread_id: ColumnElement[Any]) -> list[Any]:
    """The columns ``audience_from_row`` reads, as ``EXISTS`` tests of a new comment in ``thread_id``
    (NULL: no thread yet, so no one listens to it) of ``site_id``, both columns of the enclosing query.

    Each reads one table. PostgreSQL plans the lookup at every run, and joins there (a subscription's
    recipient confirmed, a moderator's preferences for the site) tripled its planning time: 0.11 → 0.34 ms
    a batch, more than the event bus's statements that the audience saves."""
    s, roles, mail = subscriptions.c, moderator_roles.c, moderator_mail.c
    return [
        exists().where(webhooks.c.site_id == site_id).label("audience_webhooks"),
        exists().where(s.thread_id == thread_id, s.kind.in_([_THREAD, _REPLIES])).label("audience_listeners"),
        exists().where(mail.all_comments.is_(True)).label("audience_moderators_of_all"),
        exists().where(roles.site_id == site_id).label("audience_moderators"),
    ]


def audience_from_row(row: Any) -> Audience:
    return Audience(
        webhooks=bool(row.audience_webhooks),
        listeners=bool(row.audience_listeners),
        moderators_of_all=bool(row.audience_moderators_of_all),
        moderators=bool(row.audience_moderators),
    )


# SQLite: the same tests for one comment, straight through the driver (``on_sqlite``). Nothing is looked up
# ahead of a batch there (a statement costs no round trip); asked with each comment, in its transaction,
# they spare the bus's thread a gathering of reads that find no one and a write that marks the events
# delivered, for every comment no one can hear of.
_SQLITE_AUDIENCE = sqlite_sql(select(*audience_columns(bindparam("site_id"), bindparam("thread_id"))))


def audience_on_sqlite(conn: Connection, site_id: int, thread_id: int) -> Audience | None:
    """Who may hear of a new comment in ``thread_id`` of ``site_id``, asked in the caller's transaction on
    SQLite, where writers take turns, so that no one joins the audience before it commits; None elsewhere
    (PostgreSQL asks with the batch's lookup: ``store.comments.look_up_new_comments``)."""
    if conn.dialect.name != "sqlite":
        return None
    ((webhooks, listeners, moderators_of_all, moderators),) = on_sqlite(
        conn, _SQLITE_AUDIENCE, {"site_id": site_id, "thread_id": thread_id}
    )
    return Audience(bool(webhooks), bool(listeners), bool(moderators_of_all), bool(moderators))
