"""Readers' subscriptions: *Notify me of new comments* (a thread), *of replies to my comment* and *of new
posts*, with double opt-in, hourly batching, one-click unsubscribing and suppression by a moderator.

A subscription is asked for with the comment, in its transaction; everything after that (the
confirmation mail, the notices of new comments, the batched mails) happens in event subscribers and jobs.
An address confirms once per site, for all its subscriptions there; until then it gets only the one
confirmation mail (at most one an hour), and a suppressed address gets nothing at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from rejoinder.context import Context
from rejoinder.errors import InvalidInput, InvalidLink
from rejoinder.events import CommentChanged, SubscriptionRequested
from rejoinder.jobs import enqueue
from rejoinder.model import Comment, CommentStatus, Site, SiteSettings, Thread
from rejoinder.notify.letters import Letters, describe
from rejoinder.notify.mail import Mail, queue_mail, send_all_due
from rejoinder.sites import get_site
from rejoinder.store import notify as store
from rejoinder.store.notify import Subscription

log = logging.getLogger(__name__)

KINDS = ("thread", "replies", "posts")
MAIL_EVERY = timedelta(hours=1)  # at most one mail per subscription (so per thread) an hour
CONFIRM_EVERY = timedelta(hours=1)  # at most one confirmation request per address and site an hour
CONFIRM_FOR = timedelta(days=7)  # how long a confirmation link works
SEND_DUE = "mail.notices"


def offered(ctx: Context, rules: SiteSettings) -> list[str]:
    """What the site's comment form may offer: nothing when this server sends no mail."""
    if not ctx.settings.mail_enabled:
        return []
    return ["thread", "replies", *(["posts"] if rules.feed_url else [])]


def check_request(ctx: Context, kinds: frozenset[str], email: str, problems: dict[str, str]) -> None:
    """Before the transaction: what a comment's ``notify`` may ask for."""
    if not kinds:
        return
    if unknown := kinds - set(KINDS):
        problems["notify"] = f"has unknown kinds {sorted(unknown)}: use thread, replies or posts"
    elif not ctx.settings.mail_enabled:
        problems["notify"] = "is not offered: this server sends no mail"
    elif not email:
        problems["author.email"] = "is needed to send the notifications asked for"


def request(
    ctx: Context,
    conn: Connection,
    site: Site,
    rules: SiteSettings,
    thread: Thread,
    comment: Comment,
    kinds: frozenset[str],
    now: datetime,
) -> None:
    """In the comment's transaction: add the subscriptions it asked for, and ask an unconfirmed address
    to confirm (by an event: the mail goes after the commit)."""
    if "posts" in kinds and not rules.feed_url:
        raise InvalidInput("this site announces no posts", {"notify": "posts is not offered on this site"})
    if comment.status is CommentStatus.SPAM:
        return  # no mail on behalf of spam: the form would be a way to mail strangers
    recipient = store.recipient(conn, site.id, comment.author.email.lower(), now)
    for kind in sorted(kinds):
        if kind == "thread":
            store.subscribe(conn, recipient.id, kind, f"thread:{thread.id}", now, thread_id=thread.id)
        elif kind == "replies":
            store.subscribe(
                conn,
                recipient.id,
                kind,
                f"replies:{comment.id}",
                now,
                thread_id=thread.id,
                comment_id=comment.id,
            )
        else:
            store.subscribe(conn, recipient.id, kind, "posts", now)
    if recipient.confirmed_at is None and recipient.suppressed_at is None:
        ctx.events.record(conn, SubscriptionRequested(site.key, recipient.id))


# -- links ---------------------------------------------------------------------------------------------


def confirm_url(ctx: Context, recipient_id: int) -> str:
    return f"{ctx.settings.base_url}/notify/confirm/{ctx.signer.link_token('confirm', recipient_id)}"


def unsubscribe_url(ctx: Context, subscription_id: int) -> str:
    return (
        f"{ctx.settings.base_url}/notify/unsubscribe/{ctx.signer.link_token('unsubscribe', subscription_id)}"
    )


def manage_url(ctx: Context, email: str) -> str:
    return f"{ctx.settings.base_url}/notify/manage/{ctx.signer.link_token('manage', email)}"


# -- after the commit ----------------------------------------------------------------------------------


def send_confirmation(ctx: Context, letters: Letters, event: SubscriptionRequested) -> None:
    """Subscriber: queue the confirmation mail (unless one went out within the hour)."""
    now = datetime.now(UTC)
    with ctx.db.write() as conn:
        recipient = store.get_recipient(conn, event.recipient_id)
        if recipient is None or recipient.confirmed_at or recipient.suppressed_at:
            return
        if recipient.confirm_sent_at and now - recipient.confirm_sent_at < CONFIRM_EVERY:
            return  # that mail's link confirms the subscriptions asked for since, too
        asked = store.subscriptions_of_recipient(conn, recipient.id)
        if not asked:
            return
        site_name, language = asked[0].site_name, _language(asked[0])
        letter = letters.render(
            "confirm",
            language,
            "confirm_subject",
            site=site_name,
            asked=[
                describe(sub.kind, language, sub.site_name, sub.thread_title or sub.thread_url)
                for sub in asked
            ],
            confirm_url=confirm_url(ctx, recipient.id),
        )
        queue_mail(
            conn, Mail(recipient.email, letter.subject, letter.text, letter.html, site_id=recipient.site_id)
        )
        store.confirmation_sent(conn, recipient.id, now)


def notice_comments(ctx: Context, events: list[CommentChanged]) -> None:
    """Subscriber (new and moderated comments, the ones gathered meanwhile): a comment now published is
    noted for every confirmed subscription it concerns, and each one's next mail is planned: at once, or an
    hour after its last. One transaction, one query for the subscriptions of all their threads."""
    published = [event.comment for event in events if event.comment.status is CommentStatus.PUBLISHED]
    if not published:
        return
    threads = {comment.thread_id for comment in published}
    # Most comments have no one to tell: asked in a read first, so that the writer, which the posts'
    # batches wait for, is taken only when there is something to write.
    with ctx.db.read() as conn:
        if not store.thread_listeners(conn, threads):
            return
    now = datetime.now(UTC)
    with ctx.db.write() as conn:
        in_threads = store.thread_listeners(conn, threads)
        for comment in published:
            listening = [
                sub for sub in in_threads if store.concerns(sub, comment.thread_id, comment.parent_id)
            ]
            # Who follows the whole thread hears of a reply there once, not twice.
            whole = {sub.recipient_id for sub in listening if sub.kind == "thread"}
            for sub in listening:
                if sub.kind == "replies" and sub.recipient_id in whole:
                    continue
                store.add_notice(conn, sub.id, comment.id, now)
                due = max(now, sub.last_mail_at + MAIL_EVERY) if sub.last_mail_at else now
                if store.mark_due(conn, sub.id, due):
                    # One job per due second, not per subscription: it sends whatever is due by then.
                    enqueue(conn, SEND_DUE, run_at=due, dedupe_key=f"{SEND_DUE}:{int(due.timestamp())}")


def send_due(ctx: Context, letters: Letters) -> int:
    """Job: queue the mail of every subscription whose time has come; how many mails were queued."""

    def due() -> list[int]:
        with ctx.db.read() as conn:
            return store.due(conn, datetime.now(UTC))

    return send_all_due(due, lambda i: _send_one(ctx, letters, i))


def _send_one(ctx: Context, letters: Letters, subscription_id: int) -> int:
    now = datetime.now(UTC)
    with ctx.db.write() as conn:
        sub = store.get_subscription(conn, subscription_id)
        if sub is None:
            return 0
        ids, noticed = store.noticed_comments(conn, sub.id)
        # Still published (not deleted or spammed since), and not the subscriber's own words.
        news = [
            c for c in noticed if c.status is CommentStatus.PUBLISHED and c.author.email.lower() != sub.email
        ]
        if not news or not sub.confirmed or store.is_suppressed(conn, sub.site_id, sub.email):
            store.mailed(conn, sub.id, ids, now, MAIL_EVERY, sent=False)
            return 0
        queue_mail(conn, comments_mail(ctx, letters, sub, news))
        store.mailed(conn, sub.id, ids, now, MAIL_EVERY, sent=True)
        return 1


def comments_mail(ctx: Context, letters: Letters, sub: Subscription, news: list[Comment]) -> Mail:
    """The mail telling ``sub`` of the comments ``news``."""
    replies = sub.kind == "replies"
    letter = letters.render(
        "comments",
        _language(sub),
        "replies_subject" if replies else "comments_subject",
        site=sub.site_name,
        title=sub.thread_title or sub.thread_url,
        intro_key="replies_intro" if replies else "comments_intro",
        thread_url=sub.thread_url,
        comments=[
            {
                "name": c.author.name,
                "text": c.body,
                "html": c.html,
                "url": f"{sub.thread_url}#rj-comment-{c.id}",
            }
            for c in news
        ],
        unsubscribe_url=unsubscribe_url(ctx, sub.id),
        manage_url=manage_url(ctx, sub.email),
    )
    return Mail(
        sub.email, letter.subject, letter.text, letter.html, unsubscribe_url(ctx, sub.id), site_id=sub.site_id
    )


# -- what readers do with the links ---------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    email: str
    site_name: str
    language: str
    subscriptions: list[Subscription]


def pending_confirmation(ctx: Context, token: str) -> Confirmation:
    """What a confirmation link would confirm (shown before the reader presses the button)."""
    recipient_id = ctx.signer.check_link_token("confirm", token, int(CONFIRM_FOR.total_seconds()))
    with ctx.db.read() as conn:
        recipient = store.get_recipient(conn, int(recipient_id))
        if recipient is None:
            raise InvalidLink("this address has no subscriptions any more", {"token": "is for nothing"})
        subs = store.subscriptions_of_recipient(conn, recipient.id)
    site = subs[0] if subs else None
    return Confirmation(
        recipient.email,
        site.site_name if site else "",
        _language(site) if site else "en",
        subs,
    )


def confirm(ctx: Context, token: str) -> Confirmation:
    found = pending_confirmation(ctx, token)
    recipient_id = int(ctx.signer.check_link_token("confirm", token, int(CONFIRM_FOR.total_seconds())))
    with ctx.db.write() as conn:
        store.confirm(conn, recipient_id, datetime.now(UTC))
    return found


def subscription_of_link(ctx: Context, token: str) -> Subscription | None:
    """The subscription an unsubscribe link is for; None if it is gone already."""
    subscription_id = ctx.signer.check_link_token("unsubscribe", token)
    with ctx.db.read() as conn:
        return store.get_subscription(conn, int(subscription_id))


def unsubscribe(ctx: Context, token: str) -> Subscription | None:
    """Cancel the subscription of an unsubscribe link (again: a no-op); what it was."""
    subscription_id = int(ctx.signer.check_link_token("unsubscribe", token))
    with ctx.db.write() as conn:
        sub = store.get_subscription(conn, subscription_id)
        store.unsubscribe(conn, subscription_id)
    if sub is not None:
        log.info("subscription %d cancelled by its link", subscription_id)
    return sub


def address_of_link(ctx: Context, token: str) -> str:
    return str(ctx.signer.check_link_token("manage", token))


def subscriptions_of(ctx: Context, email: str) -> list[Subscription]:
    with ctx.db.read() as conn:
        return store.subscriptions_of_email(conn, email)


def cancel(ctx: Context, email: str, subscription_id: int | None) -> int:
    """Cancel one of the address's subscriptions, or all of them (``None``); how many were cancelled."""
    with ctx.db.write() as conn:
        mine = [s.id for s in store.subscriptions_of_email(conn, email)]
        chosen = mine if subscription_id is None else [i for i in mine if i == subscription_id]
        if subscription_id is not None and not chosen:
            raise InvalidInput("not one of this address's subscriptions", {"cancel": "is not yours"})
        return sum(store.unsubscribe(conn, i) for i in chosen)


def suppress(ctx: Context, site_key: str, email: str, suppressed: bool = True) -> None:
    """A moderator's word: the address gets no more mail from the site (or may again)."""
    site = get_site(ctx, site_key)
    now = datetime.now(UTC)
    with ctx.db.write() as conn:
        recipient = store.recipient(conn, site.id, email.strip().lower(), now)
        store.set_suppressed(conn, recipient.id, now if suppressed else None)


def language_of(sub: Subscription) -> str:
    return _language(sub)


def _language(sub: Subscription) -> str:
    language = sub.site_settings.get("language", "en")
    return language if isinstance(language, str) else "en"
