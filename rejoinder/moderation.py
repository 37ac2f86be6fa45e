"""Moderators' decisions on a comment: approve, spam, not spam, delete; each teaches the spam filter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from rejoinder.antispam import lesson_due, teach_in
from rejoinder.context import Context
from rejoinder.errors import CommentNotFound
from rejoinder.events import CommentModerated
from rejoinder.model import Comment, CommentStatus
from rejoinder.sites import site_settings
from rejoinder.spam.submission import Submission
from rejoinder.store import comments as store
from rejoinder.store import threads as thread_store
from rejoinder.store.sites import get_site_by_id


class Decision(StrEnum):
    APPROVE = "approve"  # publish a held comment: it was fine
    SPAM = "spam"  # to the spam folder, and learn from it
    HAM = "ham"  # not spam after all: publish it, and learn from it
    DELETE = "delete"  # remove it (abusive, off-topic): no lesson about spam


@dataclass(frozen=True)
class Moderated:
    comment: Comment
    learned: bool  # False when the filter already knew this decision (the same call twice)
    # The filter's verdict when the comment arrived, for the moderator to compare with their own.
    action: str | None = None
    score: float | None = None
    reasons: tuple[str, ...] = ()


def moderate(ctx: Context, comment_id: int, decision: Decision) -> Moderated:
    """Apply a moderator's decision; the spam filter learns from it after the commit (``learn_from``)."""
    with ctx.db.write() as conn:
        comment = store.get_comment(conn, comment_id)
        if comment is None or comment.status is CommentStatus.DELETED:
            raise CommentNotFound(f"there is no comment {comment_id}", {"comment_id": "is not a comment"})
        thread = thread_store.get_thread(conn, comment.thread_id)
        site = get_site_by_id(conn, thread.site_id)
        rules = site_settings(ctx, site)
        # The filter's verdict as it arrived: a decision neither changes it nor the fingerprint.
        fields = store.spam_fields(conn, comment.id)
        learned = False
        if decision is Decision.DELETE:
            store.mark_deleted(conn, comment.id)
            status = CommentStatus.DELETED
        else:
            is_spam = decision is Decision.SPAM
            status = CommentStatus.SPAM if is_spam else CommentStatus.PUBLISHED
            # Spam a moderator chose is kept like discarded spam: for the retention period, then purged.
            now = datetime.now(UTC)
            purge = now + timedelta(days=rules.spam_retention_days) if is_spam else None
            store.set_status(conn, comment.id, status, moderated_at=now, purge_after=purge)
            learned = lesson_due(conn, site.id, _item_key(comment.id), is_spam)
        delta = (status is CommentStatus.PUBLISHED) - (comment.status is CommentStatus.PUBLISHED)
        if delta:
            thread_store.add_to_comment_count(conn, thread.id, delta)
        moderated = store.get_comment(conn, comment.id)
        assert moderated is not None
        fingerprint = fields.fingerprint if fields is not None else None
        ctx.events.record(
            conn, CommentModerated(site.key, thread.url, moderated, site.id, decision.value, fingerprint)
        )
    if fields is None:
        return Moderated(moderated, learned)
    return Moderated(
        moderated, learned, fields.spam_action, fields.spam_score, tuple(fields.spam_reasons or ())
    )


def learn_from(ctx: Context, event: CommentModerated) -> None:
    """Subscriber (one process): teach the site's filter the decision. Idempotent: the same decision again
    changes nothing, so an event delivered twice teaches once."""
    if event.decision not in (Decision.SPAM, Decision.HAM, Decision.APPROVE):
        return
    with ctx.db.write() as conn:
        comment = store.get_comment(conn, event.comment.id)
        if comment is None:
            return  # purged since
        fields = store.spam_fields(conn, comment.id)
        site = get_site_by_id(conn, event.site_id)
        sub = Submission(
            comment.body, comment.author, comment.remote_addr, comment.user_agent, event.thread_url
        )
        score = fields.spam_score if fields is not None else None  # kept for the learned threshold
        is_spam = event.decision == Decision.SPAM
        teach_in(ctx, conn, site, _item_key(comment.id), sub, is_spam, score=score)


def mark_duplicate(ctx: Context, event: CommentModerated) -> None:
    """Subscriber (every process): the near-duplicate index learns which texts moderators called spam."""
    if event.decision != Decision.DELETE:
        ctx.spam_memos.mark_duplicate(
            event.site_id, event.comment.id, event.fingerprint, event.decision == Decision.SPAM
        )


def _item_key(comment_id: int) -> str:
    return f"comment:{comment_id}"
