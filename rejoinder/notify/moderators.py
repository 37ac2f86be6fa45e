"""Mail to moderators: every moderator of a site hears of a comment held for moderation or by readers'
reports — at once, or in an hourly or daily digest, as each chooses — and, if they ask, of every new
comment. Each held comment comes with approve and spam links: signed for that moderator, comment and
action, usable once, expiring after a week, and acting only through the button on the page they open
(mail scanners follow links; a GET never acts)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rejoinder.accounts import moderator_by_id
from rejoinder.context import Context
from rejoinder.errors import Conflict, InvalidInput, InvalidLink
from rejoinder.events import CommentChanged, CommentModerated, CommentPosted, CommentReported
from rejoinder.jobs import enqueue
from rejoinder.model import Comment, CommentStatus, Moderator
from rejoinder.moderation import Decision, moderate
from rejoinder.notify.letters import Letters
from rejoinder.notify.mail import Mail, queue_mail, send_all_due
from rejoinder.reports import HELD_BY_REPORTS
from rejoinder.store import comments as comment_store
from rejoinder.store import moderator_mail as store
from rejoinder.store.moderators import list_moderators
from rejoinder.store.spam import use_token
from rejoinder.store.threads import get_thread

MODES = {"instant": timedelta(0), "hourly": timedelta(hours=1), "daily": timedelta(days=1), "off": None}
SEND_DUE = "mail.moderators"
LINK_FOR = timedelta(days=7)
ACTIONS = {"approve": Decision.APPROVE, "spam": Decision.SPAM}


def preference(ctx: Context, moderator: Moderator) -> store.Preference:
    with ctx.db.read() as conn:
        return store.preferences(conn, [moderator.id])[moderator.id]


def set_preference(ctx: Context, moderator: Moderator, mode: str, all_comments: bool) -> store.Preference:
    if mode not in MODES:
        raise InvalidInput("bad notification mode", {"mode": "must be one of " + ", ".join(MODES)})
    with ctx.db.write() as conn:
        store.set_preference(conn, moderator.id, mode, all_comments)
    return store.Preference(mode, all_comments)


def notice_comments(ctx: Context, events: list[CommentChanged | CommentReported]) -> None:
    """Subscriber (new, moderated and reported comments, the ones gathered meanwhile): note each comment for
    the site's moderators who want to hear of it, and plan each one's next mail. One transaction, each
    site's moderators read once."""
    noticed = [(event, kind) for event in events if (kind := _kind(event)) is not None]
    if not noticed:
        return
    # Asked in a read first: a site without moderators leaves the writer to the posts' batches.
    with ctx.db.read() as conn:
        if not any(list_moderators(conn, site_id) for site_id in {event.site_id for event, _ in noticed}):
            return
    now = datetime.now(UTC)
    with ctx.db.write() as conn:
        of_site: dict[int, list[tuple[Moderator, store.Preference]]] = {}
        for event, kind in noticed:
            if event.site_id not in of_site:
                moderators = list_moderators(conn, event.site_id)
                prefs = store.preferences(conn, [m.id for m in moderators]) if moderators else {}
                of_site[event.site_id] = [(m, prefs[m.id]) for m in moderators]
            for moderator, pref in of_site[event.site_id]:
                every = MODES.get(pref.mode)
                if every is None or (kind == "new" and not pref.all_comments):
                    continue
                store.add_notice(conn, moderator.id, event.comment.id, kind, now)
                due = now + every
                if store.mark_due(conn, moderator.id, due):
                    enqueue(conn, SEND_DUE, run_at=due, dedupe_key=f"{SEND_DUE}:{int(due.timestamp())}")


def _kind(event: CommentChanged | CommentReported) -> str | None:
    if isinstance(event, CommentReported):
        return "report"
    status = event.comment.status
    if isinstance(event, CommentPosted):
        return (
            "held"
            if status is CommentStatus.PENDING
            else "new"
            if status is CommentStatus.PUBLISHED
            else None
        )
    if isinstance(event, CommentModerated) and event.decision == HELD_BY_REPORTS:
        return "reported"
    return None


def send_due(ctx: Context, letters: Letters) -> int:
    """Job: queue the mail of every moderator whose time has come; how many were queued."""

    def due() -> list[int]:
        with ctx.db.read() as conn:
            return store.due(conn, datetime.now(UTC))

    return send_all_due(due, lambda i: _send_one(ctx, letters, i))


def _send_one(ctx: Context, letters: Letters, moderator_id: int) -> int:
    now = datetime.now(UTC)
    moderator = moderator_by_id(ctx, moderator_id)
    with ctx.db.write() as conn:
        pref = store.preferences(conn, [moderator_id])[moderator_id]
        noticed = store.noticed(conn, moderator_id)
        ids = [item.comment.id for item in noticed]
        # Still waiting (a held comment nobody decided yet, a reported one still up), and on a site the
        # moderator still moderates.
        news = [
            item
            for item in noticed
            if moderator is not None
            and moderator.role_on(item.site_key) is not None
            and (
                item.kind == "new"
                or item.comment.status is CommentStatus.PENDING
                or (item.kind == "report" and item.comment.status is CommentStatus.PUBLISHED)
            )
        ]
        every = MODES.get(pref.mode) or timedelta(0)
        if not news or moderator is None:
            store.mailed(conn, moderator_id, ids, now, every, sent=False)
            return 0
        queue_mail(conn, _mail(ctx, letters, moderator, news))
        store.mailed(conn, moderator_id, ids, now, every, sent=True)
        return 1


def _mail(ctx: Context, letters: Letters, moderator: Moderator, news: list[store.Noticed]) -> Mail:
    language = str(news[0].site_settings.get("language", "en"))
    items = []
    for item in news:
        links = {}
        if item.comment.status is CommentStatus.PENDING:
            links = {action: action_url(ctx, moderator.id, item.comment.id, action) for action in ACTIONS}
        elif item.kind == "report" and item.comment.status is CommentStatus.PUBLISHED:
            links = {"spam": action_url(ctx, moderator.id, item.comment.id, "spam")}  # still up: take it down
        items.append(
            {
                "kind": item.kind,
                "site": item.site_name,
                "title": item.thread_title or item.thread_url,
                "name": item.comment.author.name,
                "text": item.comment.body,
                "html": item.comment.html,
                "url": f"{item.thread_url}#rj-comment-{item.comment.id}",
                "links": links,
            }
        )
    sites = sorted({item.site_name for item in news})
    letter = letters.render(
        "moderators",
        language,
        "mod_subject",
        site=", ".join(sites),
        count=str(len(news)),
        items=items,
        queue_url=f"{ctx.settings.base_url}/dashboard/",
    )
    return Mail(moderator.email, letter.subject, letter.text, letter.html)


# -- the links -----------------------------------------------------------------------------------------


def action_url(ctx: Context, moderator_id: int, comment_id: int, action: str) -> str:
    nonce = secrets.token_urlsafe(8)  # two links for the same action are two uses
    token = ctx.signer.link_token("moderate", [moderator_id, comment_id, action, nonce])
    return f"{ctx.settings.base_url}/notify/moderate/{token}"


@dataclass(frozen=True)
class PendingAction:
    moderator: Moderator
    comment: Comment
    action: str
    thread_url: str


def pending_action(ctx: Context, token: str) -> PendingAction:
    """What a moderator's link would do, for the page that asks to confirm it."""
    value = ctx.signer.check_link_token("moderate", token, int(LINK_FOR.total_seconds()))
    try:
        moderator_id, comment_id, action, _nonce = value
    except (TypeError, ValueError):
        raise InvalidLink("this link is not valid", {"token": "is not a valid link"}) from None
    moderator = moderator_by_id(ctx, int(moderator_id))
    with ctx.db.read() as conn:
        comment = comment_store.get_comment(conn, int(comment_id))
        thread = get_thread(conn, comment.thread_id) if comment else None
    if moderator is None or comment is None or thread is None or action not in ACTIONS:
        raise InvalidLink("this link is for nothing any more", {"token": "is for nothing"})
    return PendingAction(moderator, comment, str(action), thread.url)


def act(ctx: Context, token: str) -> PendingAction:
    """Do what the link says, once: the moderator's role is checked now, not when the mail was sent."""
    pending = pending_action(ctx, token)
    digest = hashlib.sha256(f"moderate:{token}".encode()).hexdigest()
    with ctx.db.write() as conn:
        if not use_token(conn, digest, datetime.now(UTC) + LINK_FOR):
            raise Conflict("this link was used already", {"token": "was used already"})
    moderate(ctx, pending.comment.id, ACTIONS[pending.action], who=pending.moderator)
    return pending
