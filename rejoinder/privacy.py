"""Personal data kept only as long as promised: commenters' network addresses and user agents (kept for
``ip_retention_days``, or only as a keyed hash), and export or erasure of everything a commenter wrote
or asked for (comments, notification subscriptions, the webhook deliveries that carried their comments).

The hourly ``privacy.erase_client_data`` job blanks addresses past each site's retention; an author who
deletes a comment takes its address with it at once (store.comments.mark_deleted).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rejoinder import audit as audit_log
from rejoinder.context import Context
from rejoinder.events import CommentDeleted
from rejoinder.model import CommentStatus, Job, Moderator, SiteSettings
from rejoinder.sites import list_sites, site_settings
from rejoinder.store import comments as comment_store
from rejoinder.store import identity as identity_store
from rejoinder.store import notify as notify_store
from rejoinder.store import privacy as store
from rejoinder.store import threads as thread_store
from rejoinder.store import webhooks as webhook_store
from rejoinder.store.sites import get_site

log = logging.getLogger(__name__)
audit = logging.getLogger("rejoinder.audit")  # moderators' actions on personal data, kept with the logs
ERASE_JOB = "privacy.erase_client_data"
ERASE_EVERY = timedelta(hours=1)
HASHED = "h:"  # stored addresses and agents that start with this are keyed hashes, not the real thing


def stored_client(ctx: Context, rules: SiteSettings, remote_addr: str, user_agent: str) -> tuple[str, str]:
    """The address and user agent as the site keeps them: as sent, or only as keyed hashes (still good
    for telling one sender from another, useless for finding out who it was)."""
    user_agent = user_agent[:500]
    if rules.client_data != "hashed":
        return remote_addr, user_agent
    return (
        HASHED + ctx.signer.reader_key("address", remote_addr) if remote_addr else "",
        HASHED + ctx.signer.reader_key("agent", user_agent) if user_agent else "",
    )


def erase_expired_client_data(ctx: Context, now: datetime | None = None) -> int:
    """Blank addresses and user agents older than each site's ``ip_retention_days``; how many comments."""
    now = now or datetime.now(UTC)
    erased = 0
    for site in list_sites(ctx):
        days = site_settings(ctx, site).ip_retention_days
        with ctx.db.write() as conn:
            erased += store.erase_client_data_before(conn, site.id, now - timedelta(days=days))
    return erased


@dataclass(frozen=True)
class Erased:
    comments: int
    subscriptions: int = 0


def export_by_email(ctx: Context, email: str, actor: Moderator | str | None = None) -> dict[str, Any]:
    """Everything stored about the comments signed with ``email``, as JSON-ready data; the audit log
    records who exported how many comments, and a keyed hash of the address (never the address). A
    commenter's own request (``actor`` a string, ``commenter_actor``) is logged without the address too."""
    with ctx.db.read() as conn:
        found = store.comments_by_email(conn, email)
        subscribed = notify_store.subscriptions_of_email(conn, email.strip().lower())
        logged_in = identity_store.identities_by_email(conn, email.strip().casefold())
    with ctx.db.write() as conn:
        after = {"email_hash": _email_hash(ctx, email), "comments": len(found)}
        audit_log.record(conn, actor or audit_log.cli_actor(), "privacy.export", after=after)
    audit.info("exported %d comments signed with %s on request", len(found), _named(email, actor))
    return {
        "email": email,
        "exported_at": datetime.now(UTC).isoformat(),
        "comments": [
            {
                "site": site_key,
                "url": url,
                "id": comment.id,
                "parent_id": comment.parent_id,
                "status": comment.status.value,
                "created_at": comment.created_at.isoformat(),
                "edited_at": comment.edited_at.isoformat() if comment.edited_at else None,
                "author": {
                    "name": comment.author.name,
                    "email": comment.author.email,
                    "website": comment.author.website,
                },
                "body": comment.body,
                "likes": comment.likes,
                "remote_addr": comment.remote_addr,
                "user_agent": comment.user_agent,
            }
            for site_key, url, comment in found
        ],
        "subscriptions": [
            {
                "site": sub.site_key,
                "kind": sub.kind,
                "thread": sub.thread_url or None,
                "confirmed": sub.confirmed,
                "last_mail_at": sub.last_mail_at.isoformat() if sub.last_mail_at else None,
            }
            for sub in subscribed
        ],
        "identities": [
            {
                "provider": found_identity.provider,
                "subject": found_identity.subject,
                "name": found_identity.name,
                "email_verified": found_identity.email_verified,
                "profile_url": found_identity.profile_url,
                "avatar_url": found_identity.avatar_url,
            }
            for found_identity in logged_in
        ],
    }


def erase_by_email(ctx: Context, email: str, actor: Moderator | str | None = None) -> Erased:
    """Erase every comment signed with ``email``, and the logged-in readers' identities with that
    address: each comment stays as a placeholder, so replies keep their place, with nothing its author
    wrote or sent; readers see it at once (one event per comment). The address's notification
    subscriptions go, and the webhook deliveries about its comments keep only that they went. The audit
    log records it as ``export_by_email`` does."""
    with ctx.db.write() as conn:
        found = store.comments_by_email(conn, email)
        found = [item for item in found if item[2].status is not CommentStatus.DELETED]
        for site_key, url, comment in found:
            comment_store.mark_deleted(conn, comment.id)
            site = get_site(conn, site_key)
            thread = thread_store.get_thread(conn, comment.thread_id)
            if site is None or thread is None:
                continue
            if comment.status is CommentStatus.PUBLISHED:
                thread_store.add_to_comment_count(conn, thread.id, -1)
            erased = comment_store.get_comment(conn, comment.id)
            assert erased is not None
            ctx.events.record(conn, CommentDeleted(site_key, url, erased, site.id))
        unsubscribed = notify_store.erase_email(conn, email.strip().lower())
        identity_store.delete_identities_by_email(conn, email.strip().casefold())
        webhook_store.blank_comments(conn, [comment.id for _, _, comment in found])
        after = {
            "email_hash": _email_hash(ctx, email),
            "comments": len(found),
            "subscriptions": unsubscribed,
        }
        audit_log.record(conn, actor or audit_log.cli_actor(), "privacy.erase", after=after)
    audit.info(
        "erased %d comments signed with %s and %d subscriptions on request",
        len(found),
        _named(email, actor),
        unsubscribed,
    )
    return Erased(len(found), unsubscribed)


def _email_hash(ctx: Context, email: str) -> str:
    # The log proves a request was carried out without keeping the address that was erased.
    return ctx.signer.reader_key("email", email.strip().casefold())


def commenter_actor(ctx: Context, email: str) -> str:
    """The audit log's actor for a commenter who proved their address by a mailed link: the address's
    keyed hash (the same as the entry's ``email_hash``), never the address."""
    return f"commenter:{_email_hash(ctx, email)}"


def _named(email: str, actor: Moderator | str | None) -> str:
    # A moderator's request names the address they typed; a commenter's names only its keyed hash.
    return actor if isinstance(actor, str) and actor.startswith("commenter:") else email


def register_jobs(ctx: Context) -> None:
    """The erasure as a periodic job: whichever runner takes it runs it, once an hour; it also forgets
    commenters' export and erasure links past their hour."""

    def run(_job: Job) -> None:
        erased = erase_expired_client_data(ctx)
        if erased:
            log.info("erased the address and user agent of %d comments past their retention", erased)
        with ctx.db.write() as conn:
            # Commenters' mailed export and erasure links (data_requests.py) that were never used.
            store.purge_expired_requests(conn, datetime.now(UTC))

    ctx.jobs.handler(ERASE_JOB, run)
    ctx.jobs.every(ERASE_JOB, ERASE_EVERY)
