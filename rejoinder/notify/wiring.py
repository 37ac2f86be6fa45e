"""Wires notifications into a context: the jobs that send, and the subscribers that queue them."""

from __future__ import annotations

from datetime import timedelta

from rejoinder.context import Context
from rejoinder.events import (
    CommentChanged,
    CommentEdited,
    CommentModerated,
    CommentPosted,
    CommentReported,
    SubscriptionRequested,
)
from rejoinder.model import Job
from rejoinder.notify import moderators, posts, subscriptions, webhooks
from rejoinder.notify.letters import Letters
from rejoinder.notify.mail import SEND, send_job
from rejoinder.store.notify import is_suppressed

SWEEP = "notify.sweep"
SWEEP_EVERY = timedelta(minutes=1)


def wire(ctx: Context) -> None:
    letters = Letters()
    ctx.jobs.handler(SEND, lambda job: _send(ctx, job))

    def send_due(_job: Job) -> None:
        subscriptions.send_due(ctx, letters)

    ctx.jobs.handler(subscriptions.SEND_DUE, send_due)
    ctx.jobs.handler(webhooks.DELIVER, lambda job: webhooks.deliver(ctx, job))

    def send_to_moderators(_job: Job) -> None:
        moderators.send_due(ctx, letters)

    ctx.jobs.handler(moderators.SEND_DUE, send_to_moderators)

    def sweep(_job: Job) -> None:
        # One periodic job, not three: the safety net under the due-time jobs, and the feeds' poller.
        subscriptions.send_due(ctx, letters)
        moderators.send_due(ctx, letters)
        posts.poll_feeds(ctx, letters)

    ctx.jobs.handler(SWEEP, sweep)
    ctx.jobs.every(SWEEP, SWEEP_EVERY)
    events = ctx.events
    events.subscribe_once(SubscriptionRequested, lambda e: subscriptions.send_confirmation(ctx, letters, e))
    # Every comment is news for these three: each takes the events gathered meanwhile in one transaction.
    # A new comment's audience (``store.audience``) asks what each asks before it writes: a comment that
    # no one hears of is spared them.
    changed: tuple[type[CommentChanged], ...] = (CommentPosted, CommentModerated)
    noticed: tuple[type[CommentChanged | CommentReported], ...] = (*changed, CommentReported)
    events.subscribe_once_batch(
        changed, lambda batch: subscriptions.notice_comments(ctx, batch), only_if_heard=True
    )
    events.subscribe_once_batch(
        noticed, lambda batch: moderators.notice_comments(ctx, batch), only_if_heard=True
    )
    events.subscribe_once_batch(
        (*changed, CommentEdited), lambda batch: webhooks.on_events(ctx, batch), only_if_heard=True
    )


def _send(ctx: Context, job: Job) -> None:
    site_id, to = job.payload.get("site_id"), str(job.payload["to"])
    suppressed = False
    if site_id is not None:
        with ctx.db.read() as conn:
            suppressed = is_suppressed(conn, int(site_id), to.lower())
    send_job(ctx.settings, job, suppressed)
