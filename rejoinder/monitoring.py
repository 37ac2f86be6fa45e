"""What every server watches about itself: the metrics fed from its parts, and its readiness checks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from rejoinder.events import CommentPosted
from rejoinder.readiness import free_disk_check
from rejoinder.store.stats import jobs_by_status

if TYPE_CHECKING:
    from rejoinder.context import Context


def watch(ctx: Context) -> None:
    """Feed ``ctx.metrics`` and register the database and disk checks on ``ctx.readiness``."""
    metrics = ctx.metrics
    metrics.watch_cache(ctx.cache)

    def count_jobs() -> dict[str, int]:
        with ctx.db.read() as conn:
            return jobs_by_status(conn)

    metrics.watch_jobs(count_jobs)
    ctx.events.subscribe(CommentPosted, lambda event: metrics.count_verdict(event.comment))
    ctx.readiness.add("database", ctx.db.ping)
    if ctx.db.backend == "sqlite":  # PostgreSQL's disk is the database server's, watched there
        database = Path(make_url(ctx.settings.database_url).database or ".")
        ctx.readiness.add("disk", free_disk_check(database.parent, ctx.settings.min_free_disk_mb))
