"""Retention: spam is kept for the site's retention period so a moderator can still rescue it, then purged
by the hourly ``spam.purge`` job (or ``rejoinder spam purge``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rejoinder.context import Context
from rejoinder.events import CachesOutdated
from rejoinder.model import Job
from rejoinder.store import comments as comment_store
from rejoinder.store import identity as identity_store
from rejoinder.store import moderators as moderator_store
from rejoinder.store import spam as store

log = logging.getLogger(__name__)
PURGE_JOB = "spam.purge"
PURGE_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class Purged:
    comments: int
    tokens: int


def purge(ctx: Context) -> Purged:
    """Delete spam past its retention period, erase what moderators deleted once that period is over, and
    forget form tokens past their use, expired login sessions, and readers' expired sessions, log-ins
    under way, codes and mailed links."""
    now = datetime.now(UTC)
    with ctx.db.write() as conn:
        removed = Purged(store.purge_discarded(conn, now), store.forget_expired_tokens(conn, now))
        comment_store.erase_expired_deleted(conn, now)
        moderator_store.delete_expired_sessions(conn, now)
        identity_store.purge_expired(conn, now)
        if removed.comments:
            # Purged spam was never visible, but a snapshot may still count its replies: every process
            # starts its caches afresh.
            ctx.events.record(conn, CachesOutdated("spam purged"))
    return removed


def register_jobs(ctx: Context) -> None:
    """The purge as a periodic job: whichever runner (a server or a worker) takes it runs it, once an hour."""

    def run(_job: Job) -> None:
        removed = purge(ctx)
        if removed.comments:
            log.info("purged %d spam comments past their retention period", removed.comments)

    ctx.jobs.handler(PURGE_JOB, run)
    ctx.jobs.every(PURGE_JOB, PURGE_EVERY)
