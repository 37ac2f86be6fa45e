"""Comments that stood: a published comment nobody reported and no moderator acted on for the site's
``spam_standing_days`` teaches its filter as *weak ham*, so a site whose moderators only ever mark spam
still learns what its readers sound like. The hourly ``spam.standing`` job does it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from rejoinder.antispam import teach_in
from rejoinder.context import Context
from rejoinder.model import Author, Job
from rejoinder.sites import list_sites, site_settings
from rejoinder.spam.submission import Submission
from rejoinder.store import spam as store

log = logging.getLogger(__name__)
STANDING_JOB = "spam.standing"
STANDING_EVERY = timedelta(hours=1)
# How far back the job looks past the standing period: a comment older than this that was never taught
# (posted before the filter was on, or while the job was stopped) is left alone.
LOOKBACK = timedelta(days=30)
BATCH = 200  # comments taught per transaction, so a backlog does not hold the writer for long


def teach_standing(ctx: Context, now: datetime | None = None) -> int:
    """Teach every site's filter the published comments that stood long enough; how many it taught."""
    now = now or datetime.now(UTC)
    taught = 0
    for site in list_sites(ctx):
        rules = site_settings(ctx, site)
        if not rules.spam_filter:
            continue
        stood_before = now - timedelta(days=rules.spam_standing_days)
        while True:
            with ctx.db.write() as conn:
                rows = store.standing_comments(
                    conn, site.id, stood_before=stood_before, since=stood_before - LOOKBACK, limit=BATCH
                )
                for row in rows:
                    author = Author(row.author_name, row.author_email, row.author_website)
                    sub = Submission(row.body, author, row.remote_addr, row.user_agent, row.url)
                    key = f"comment:{row.id}"
                    taught += teach_in(ctx, conn, site, key, sub, False, score=row.spam_score, weak=True)
            if len(rows) < BATCH:
                break
    return taught


def register_jobs(ctx: Context) -> None:
    """The weak-ham lessons as a periodic job: whichever runner takes it runs it, once an hour."""

    def run(_job: Job) -> None:
        taught = teach_standing(ctx)
        if taught:
            log.info("taught the spam filter %d comments that stood unreported as weak ham", taught)

    ctx.jobs.handler(STANDING_JOB, run)
    ctx.jobs.every(STANDING_JOB, STANDING_EVERY)
