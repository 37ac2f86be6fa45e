"""Moderators' decisions on comments: approve, spam, not spam, delete, restore, one at a time or in bulk;
undoing the last action; moderators' edits. Each decision is audit-logged in its own transaction and
teaches the spam filter after the commit (``learn_from``, through ``CommentModerated``)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from anyio import to_thread
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Connection

from rejoinder import audit
from rejoinder.antispam import forget_in, lesson_due, teach_in
from rejoinder.context import Context
from rejoinder.errors import CommentNotFound, Conflict, InvalidInput
from rejoinder.events import CommentEdited, CommentModerated
from rejoinder.model import Comment, CommentStatus, Moderator, Site
from rejoinder.rendering import normalise, render, render_in
from rejoinder.sites import site_settings
from rejoinder.spam.submission import Submission
from rejoinder.store import audit as audit_store
from rejoinder.store import comments as store
from rejoinder.store import reports as report_store
from rejoinder.store import threads as thread_store
from rejoinder.store.sites import get_site_by_id


class Decision(StrEnum):
    APPROVE = "approve"  # publish a held comment: it was fine
    SPAM = "spam"  # to the spam folder, and learn from it
    HAM = "ham"  # not spam after all: publish it, and learn from it
    DELETE = "delete"  # hide it (abusive, off-topic), restorable for the retention period: no lesson
    RESTORE = "restore"  # publish a comment a moderator deleted
    PIN = "pin"  # show a published top-level comment above the others
    UNPIN = "unpin"


# The decision an undo reports in its event: the filter forgets what the undone decision taught it.
UNDO = "undo"
MAX_BULK = 1000  # comments one bulk action may change
UNDO_SECONDS = 86400  # an undo token is good for a day
PINNING = (Decision.PIN, Decision.UNPIN)
NEW_STATUS = {
    Decision.APPROVE: CommentStatus.PUBLISHED,
    Decision.SPAM: CommentStatus.SPAM,
    Decision.HAM: CommentStatus.PUBLISHED,
    Decision.DELETE: CommentStatus.DELETED,
    Decision.RESTORE: CommentStatus.PUBLISHED,
}


@dataclass(frozen=True)
class Moderated:
    comment: Comment
    learned: bool  # False when the filter already knew this decision (the same call twice)
    # The filter's verdict when the comment arrived, for the moderator to compare with their own.
    action: str | None = None
    score: float | None = None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skipped:
    id: int
    reason: str


@dataclass(frozen=True)
class Done:
    """What a (bulk) action changed, what it left alone and why, and the token that reverses it."""

    done: list[int]
    skipped: list[Skipped]
    undo: str


def decision_of(value: str) -> Decision:
    try:
        return Decision(value)
    except ValueError:
        choices = ", ".join(d.value for d in Decision)
        raise InvalidInput(f"{value!r} is not an action", {"action": f"must be one of {choices}"}) from None


def moderate(ctx: Context, comment_id: int, decision: Decision, who: Moderator | None = None) -> Moderated:
    """Apply one decision (by ``who``: the command line when not given); the spam filter learns from it
    after the commit (``learn_from``)."""
    who = who or audit.cli_actor()
    batch = _batch()
    with ctx.db.write() as conn:
        comment, site, thread_url = _load(conn, who, comment_id)
        learned = decision in (Decision.SPAM, Decision.HAM, Decision.APPROVE) and lesson_due(
            conn, site.id, _item_key(comment.id), decision is Decision.SPAM
        )
        reason = _refusal(comment, decision)
        if reason is not None:
            raise Conflict(f"comment {comment_id} {reason}", {"action": reason})
        if decision in PINNING:
            _pin(ctx, conn, who, comment, site, thread_url, decision is Decision.PIN, batch)
            moderated = store.get_comment(conn, comment.id) or comment
        else:
            moderated = _apply(ctx, conn, who, comment, site, thread_url, decision, batch)
        fields = store.spam_fields(conn, comment.id)
    if fields is None or fields.spam_action is None:
        return Moderated(moderated, learned)
    return Moderated(
        moderated, learned, fields.spam_action, fields.spam_score, tuple(fields.spam_reasons or ())
    )


def moderate_many(ctx: Context, who: Moderator, decision: Decision, ids: Sequence[int]) -> Done:
    """One decision on many comments in one transaction; comments it does not fit (already in that state,
    deleted by their author, another site's) are skipped with the reason."""
    if len(ids) > MAX_BULK:
        raise InvalidInput("too many comments at once", {"ids": f"must list at most {MAX_BULK} comments"})
    batch = _batch()
    done: list[int] = []
    skipped: list[Skipped] = []
    with ctx.db.write() as conn:
        for comment_id in dict.fromkeys(ids):  # each once, in the order given
            try:
                comment, site, thread_url = _load(conn, who, comment_id)
            except CommentNotFound:
                skipped.append(Skipped(comment_id, "is not a comment"))
                continue
            reason = _refusal(comment, decision)
            if reason is not None:
                skipped.append(Skipped(comment_id, reason))
                continue
            if decision in PINNING:
                _pin(ctx, conn, who, comment, site, thread_url, decision is Decision.PIN, batch)
            else:
                _apply(ctx, conn, who, comment, site, thread_url, decision, batch)
            done.append(comment_id)
    return Done(done, skipped, _undo_token(ctx, batch, who))


def _refusal(comment: Comment, decision: Decision) -> str | None:
    if decision in PINNING:
        if comment.root_id is not None:
            return "is a reply: only top-level comments are pinned"
        if comment.status is not CommentStatus.PUBLISHED and decision is Decision.PIN:
            return "is not published"
        return None
    if decision is Decision.RESTORE:
        if comment.status is not CommentStatus.DELETED:
            return "is not deleted"
        if not comment.body:
            return "was erased (by its author, or after the retention period): nothing to restore"
        return None
    if comment.status is CommentStatus.DELETED:
        return "is deleted: restore it first"
    return None


def _load(conn: Connection, who: Moderator, comment_id: int) -> tuple[Comment, Site, str]:
    comment = store.get_comment(conn, comment_id)
    if comment is None:
        raise CommentNotFound(f"there is no comment {comment_id}", {"comment_id": "is not a comment"})
    thread = thread_store.get_thread(conn, comment.thread_id)
    site = get_site_by_id(conn, thread.site_id)
    if not who.may(site.key):
        # Another site's comment is, to this moderator, no comment at all.
        raise CommentNotFound(f"there is no comment {comment_id}", {"comment_id": "is not a comment"})
    return comment, site, thread.url


def _apply(
    ctx: Context,
    conn: Connection,
    who: Moderator,
    comment: Comment,
    site: Site,
    thread_url: str,
    decision: Decision | str,
    batch: str,
    status: CommentStatus | None = None,
) -> Comment:
    """Move one comment to its new status inside the caller's transaction: counts, reports, the event and
    the audit entry follow."""
    status = status or NEW_STATUS[Decision(decision)]
    now = datetime.now(UTC)
    # Spam and deleted comments are kept for the retention period (to be rescued), then purged or erased.
    purge = None
    if status in (CommentStatus.SPAM, CommentStatus.DELETED):
        purge = now + timedelta(days=site_settings(ctx, site).spam_retention_days)
    store.set_status(conn, comment.id, status, moderated_at=now, purge_after=purge)
    delta = (status is CommentStatus.PUBLISHED) - (comment.status is CommentStatus.PUBLISHED)
    if delta:
        thread_store.add_to_comment_count(conn, comment.thread_id, delta)
    report_store.resolve(conn, comment.id, now)
    moderated = store.get_comment(conn, comment.id)
    assert moderated is not None
    fields = store.spam_fields(conn, comment.id)
    fingerprint = fields.fingerprint if fields is not None else None
    ctx.events.record(
        conn, CommentModerated(site.key, thread_url, moderated, site.id, str(decision), fingerprint)
    )
    audit.record(
        conn,
        who,
        f"comment.{decision}",
        site_id=site.id,
        comment_id=comment.id,
        before={"status": comment.status.value},
        after={"status": status.value},
        batch=batch,
    )
    return moderated


def _pin(
    ctx: Context,
    conn: Connection,
    who: Moderator,
    comment: Comment,
    site: Site,
    thread_url: str,
    pinned: bool,
    batch: str,
) -> None:
    store.set_pinned(conn, comment.id, pinned)
    changed = store.get_comment(conn, comment.id)
    assert changed is not None
    decision = Decision.PIN if pinned else Decision.UNPIN
    ctx.events.record(conn, CommentModerated(site.key, thread_url, changed, site.id, decision.value))
    audit.record(
        conn, who, f"comment.{decision.value}", site_id=site.id, comment_id=comment.id,
        before={"pinned": comment.pinned}, after={"pinned": pinned}, batch=batch,
    )  # fmt: skip


async def edit(ctx: Context, who: Moderator, comment_id: int, body: str) -> Comment:
    """A moderator's edit of the text (shown to readers as "edited by a moderator"), audited with the
    text before and after. Rendered as an author's edit is: long markup on the context's render threads."""
    body = normalise(body)
    if not body:
        raise InvalidInput("the comment breaks some rules", {"body": "must not be empty"})
    limit = ctx.settings.max_body_length
    if len(body) > limit:
        raise InvalidInput("the comment breaks some rules", {"body": f"must be at most {limit:,} characters"})
    html = await render_in(ctx.renders, body)
    return await to_thread.run_sync(_store_edit, ctx, who, comment_id, body, html)


def _store_edit(ctx: Context, who: Moderator, comment_id: int, body: str, html: str) -> Comment:
    with ctx.db.write() as conn:
        comment, site, thread_url = _load(conn, who, comment_id)
        if comment.status is CommentStatus.DELETED:
            raise Conflict(f"comment {comment_id} is deleted", {"comment_id": "is deleted: restore it first"})
        _edit(ctx, conn, who, comment, site, thread_url, body, html, _batch())
        edited = store.get_comment(conn, comment.id)
    assert edited is not None
    return edited


def _edit(
    ctx: Context,
    conn: Connection,
    who: Moderator,
    comment: Comment,
    site: Site,
    thread_url: str,
    body: str,
    html: str,
    batch: str,
) -> None:
    store.moderator_edit(conn, comment.id, body=body, html=html, now=datetime.now(UTC))
    edited = store.get_comment(conn, comment.id)
    assert edited is not None
    ctx.events.record(conn, CommentEdited(site.key, thread_url, edited, site.id))
    audit.record(
        conn, who, "comment.edit", site_id=site.id, comment_id=comment.id,
        before={"body": comment.body}, after={"body": body}, batch=batch,
    )  # fmt: skip


def undo(ctx: Context, who: Moderator, token: str) -> Done:
    """Reverse the action ``token`` was issued for: each comment goes back to its status (or text) from
    before, unless it has changed again since; the filter forgets what the undone decisions taught it."""
    batch = _read_undo_token(ctx, token)
    again = _batch()
    done: list[int] = []
    skipped: list[Skipped] = []
    with ctx.db.write() as conn:
        for entry in audit_store.batch_entries(conn, batch):
            if entry.comment_id is None:
                continue
            try:
                comment, site, thread_url = _load(conn, who, entry.comment_id)
            except CommentNotFound:
                skipped.append(Skipped(entry.comment_id, "is not a comment"))
                continue
            if entry.action in ("comment.pin", "comment.unpin"):
                if comment.pinned != entry.after["pinned"]:
                    skipped.append(Skipped(comment.id, "was changed again since"))
                    continue
                _pin(ctx, conn, who, comment, site, thread_url, entry.before["pinned"], again)
            elif entry.action == "comment.edit":
                if comment.body != entry.after["body"]:
                    skipped.append(Skipped(comment.id, "was changed again since"))
                    continue
                before = entry.before["body"]
                _edit(ctx, conn, who, comment, site, thread_url, before, render(before), again)
            else:
                if comment.status.value != entry.after["status"]:
                    skipped.append(Skipped(comment.id, "was changed again since"))
                    continue
                status = CommentStatus(entry.before["status"])
                _apply(ctx, conn, who, comment, site, thread_url, UNDO, again, status=status)
            done.append(comment.id)
    return Done(done, skipped, _undo_token(ctx, again, who))


def _batch() -> str:
    return secrets.token_hex(8)


def _serializer(ctx: Context) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(ctx.signer.reader_key("undo", "moderation"), salt="rejoinder.undo")


def _undo_token(ctx: Context, batch: str, who: Moderator) -> str:
    return _serializer(ctx).dumps({"batch": batch, "actor": who.actor})


def _read_undo_token(ctx: Context, token: str) -> str:
    try:
        data = _serializer(ctx).loads(token, max_age=UNDO_SECONDS)
    except BadSignature:  # expired ones included
        raise InvalidInput(
            "not an undo token", {"undo": "must be the undo token of an action of the last day"}
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("batch"), str):
        raise InvalidInput("not an undo token", {"undo": "must be the undo token of an action"})
    return data["batch"]


def learn_from(ctx: Context, event: CommentModerated) -> None:
    """Subscriber (one process): teach the site's filter the decision, or forget it on an undo.
    Idempotent: the same decision again changes nothing, so an event delivered twice teaches once."""
    if event.decision not in (Decision.SPAM, Decision.HAM, Decision.APPROVE, UNDO):
        return
    with ctx.db.write() as conn:
        comment = store.get_comment(conn, event.comment.id)
        if comment is None:
            return  # purged since
        site = get_site_by_id(conn, event.site_id)
        if event.decision == UNDO:
            forget_in(ctx, conn, site, _item_key(comment.id))
            return
        fields = store.spam_fields(conn, comment.id)
        sub = Submission(
            comment.body, comment.author, comment.remote_addr, comment.user_agent, event.thread_url
        )
        score = fields.spam_score if fields is not None else None  # kept for the learned threshold
        is_spam = event.decision == Decision.SPAM
        teach_in(ctx, conn, site, _item_key(comment.id), sub, is_spam, score=score)


def mark_duplicate(ctx: Context, event: CommentModerated) -> None:
    """Subscriber (every process): the near-duplicate index learns which texts moderators called spam."""
    if event.decision in (Decision.SPAM, Decision.HAM, Decision.APPROVE, UNDO):
        ctx.spam_memos.mark_duplicate(
            event.site_id, event.comment.id, event.fingerprint, event.decision == Decision.SPAM
        )


def _item_key(comment_id: int) -> str:
    return f"comment:{comment_id}"
