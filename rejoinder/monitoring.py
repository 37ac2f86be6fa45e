"""What every server watches about itself: the metrics fed from its parts, and its readiness checks."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from rejoinder.context import Context
from rejoinder.events import CommentPosted
from rejoinder.fanout import RedisFanout
from rejoinder.readiness import NotReady, free_disk_check
from rejoinder.store.stats import jobs_by_status


def watch(ctx: Context) -> None:
    """Feed ``ctx.metrics`` and register the database and disk checks on ``ctx.readiness``."""
    metrics = ctx.metrics
    metrics.watch_cache(ctx.cache)

    def count_jobs() -> dict[str, int]:
        with ctx.db.read() as conn:
            return jobs_by_status(conn)

    metrics.watch_jobs(count_jobs)
    metrics.sse_connections.set_function(lambda: ctx.live.open_streams)
    # Counted where the comment was written: every process applies the event, only one counts it.
    ctx.events.subscribe_local(CommentPosted, lambda event: metrics.count_verdict(event.comment))
    ctx.readiness.add("database", ctx.db.ping)
    if ctx.db.backend == "sqlite":
        database = Path(make_url(ctx.settings.database_url).database or ".")
        ctx.readiness.add("disk", free_disk_check(database.parent, ctx.settings.min_free_disk_mb))
    else:
        # PostgreSQL's disk is its server's, maybe on another machine: seen from here only once a write is
        # refused for it, and then until a probe can write again.
        ctx.readiness.add("database_disk", lambda: _database_disk(ctx))
    fanout = ctx.events.fanout
    if isinstance(fanout, RedisFanout):
        metrics.redis_up.set(1 if fanout.up else 0)
        ctx.events.on_fanout_state(lambda up: metrics.redis_up.set(1 if up else 0))
        # Redis speeds a deployment up; without it every process still serves (from the database), so its
        # check reports, and never fails.
        ctx.readiness.add(
            "redis", lambda: {"redis": "up" if fanout.up else "down: reading from the database"}
        )


def _database_disk(ctx: Context) -> dict[str, str]:
    refused = ctx.db.probe_disk()
    if refused is not None:
        raise NotReady(f"PostgreSQL cannot extend its files: {refused}")
    return {}
