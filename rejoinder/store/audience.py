"""Who hears of a new comment in one process after it commits: the confirmed subscribers of its thread,
the site's moderators who get mail of it, the site's webhooks. Asked with the comment's other lookups, so
that a comment nobody hears of is written to the outbox as delivered, with no work left for after it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, literal_column, or_, true
from sqlalchemy.sql.elements import ColumnElement

from rejoinder.model import CommentStatus
from rejoinder.store.schema import mail_recipients, moderator_mail, moderator_roles, subscriptions, webhooks


@dataclass(frozen=True)
class Audience:
    """What the one-process subscribers of a new comment (``notify.subscriptions``, ``notify.moderators``,
    ``notify.webhooks``) would find to do, by the same tests they make before they write."""

    webhooks: bool  # the site has webhooks: every new comment is theirs
    listeners: bool  # confirmed, unsuppressed subscriptions to the thread or to replies in it
    moderators_of_all: bool  # a moderator of the site gets mail of every published comment
    moderators_of_held: bool  # a moderator of the site gets mail of held comments

    def hears_of(self, status: CommentStatus) -> bool:
        """Whether anyone hears of a new comment of this status."""
        if self.webhooks:
            return True
        if status is CommentStatus.PUBLISHED:
            return self.listeners or self.moderators_of_all
        if status is CommentStatus.PENDING:
            return self.moderators_of_held
        return False  # spam: only webhooks hear of it


# Constants in the statement's text, not bound: an IN of bound values is rendered anew at every run.
_THREAD: ColumnElement[str] = literal_column("'thread'")
_REPLIES: ColumnElement[str] = literal_column("'replies'")
_NO_MAIL: ColumnElement[str] = literal_column("'off'")


def audience_columns(site_id: ColumnElement[Any], thread_id: ColumnElement[Any]) -> list[Any]:
    """The columns ``audience_from_row`` reads, as ``EXISTS`` tests of a new comment in ``thread_id``
    (NULL: no thread yet, so no one listens to it) of ``site_id``, both columns of the enclosing query."""
    s, r = subscriptions.c, mail_recipients.c
    roles, mail = moderator_roles.c, moderator_mail.c
    listeners = exists().where(
        s.thread_id == thread_id,
        s.kind.in_([_THREAD, _REPLIES]),
        r.id == s.recipient_id,
        r.confirmed_at.is_not(None),
        r.suppressed_at.is_(None),
    )
    # A moderator without a row of preferences gets mail at once of held comments, not of every comment.
    mailed = or_(mail.mode.is_(None), mail.mode != _NO_MAIL)

    def moderators(wanted: ColumnElement[bool]) -> Any:
        of_site = moderator_roles.outerjoin(moderator_mail, mail.moderator_id == roles.moderator_id)
        return exists().select_from(of_site).where(roles.site_id == site_id, mailed, wanted)

    return [
        exists().where(webhooks.c.site_id == site_id).label("audience_webhooks"),
        listeners.label("audience_listeners"),
        moderators(mail.all_comments.is_(True)).label("audience_moderators_of_all"),
        moderators(true()).label("audience_moderators_of_held"),
    ]


def audience_from_row(row: Any) -> Audience:
    return Audience(
        webhooks=bool(row.audience_webhooks),
        listeners=bool(row.audience_listeners),
        moderators_of_all=bool(row.audience_moderators_of_all),
        moderators_of_held=bool(row.audience_moderators_of_held),
    )
