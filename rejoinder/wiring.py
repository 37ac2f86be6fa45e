"""``open_context(settings)``: a process's context with its subscribers wired, the one way to build one.

Kept apart from ``context.py`` so the services that subscribe (and import the context) can be named here
without an import circle.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from rejoinder import moderation, monitoring, privacy, retention, standing
from rejoinder.addresses import TrustedProxies, networks_of
from rejoinder.bus import EventBus
from rejoinder.cache import ReadCache
from rejoinder.context import Context
from rejoinder.events import (
    CachesOutdated,
    CommentChanged,
    CommentModerated,
    CommentPosted,
    SiteChanged,
    ThreadChanged,
)
from rejoinder.fanout import Fanout, LocalFanout, RedisFanout
from rejoinder.filterstate import SpamFilter, SpamMemos
from rejoinder.importers import uploads
from rejoinder.jobs import JobQueue
from rejoinder.live import LiveHub
from rejoinder.metrics import Metrics
from rejoinder.notify.wiring import wire as wire_notifications
from rejoinder.ratelimits import RateLimits
from rejoinder.settings import Settings
from rejoinder.sites import forget_sites
from rejoinder.snapshots import apply_to_cache
from rejoinder.store.db import Database
from rejoinder.store.secrets import get_or_create_secret
from rejoinder.tokens import Signer


def open_context(settings: Settings, *, start: bool = False) -> Context:
    """Connect to an already migrated database and wire the subscribers.

    ``start`` starts the event bus's own thread and the fan-out (a server or worker process); without it,
    events are still delivered to this process right after each commit, one-process subscribers included.
    """
    db = Database(settings.database_url, sqlite_readers=settings.sqlite_readers)
    secret = settings.secret_key
    if not secret:
        with db.write() as conn:
            secret = get_or_create_secret(conn, "secret_key", secrets.token_urlsafe(32))
    metrics = Metrics()
    fanout: Fanout = LocalFanout()
    if settings.redis_url:
        fanout = RedisFanout(
            settings.redis_url, f"{settings.redis_prefix}:events", errors=metrics.redis_errors.inc
        )
    rate_limits = RateLimits(settings.redis_url, settings.redis_prefix, on_error=metrics.redis_errors.inc)
    ctx = Context(
        settings=settings,
        db=db,
        events=EventBus(db, fanout, tail_seconds=settings.outbox_poll_seconds),
        cache=ReadCache(max_bytes=settings.cache_max_mb * 1024 * 1024),
        signer=Signer(secret),
        spam=SpamFilter(secret, rate_limits),
        spam_memos=SpamMemos(),
        jobs=JobQueue(
            db,
            lease_seconds=settings.jobs_lease_seconds,
            keep_done=timedelta(days=settings.jobs_keep_done_days),
        ),
        live=LiveHub(db, settings.sse_max_connections, settings.sse_keep_alive_seconds),
        proxies=TrustedProxies.of(settings.trusted_proxies, settings.client_address_header),
        metrics_allow=networks_of(settings.metrics_allow),
        metrics=metrics,
    )
    retention.register_jobs(ctx)
    privacy.register_jobs(ctx)
    standing.register_jobs(ctx)
    uploads.register_jobs(ctx)
    subscribe(ctx)
    wire_notifications(ctx)
    monitoring.watch(ctx)
    if settings.redis_url:
        # Until Redis confirms the subscription, changes made elsewhere might be missed: no cache.
        ctx.cache.bypass = True
        ctx.cache.pending = ctx.sites.pending = ctx.origins.pending = ctx.bans.pending = fanout.pending
        ctx.sites_without_like_rules.pending = fanout.pending
    if start:
        ctx.events.start()
    return ctx


def subscribe(ctx: Context) -> None:
    events = ctx.events
    events.subscribe(ThreadChanged, lambda event: apply_to_cache(ctx.cache, event))
    events.subscribe(SiteChanged, lambda event: forget_sites(ctx, event))
    events.subscribe(CachesOutdated, lambda event: ctx.cache.clear())
    events.subscribe(
        CommentPosted,
        lambda e: ctx.spam_memos.remember(e.site_id, e.comment.id, e.comment.thread_id, e.fingerprint),
    )
    events.subscribe(CommentModerated, lambda event: moderation.mark_duplicate(ctx, event))
    events.subscribe(CommentChanged, ctx.live.on_event)
    events.subscribe_once(CommentModerated, lambda event: moderation.learn_from(ctx, event))
    events.on_fanout_state(lambda up: _fanout_state(ctx, up))


def _fanout_state(ctx: Context, up: bool) -> None:
    """Without the fan-out, this process could miss what others change: it reads from the database until
    the fan-out is back, then starts its caches afresh."""
    ctx.cache.clear()
    ctx.sites.clear()
    ctx.sites_without_like_rules.clear()
    ctx.origins.clear()
    ctx.bans.clear()
    ctx.cache.bypass = not up
